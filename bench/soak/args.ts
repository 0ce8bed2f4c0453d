// Flags of `npm run soak`, parsed as the bench's are (scripts/flags.ts, the bench's value checks).
import { parseFlags, UsageError } from "../../scripts/flags.ts";
import { parseGoDuration } from "../../src/go/index.ts";
import { rate, resolutionMs, whole } from "../args.ts";
import { SOAK_FAULT_SPECS } from "./faults.ts";

export { UsageError };

export interface SoakArgs {
  minutes: number;
  nodes: number;
  podsPerNode: number;
  containersPerPod: number;
  /** metrics-server --metric-resolution, as given (a Go duration). */
  resolution: string;
  resolutionMs: number;
  /** Share of the scenario's nodes under a fault at any time, 0..1. */
  faultFraction: number;
  /** How often the faulty nodes and their faults are drawn again. */
  faultPeriodMs: number;
  /** The fault specs drawn from (POST /sim/faults values). */
  faults: string[];
  /** Pods created (and as many deleted) per minute. */
  podChurn: number;
  /** Nodes created (and as many deleted) per minute. */
  nodeChurn: number;
  /** How often every served node and pod metric is checked against /sim/truth. */
  checkPeriodMs: number;
  /** HPA-style calls, list-all calls and get-one-pod calls per second (as the bench's flags). */
  rate: number;
  listRate: number;
  getRate: number;
  concurrency: number;
  hpaReplicas: number;
  seed: number;
  outDir: string;
  verbose: boolean;
  help: boolean;
}

/** Words of `text` in lines of at most `width` characters, each indented by `indent` spaces. */
function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.map((l) => `${" ".repeat(indent)}${l}`).join("\n");
}

export const USAGE = `Usage: npm run soak -- [flags]

Starts the simulated cluster and the metrics-server (as npm run bench does), then for the given time
keeps faults on a share of the nodes (drawn again every fault period, through POST /sim/faults),
creates and deletes pods and nodes through the API, runs the bench's API load, and checks every
served node and pod metric against GET /sim/truth. Reports server restarts, wrong values, RSS and
log lines per minute and the load's errors and latencies; exits 1 if the server restarted or served
a wrong value.

  --minutes N             how long to soak (default 30)
  --nodes N               simulated nodes (default 500)
  --pods-per-node P       pods per node (default 10)
  --containers-per-pod C  containers per pod (default 2)
  --resolution DUR        metrics-server --metric-resolution (default 15s)
  --fault-fraction F      share of the nodes under a fault, 0..1 (default 0.1)
  --fault-period DUR      how often faults are drawn again (default 1m)
  --faults LIST           comma-separated fault specs to draw from (default all:
${wrap(`${SOAK_FAULT_SPECS.join(", ")})`, 26, 100)}
  --pod-churn N           pods created and deleted per minute (default 60)
  --node-churn N          nodes created and deleted per minute (default 2)
  --check-period DUR      how often served metrics are checked against the truth (default 30s)
  --rate R                HPA-style calls per second (default 20)
  --list-rate R           list-all-nodes and list-all-pods calls per second (default 0.1)
  --get-rate R            get-one-pod calls per second (default 5)
  --concurrency X         most requests in flight per API call kind (default 4)
  --hpa-replicas N        pods of the HPA call's target Deployment (default 20)
  --seed N                seed of the fault and churn draws (default: random, printed)
  --out DIR               where the JSON report goes (default bench/results)
  --verbose               echo the simulator's and the server's logs to stderr
  -h, --help              this help
`;

const FLAGS = {
  minutes: { type: "string" },
  nodes: { type: "string" },
  "pods-per-node": { type: "string" },
  "containers-per-pod": { type: "string" },
  resolution: { type: "string" },
  "fault-fraction": { type: "string" },
  "fault-period": { type: "string" },
  faults: { type: "string" },
  "pod-churn": { type: "string" },
  "node-churn": { type: "string" },
  "check-period": { type: "string" },
  rate: { type: "string" },
  "list-rate": { type: "string" },
  "get-rate": { type: "string" },
  concurrency: { type: "string" },
  "hpa-replicas": { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** A Go duration of at least a second, in milliseconds. */
function period(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  let ms = Number.NaN;
  try {
    ms = parseGoDuration(v);
  } catch {
    // refused below
  }
  if (!(ms >= 1000)) {
    throw new UsageError(
      `invalid value ${JSON.stringify(v)} for --${name}: want a Go duration ≥ 1s, e.g. 1m`,
    );
  }
  return ms;
}

function fraction(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === "" || !(n >= 0 && n <= 1)) {
    throw new UsageError(`invalid value ${JSON.stringify(v)} for --${name}: want a number from 0 to 1`);
  }
  return n;
}

function faultList(v: string | undefined): string[] {
  if (v === undefined) return [...SOAK_FAULT_SPECS];
  const specs = v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (specs.length === 0) throw new UsageError(`invalid value ${JSON.stringify(v)} for --faults: empty list`);
  return specs;
}

export function parseSoakArgs(argv: readonly string[], defaultOutDir: string): SoakArgs {
  const f = parseFlags(argv, FLAGS);
  const resolution = f.resolution ?? "15s";
  return {
    minutes: whole("minutes", f.minutes, 30, 1, 10_000),
    nodes: whole("nodes", f.nodes, 500, 1, 60_000),
    podsPerNode: whole("pods-per-node", f["pods-per-node"], 10, 0, 1000),
    containersPerPod: whole("containers-per-pod", f["containers-per-pod"], 2, 1, 100),
    resolution,
    resolutionMs: resolutionMs(resolution),
    faultFraction: fraction("fault-fraction", f["fault-fraction"], 0.1),
    faultPeriodMs: period("fault-period", f["fault-period"], 60_000),
    faults: faultList(f.faults),
    podChurn: whole("pod-churn", f["pod-churn"], 60, 0, 100_000),
    nodeChurn: whole("node-churn", f["node-churn"], 2, 0, 1000),
    checkPeriodMs: period("check-period", f["check-period"], 30_000),
    rate: rate("rate", f.rate, 20),
    listRate: rate("list-rate", f["list-rate"], 0.1),
    getRate: rate("get-rate", f["get-rate"], 5),
    concurrency: whole("concurrency", f.concurrency, 4, 1, 10_000),
    hpaReplicas: whole("hpa-replicas", f["hpa-replicas"], 20, 1, 100_000),
    seed: whole("seed", f.seed, Math.floor(Math.random() * 2 ** 31), 0, 2 ** 31),
    outDir: f.out ?? defaultOutDir,
    verbose: f.verbose === true,
    help: f.help === true,
  };
}
