// Decoder for the kubelet's Summary API (`GET /stats/summary`, stats/v1alpha1 JSON, as
// kubernetes-sigs/metrics-server pkg/scraper/client/summary/decode.go reads it) into one columnar
// NodeScrape — the fallback for kubelets that do not serve /metrics/resource. Only node/pod/container
// cpu, memory, swap usage and start times are read; every other field
// (network, fs, volumes, systemContainers, ...) is ignored, so the full response and the
// `only_cpu_and_memory=true` one decode alike.
//
// Exact counters: `usageCoreNanoSeconds` is a uint64 and passes 2^53 on big, long-running nodes, where
// a double can no longer hold every integer. Before JSON.parse, long digit runs of that key are turned
// into strings and then split into (nearest double, exact remainder) — see NodeScrape.nodeCpuNsRemainder.
// Measured on a 100-pod full summary (145 kB, Node 24): plain JSON.parse 0.30 ms, this regex pre-pass
// + JSON.parse 0.41 ms, JSON.parse with a reviver reading `context.source` 1.85 ms (a reviver runs
// for every value in the document). Hence the pre-pass.
//
// Coarse times: every Summary time is a metav1.Time with one-second precision, so a rate over a 15 s
// window is only good to about ±1 s / 15 s ≈ ±7 % (the /metrics/resource timestamps are in ms). Rates
// are still computed honestly from the kubelet's own cpu.time values; when two scrapes carry the same
// time the store has no window and serves no new rate that tick.
import {
  buildScrape,
  completeNode,
  completePods,
  conflictProblems,
  containerFor,
  type DecodedScrape,
  differs,
  type PodAccumulator,
  SERIES_CPU,
  SERIES_MEMORY,
  SERIES_START_TIME,
  SERIES_TRUSTED,
  seriesName,
} from "./accumulators.ts";
import { attachLeftOut, newLeftOutList } from "./left-out.ts";

// 16+ digits may not fit a double exactly (2^53 has 16 digits); shorter runs parse exactly as numbers.
const LONG_COUNTER = /("usageCoreNanoSeconds"\s*:\s*)(\d{16,})/g;
// metav1.Time is RFC3339; Go accepts a fractional second and a numeric offset when decoding.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

const MAX_UINT64 = 2n ** 64n - 1n;

