// Flags of `npm run bench`.
import { parseGoDurationMs } from "./stats.ts";

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

export class UsageError extends Error {}

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

export function parseBenchArgs(argv: readonly string[], defaultOutDir: string): BenchArgs {
  const args: BenchArgs = {
    nodes: 100,
    podsPerNode: 30,
    containersPerPod: 2,
    resolution: "15s",
    resolutionMs: 15_000,
    cycles: 3,
    warmup: 1,
    concurrency: 4,
    rate: 200,
    listRate: 0.2,
    getRate: 10,
    hpaReplicas: 20,
    outDir: defaultOutDir,
    label: "",
    verbose: false,
    serverNodeArgs: [],
    simNodeArgs: [],
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf("=");
    const name = eq > 0 && raw.startsWith("--") ? raw.slice(0, eq) : raw;
    const value = (): string => {
      if (eq > 0 && raw.startsWith("--")) return raw.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`flag needs an argument: ${name}`);
      return v;
    };
    const whole = (min: number, max: number): number => {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < min || n > max) {
        throw new UsageError(
          `invalid value ${JSON.stringify(v)} for ${name}: want a whole number in ${min}..${max}`,
        );
      }
      return n;
    };
    const positive = (): number => {
      const v = value();
      const n = Number(v);
      if (v.trim() === "" || !Number.isFinite(n) || n <= 0 || n > 100_000) {
        throw new UsageError(
          `invalid value ${JSON.stringify(v)} for ${name}: want a number > 0 and ≤ 100000`,
        );
      }
      return n;
    };
    switch (name) {
      case "--nodes":
        args.nodes = whole(1, 60_000);
        break;
      case "--pods-per-node":
        args.podsPerNode = whole(0, 1000);
        break;
      case "--containers-per-pod":
        args.containersPerPod = whole(1, 100);
        break;
      case "--resolution": {
        const v = value();
        const ms = parseGoDurationMs(v);
        if (!Number.isFinite(ms) || ms < 1000) {
          throw new UsageError(
            `invalid value ${JSON.stringify(v)} for --resolution: want a Go duration ≥ 1s, e.g. 15s`,
          );
        }
        args.resolution = v;
        args.resolutionMs = ms;
        break;
      }
      case "--cycles":
        args.cycles = whole(1, 10_000);
        break;
      case "--warmup":
        args.warmup = whole(0, 10_000);
        break;
      case "--concurrency":
        args.concurrency = whole(1, 10_000);
        break;
      case "--rate":
        args.rate = positive();
        break;
      case "--list-rate":
        args.listRate = positive();
        break;
      case "--get-rate":
        args.getRate = positive();
        break;
      case "--hpa-replicas":
        args.hpaReplicas = whole(0, 100_000);
        break;
      case "--out":
        args.outDir = value();
        break;
      case "--label": {
        const v = value();
        if (!/^[A-Za-z0-9._-]+$/.test(v)) {
          throw new UsageError(
            `invalid value ${JSON.stringify(v)} for --label: letters, digits, '.', '_' and '-' only`,
          );
        }
        args.label = v;
        break;
      }
      case "--verbose":
        args.verbose = true;
        break;
      case "--server-node-args":
        args.serverNodeArgs = nodeFlags(name, value());
        break;
      case "--sim-node-args":
        args.simNodeArgs = nodeFlags(name, value());
        break;
      case "-h":
      case "--help":
        args.help = true;
        break;
      default:
        throw new UsageError(`unknown flag: ${raw}`);
    }
  }
  if (args.label === "") args.label = `${args.nodes}x${args.podsPerNode}x${args.containersPerPod}`;
  return args;
}
