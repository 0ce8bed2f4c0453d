// Flags of `npm run bench`, parsed with node:util parseArgs (scripts/flags.ts).
import { parseFlags, UsageError } from "../scripts/flags.ts";
import { parseGoDuration } from "../src/go/index.ts";

export { UsageError };

/** The cases of BENCHMARKS.md's headline table, by name. Explicit flags override a preset's values. */
export const PRESETS = {
  // Where most users run: a small cluster, nobody calling the API (the server's floor).
  small: {
    nodes: "10",
    "pods-per-node": "10",
    "containers-per-pod": "1",
    rate: "0",
    "list-rate": "0",
    "get-rate": "0",
    "hpa-replicas": "0",
    cycles: "4",
    warmup: "1",
  },
  // Upstream's 100-node sizing point, with the bench's API load.
  medium: { nodes: "100", "pods-per-node": "30", "containers-per-pod": "2", cycles: "4", warmup: "1" },
  // Kubernetes' 5,000-node scale test's shape, with the bench's API load.
  "5k": { nodes: "5000", "pods-per-node": "30", "containers-per-pod": "2", cycles: "4", warmup: "1" },
  // 100,000 containers on 100 nodes.
  dense: { nodes: "100", "pods-per-node": "100", "containers-per-pod": "10", cycles: "4", warmup: "1" },
} as const satisfies Record<string, Partial<Record<keyof typeof FLAGS, string>>>;

export type PresetName = keyof typeof PRESETS;

export interface BenchArgs {
  /** The preset the run started from, or "" for none. */
  preset: PresetName | "";
  nodes: number;
  podsPerNode: number;
  containersPerPod: number;
  /** metrics-server --metric-resolution, as given (a Go duration). */
  resolution: string;
  resolutionMs: number;
  cycles: number;
  warmup: number;
  concurrency: number;
  /** HPA-style requests per second (one namespace, label selector); 0: none. */
  rate: number;
  /** Requests per second for each of list-all-pods and list-all-nodes; 0: none. */
  listRate: number;
  /** Requests per second for get-one-pod; 0: none. */
  getRate: number;
  /**
   * Pods of the simulator's fixed-size HPA target (`default`, `app=hpa-target`); 0 = no such
   * Deployment: the HPA call then uses a label of the generated workload (sized by the cluster).
   */
  hpaReplicas: number;
  outDir: string;
  label: string;
  verbose: boolean;
  /**
   * Start the server with an empty compile cache instead of one filled as the image's is (the default):
   * it then loads Node's TypeScript stripper, as a start without the image's cache does.
   */
  coldCompileCache: boolean;
  /** Extra Node.js flags for the server process (e.g. --cpu-prof), split on spaces. */
  serverNodeArgs: string[];
  /** Extra Node.js flags for the simulator process. */
  simNodeArgs: string[];
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [flags]

Starts the simulated cluster (sim/main.ts) and the metrics-server (bin/metrics-server) as separate
processes, waits for the first full scrape, runs W warm-up ticks and then K measured ticks while
open-loop HTTP/2 clients (one worker thread per API call kind) call the metrics API, and reports
what the OS measured for each process.

