// Flags of `npm run bench`, parsed with node:util parseArgs (scripts/flags.ts).
import { parseFlags, UsageError } from "../scripts/flags.ts";
import { parseGoDuration } from "../src/go/index.ts";

export { UsageError };

export interface BenchArgs {
  nodes: number;
  podsPerNode: number;
  containersPerPod: number;
  /** metrics-server --metric-resolution, as given (a Go duration). */
  resolution: string;
  resolutionMs: number;
  cycles: number;
  warmup: number;
  concurrency: number;
  /** HPA-style requests per second (one namespace, label selector). */
  rate: number;
  /** Requests per second for each of list-all-pods and list-all-nodes. */
  listRate: number;
  /** Requests per second for get-one-pod. */
  getRate: number;
  /**
   * Pods of the simulator's fixed-size HPA target (`default`, `app=hpa-target`); 0 = no such
   * Deployment: the HPA call then uses a label of the generated workload (sized by the cluster).
   */
  hpaReplicas: number;
  outDir: string;
  label: string;
  verbose: boolean;
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
  --hpa-replicas N        pods the simulator makes for the HPA call's target (namespace default,
                          app=hpa-target), so that call's size does not grow with the cluster
                          (default 20; 0: use a generated workload's label instead)
  --out DIR               where the JSON and markdown results go (default bench/results)
  --label NAME            result file prefix (default <nodes>x<pods>x<containers>)
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
  "server-node-args": { type: "string" },
  "sim-node-args": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function whole(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) {
    throw new UsageError(
      `invalid value ${JSON.stringify(v)} for --${name}: want a whole number in ${min}..${max}`,
    );
  }
  return n;
}

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n <= 0 || n > 100_000) {
    throw new UsageError(`invalid value ${JSON.stringify(v)} for --${name}: want a number > 0 and ≤ 100000`);
  }
  return n;
}

/** A Go duration of at least a second, in milliseconds. */
function resolutionMs(v: string): number {
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
  const f = parseFlags(argv, FLAGS);
  const label = f.label ?? "";
  if (f.label !== undefined && !/^[A-Za-z0-9._-]+$/.test(label)) {
    throw new UsageError(
      `invalid value ${JSON.stringify(label)} for --label: letters, digits, '.', '_' and '-' only`,
    );
  }
  const resolution = f.resolution ?? "15s";
  const args: BenchArgs = {
    nodes: whole("nodes", f.nodes, 100, 1, 60_000),
    podsPerNode: whole("pods-per-node", f["pods-per-node"], 30, 0, 1000),
    containersPerPod: whole("containers-per-pod", f["containers-per-pod"], 2, 1, 100),
    resolution,
    resolutionMs: resolutionMs(resolution),
    cycles: whole("cycles", f.cycles, 3, 1, 10_000),
    warmup: whole("warmup", f.warmup, 1, 0, 10_000),
    concurrency: whole("concurrency", f.concurrency, 4, 1, 10_000),
    rate: positive("rate", f.rate, 200),
    listRate: positive("list-rate", f["list-rate"], 0.2),
    getRate: positive("get-rate", f["get-rate"], 10),
    hpaReplicas: whole("hpa-replicas", f["hpa-replicas"], 20, 0, 100_000),
    outDir: f.out ?? defaultOutDir,
    label,
    verbose: f.verbose === true,
    serverNodeArgs: nodeFlags("--server-node-args", f["server-node-args"] ?? ""),
    simNodeArgs: nodeFlags("--sim-node-args", f["sim-node-args"] ?? ""),
    help: f.help === true,
  };
  if (args.label === "") args.label = `${args.nodes}x${args.podsPerNode}x${args.containersPerPod}`;
  return args;
}