class SummaryError extends Error {
  constructor(what: string) {
    super(`failed parsing summary: ${what}`);
    this.name = "SummaryError";
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An optional object field: undefined when absent or null, else it must be an object. */
function objectAt(parent: Json, key: string, where: string): Json | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new SummaryError(`${where}.${key} is not an object`);
  return v;
}

function stringAt(parent: Json, key: string, where: string): string {
  const v = parent[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new SummaryError(`${where}.${key} is not a string`);
  return v;
}

/** A metav1.Time in Unix ms; 0 when absent, null (Go's zero time) or not after 1970. */
function timeAt(parent: Json, key: string, where: string): number {
  const text = stringAt(parent, key, where);
  if (text === "") return 0;
  const ms = RFC3339.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new SummaryError(`${where}.${key} is not an RFC 3339 time: ${short(text)}`);
  return Math.max(ms, 0);
}

/** A uint64 field as a double; 0 when absent. */
function uintAt(parent: Json, key: string, where: string): number {
  const v = parent[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new SummaryError(`${where}.${key} is not a non-negative integer`);
  }
  if (v >= 2 ** 64) throw new SummaryError(`${where}.${key} is out of range for a uint64`);
  return v;
}

/** A uint64 counter as [nearest double, exact remainder]; [0, 0] when absent. */
function counterAt(parent: Json, key: string, where: string): [number, number] {
  const v = parent[key];
  // The pre-pass quoted it: a digit string of any length.
  if (typeof v === "string" && /^\d+$/.test(v)) {
    const exact = BigInt(v);
    // Go's decoder fails on a number that does not fit the uint64 field.
    if (exact > MAX_UINT64) throw new SummaryError(`${where}.${key} is out of range for a uint64`);
    const approx = Number(exact);
    return [approx, Number(exact - BigInt(approx))];
  }
  return [uintAt(parent, key, where), 0];
}

function short(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + "..." : s);
}

interface CpuMemory {
  timestampMs: number;
  cpuNs: number;
  cpuNsRemainder: number;
  memoryBytes: number;
}

/**
 * The cpu counter, its time and the working set of a node or container. A counter without a time
 * cannot give a rate, so it counts as missing (the point is then incomplete).
 */
function cpuMemory(stats: Json, where: string): CpuMemory {
  const cpu = objectAt(stats, "cpu", where);
  const memory = objectAt(stats, "memory", where);
  let timestampMs = 0;
  let cpuNs = 0;
  let cpuNsRemainder = 0;
  if (cpu) {
    timestampMs = timeAt(cpu, "time", `${where}.cpu`);
    [cpuNs, cpuNsRemainder] = counterAt(cpu, "usageCoreNanoSeconds", `${where}.cpu`);
    if (timestampMs === 0) {
      cpuNs = 0;
      cpuNsRemainder = 0;
    }
  }
  const memoryBytes = memory ? uintAt(memory, "workingSetBytes", `${where}.memory`) : 0;
  return { timestampMs, cpuNs, cpuNsRemainder, memoryBytes };
}

/**
 * `swap.swapUsageBytes` of a node or container; NaN when absent. Swap is extra information upstream
 * never reads, so a malformed swap object makes only the swap unknown, never the cpu/memory point.
 */
function swapBytes(stats: Json): number {
  const swap = stats.swap;
  if (!isObject(swap)) return Number.NaN;
  const v = swap.swapUsageBytes;
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.trunc(v) : Number.NaN;
}

/** Whether `stats` is an object with a `field` that is not null. */
function sent(stats: unknown, field: string): boolean {
  return isObject(stats) && stats[field] !== undefined && stats[field] !== null;
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body.replace(LONG_COUNTER, '$1"$2"'));
  } catch (err) {
    throw new SummaryError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Decodes one Summary API response for `node`.
 * Node point: cpu.usageCoreNanoSeconds, memory.workingSetBytes, timestamp = cpu.time, start time =
 * node.startTime; incomplete (nodeTimestampMs 0) when cpu or memory is missing or zero. Containers
 * follow the /metrics/resource rules: one incomplete container drops its pod.
 * @param intern shares repeated namespace/pod/container strings across scrapes.
 * A container listed twice with different values is not trusted: its pod is left out, and `problems`
 * names it (`container{namespace="…",pod="…",container="…"}`).
 * @throws Error("failed parsing summary: ...") on malformed JSON, a field of the wrong type or a
 * uint64 out of range.
 */
export function decodeSummary(body: string, node: string, intern: (s: string) => string): DecodedScrape {
  const doc = parse(body);
  if (!isObject(doc)) throw new SummaryError("the response is not a JSON object");

  const nodeStats = objectAt(doc, "node", "summary") ?? {};
  const nodePoint = cpuMemory(nodeStats, "node");
  const nodeStartTimeMs = timeAt(nodeStats, "startTime", "node");

  const podList = doc.pods ?? [];
  if (!Array.isArray(podList)) throw new SummaryError("pods is not an array");
  const pods = new Map<string, PodAccumulator>();
  /** Containers listed twice with different values, by seriesName. */
  const conflicting: string[] = [];
  for (let p = 0; p < podList.length; p++) {
    const where = `pods[${p}]`;
    const pod = podList[p];
    if (!isObject(pod)) throw new SummaryError(`${where} is not an object`);
    const ref = objectAt(pod, "podRef", where) ?? {};
    const namespace = stringAt(ref, "namespace", `${where}.podRef`);
    const name = stringAt(ref, "name", `${where}.podRef`);
    const containers = pod.containers ?? [];
    if (!Array.isArray(containers)) throw new SummaryError(`${where}.containers is not an array`);
    for (let k = 0; k < containers.length; k++) {
      const cwhere = `${where}.containers[${k}]`;
      const stats = containers[k];
      if (!isObject(stats)) throw new SummaryError(`${cwhere} is not an object`);
      const point = cpuMemory(stats, cwhere);
      const startTimeMs = timeAt(stats, "startTime", cwhere);
      const containerName = stringAt(stats, "name", cwhere);
      const c = containerFor(pods, namespace, name, containerName, intern);
      const swap = swapBytes(stats);
      const swapSeen = stats.swap !== undefined && stats.swap !== null;
      // The same container twice (in one pod entry or in two entries of the pod): kept when both say
      // the same, else not trusted, so its pod is left out.
      if (
        c.seen !== 0 &&
        c.conflicts === 0 &&
        (c.cpuNs !== point.cpuNs ||
          c.cpuNsRemainder !== point.cpuNsRemainder ||
          c.memoryBytes !== point.memoryBytes ||
          c.timestampMs !== point.timestampMs ||
          c.startTimeMs !== startTimeMs ||
          differs(c.swapBytes, swap) ||
          c.swapSeen !== swapSeen)
      ) {
        c.conflicts = SERIES_TRUSTED;
        conflicting.push(seriesName("container", namespace, name, containerName));
      }
      // Which of cpu and memory were sent (a left-out pod's cause: "missing" or "is 0"); the start
      // time's bit is always set, so a container seen once is told from a new one.
      c.seen = SERIES_START_TIME | (sent(stats.cpu, "usageCoreNanoSeconds") ? SERIES_CPU : 0);
      if (sent(stats.memory, "workingSetBytes")) c.seen |= SERIES_MEMORY;
      c.cpuNs = point.cpuNs;
      c.cpuNsRemainder = point.cpuNsRemainder;
      c.memoryBytes = point.memoryBytes;
      c.timestampMs = point.timestampMs;
      c.startTimeMs = startTimeMs;
      c.swapBytes = swap;
      c.swapSeen = swapSeen;
    }
    // A pod with an empty container list: registered nowhere, so it is skipped like upstream.
  }

  const point = completeNode(node, { ...nodePoint, startTimeMs: nodeStartTimeMs });
  const leftOut = newLeftOutList();
  const scrape: DecodedScrape = buildScrape(
    node,
    point,
    completePods(pods, node, leftOut),
    swapBytes(nodeStats),
  );
  attachLeftOut(scrape, leftOut);
  if (conflicting.length > 0) scrape.problems = conflictProblems(conflicting);
  scrape.wholeSecondStartTimes = true;
  return scrape;
}