  --preset NAME           start from one case of BENCHMARKS.md's headline table; flags given as
                          well override its values:
                            small   10 nodes × 10 pods × 1 container, idle API (all rates 0, no
                                    HPA Deployment)
                            medium  100 × 30 × 2, with the API load below
                            5k      5,000 × 30 × 2, with the API load below
                            dense   100 × 100 × 10, with the API load below
                          (each: 4 measured ticks after 1 warm-up tick)
  --nodes N               simulated nodes (default 100)
  --pods-per-node P       pods per node (default 30)
  --containers-per-pod C  containers per pod (default 2)
  --resolution DUR        metrics-server --metric-resolution (default 15s)
  --cycles K              measured ticks (default 3)
  --warmup W              warm-up ticks after the first full one (default 1)
  --concurrency X         most requests in flight per API call kind (default 4)
  --rate R                HPA-style calls per second: one namespace, label selector (default 200)
  --list-rate R           list-all-nodes calls per second, and list-all-pods calls per second, split
                          evenly between JSON and protobuf (kubectl top's) (default 0.2)
  --get-rate R            get-one-pod calls per second (default 10)
                          (a rate of 0 turns that call off; all three 0: an idle API)
  --hpa-replicas N        pods the simulator makes for the HPA call's target (namespace default,
                          app=hpa-target), so that call's size does not grow with the cluster
                          (default 20; 0: use a generated workload's label instead)
  --out DIR               where the JSON and markdown results go (default bench/results)
  --label NAME            result file prefix (default the preset's name, else <nodes>x<pods>x<containers>)
  --cold-compile-cache    start the server with an empty compile cache, so it loads Node's
                          TypeScript stripper (~25 MiB); by default it gets one filled as the
                          image's is (scripts/compile-cache.ts)
  --verbose               echo the simulator's and the server's logs to stderr
  --server-node-args S    extra Node.js flags for the server, space-separated
                          (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; profiles are written on exit)
  --sim-node-args S       extra Node.js flags for the simulator, space-separated
  -h, --help              this help
`;

/** Splits a space-separated list of Node.js flags; each must start with "-". */
function nodeFlags(name: string, v: string): string[] {
  const flags = v.split(" ").filter((f) => f !== "");
  for (const f of flags) {
    if (!f.startsWith("-")) {
      throw new UsageError(
        `invalid value ${JSON.stringify(v)} for ${name}: ${JSON.stringify(f)} is not a flag`,
      );
    }
  }
  return flags;
}

const FLAGS = {
  preset: { type: "string" },
  nodes: { type: "string" },
  "pods-per-node": { type: "string" },
  "containers-per-pod": { type: "string" },
  resolution: { type: "string" },
  cycles: { type: "string" },
  warmup: { type: "string" },
  concurrency: { type: "string" },
  rate: { type: "string" },
  "list-rate": { type: "string" },
  "get-rate": { type: "string" },
  "hpa-replicas": { type: "string" },
  out: { type: "string" },
  label: { type: "string" },
  verbose: { type: "boolean" },
  "cold-compile-cache": { type: "boolean" },
  "server-node-args": { type: "string" },
  "sim-node-args": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function whole(
  name: string,
  v: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) {
    throw new UsageError(
      `invalid value ${JSON.stringify(v)} for --${name}: want a whole number in ${min}..${max}`,
    );
  }
  return n;
}

/** A request rate: 0 (that call off), or from 0.01 per second (one call per 100 s) to 100,000. */
export function rate(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  // Below 0.01/s the schedule's first call (and, with a phase, the run) would wait minutes.
  if (v.trim() === "" || !Number.isFinite(n) || (n !== 0 && n < 0.01) || n < 0 || n > 100_000) {
    throw new UsageError(
      `invalid value ${JSON.stringify(v)} for --${name}: want 0 (off) or a number from 0.01 to 100000`,
    );
  }
  return n;
}

/** A Go duration of at least a second, in milliseconds. */
export function resolutionMs(v: string): number {
  let ms = Number.NaN;
  try {
    ms = parseGoDuration(v);
  } catch {
    // not a Go duration: refused below
  }
  if (!(ms >= 1000)) {
    throw new UsageError(
      `invalid value ${JSON.stringify(v)} for --resolution: want a Go duration ≥ 1s, e.g. 15s`,
    );
  }
  return ms;
}

export function parseBenchArgs(argv: readonly string[], defaultOutDir: string): BenchArgs {
  const given = parseFlags(argv, FLAGS);
  const preset = given.preset;
  if (preset !== undefined && !Object.hasOwn(PRESETS, preset)) {
    throw new UsageError(
      `invalid value ${JSON.stringify(preset)} for --preset: want one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  const f = { ...(preset === undefined ? {} : PRESETS[preset as PresetName]), ...given };
  const label = f.label ?? "";
  if (f.label !== undefined && !/^[A-Za-z0-9._-]+$/.test(label)) {
    throw new UsageError(
      `invalid value ${JSON.stringify(label)} for --label: letters, digits, '.', '_' and '-' only`,
    );
  }
  const resolution = f.resolution ?? "15s";
  const args: BenchArgs = {
    preset: (preset ?? "") as PresetName | "",
    nodes: whole("nodes", f.nodes, 100, 1, 60_000),
    podsPerNode: whole("pods-per-node", f["pods-per-node"], 30, 0, 1000),
    containersPerPod: whole("containers-per-pod", f["containers-per-pod"], 2, 1, 100),
    resolution,
    resolutionMs: resolutionMs(resolution),
    cycles: whole("cycles", f.cycles, 3, 1, 10_000),
    warmup: whole("warmup", f.warmup, 1, 0, 10_000),
    concurrency: whole("concurrency", f.concurrency, 4, 1, 10_000),
    rate: rate("rate", f.rate, 200),
    listRate: rate("list-rate", f["list-rate"], 0.2),
    getRate: rate("get-rate", f["get-rate"], 10),
    hpaReplicas: whole("hpa-replicas", f["hpa-replicas"], 20, 0, 100_000),
    outDir: f.out ?? defaultOutDir,
    label,
    verbose: f.verbose === true,
    coldCompileCache: f["cold-compile-cache"] === true,
    serverNodeArgs: nodeFlags("--server-node-args", f["server-node-args"] ?? ""),
    simNodeArgs: nodeFlags("--sim-node-args", f["sim-node-args"] ?? ""),
    help: f.help === true,
  };
  if (args.label === "") {
    args.label = args.preset || `${args.nodes}x${args.podsPerNode}x${args.containersPerPod}`;
  }
  return args;
}
