// What both kubelet decoders (/metrics/resource and the Summary API) feed: per-pod accumulators, the
// completeness rules upstream applies (kubernetes-sigs/metrics-server
// pkg/scraper/client/resource/decode.go; docs/scraping.md) and the columnar NodeScrape build.
import { goQuote } from "../../go/index.ts";
import * as log from "../../log/index.ts";
import type { LeftOutPod, NodeScrape } from "../../storage/index.ts";
import { type LeftOutList, leaveOut } from "./left-out.ts";

export interface ContainerAccumulator {
  name: string;
  cpuNs: number;
  /** Exact-counter correction (Summary API counters past 2^53); 0 on the resource path. */
  cpuNsRemainder: number;
  memoryBytes: number;
  timestampMs: number;
  startTimeMs: number;
  /** Swap usage in bytes; NaN = not reported. Not part of completeness (upstream ignores swap). */
  swapBytes: number;
  /** A swap sample was seen (even an unusable one): tells a swap-only container from an empty one. */
  swapSeen: boolean;
  /** The SERIES_* bits of the series recorded so far (a second sample of one is a duplicate). */
  seen: number;
  /** The SERIES_* bits of the series sent twice with different values: not trusted. */
  conflicts: number;
  /** The cpu and memory samples' own times: a duplicate with the same value but another time differs. */
  cpuTimeMs: number;
  memoryTimeMs: number;
}

// A container's (or node's) series, as bits of ContainerAccumulator.seen and .conflicts.
export const SERIES_CPU = 1;
export const SERIES_MEMORY = 2;
export const SERIES_START_TIME = 4;
export const SERIES_SWAP = 8;
/** The series a point cannot be trusted without: a conflict in one of them drops the point (or pod). */
export const SERIES_TRUSTED = SERIES_CPU | SERIES_MEMORY | SERIES_START_TIME;

/**
 * What a decode did not trust in a body, for the scraper to log (the decoders never log it): the
 * node point, or the pods of the containers, whose series the body sent twice with different values.
 */
export interface DecodeProblems {
  /** What went wrong, the same text every time (a log line's cause). */
  cause: string;
  /** How many series. */
  count: number;
  /** The first few of them, sorted: `family{namespace="…",pod="…",container="…"}`, or the family alone. */
  series: string[];
}

/** A decoder's NodeScrape, with `problems` and `leftOut` only when the body had some. */
export interface DecodedScrape extends NodeScrape {
  problems?: DecodeProblems;
  /** Pods left out as incomplete or conflicting, the first MAX_LEFT_OUT_PER_NODE of them... */
  leftOut?: LeftOutPod[];
  /** ...and how many there were. */
  leftOutCount?: number;
}

// LeftOutPod causes of a decode (stable texts: explanations key on them).
export const CONFLICTING_VALUES = "conflicting values";

/** Why an incomplete container does not count: what it lacks, "is 0" when sent as zero. */
function incompleteCause(c: ContainerAccumulator): string {
  if (c.cpuNs === 0) return (c.seen & SERIES_CPU) !== 0 ? "cpu is 0" : "cpu is missing";
  if (c.memoryBytes === 0) return (c.seen & SERIES_MEMORY) !== 0 ? "memory is 0" : "memory is missing";
  return "timestamp is missing";
}

export const CONFLICTING_SERIES = "the same series sent twice with different values";
/** Series named in DecodeProblems.series, at most. */
export const PROBLEM_SERIES_SHOWN = 3;

/** The problems of a body whose `series` (any order, any number) were sent twice with different values. */
export function conflictProblems(series: string[]): DecodeProblems {
  series.sort();
  return { cause: CONFLICTING_SERIES, count: series.length, series: series.slice(0, PROBLEM_SERIES_SHOWN) };
}

/** A series' name in DecodeProblems: the family and, for a container, its labels in Go's %q quoting. */
export function seriesName(family: string, namespace?: string, pod?: string, container?: string): string {
  if (namespace === undefined) return family;
  return `${family}{namespace=${goQuote(namespace)},pod=${goQuote(pod ?? "")},container=${goQuote(container ?? "")}}`;
}

/** Two recorded values differ (NaN, "not reported", equals itself). */
export function differs(a: number, b: number): boolean {
  return a !== b && !(Number.isNaN(a) && Number.isNaN(b));
}

export interface PodAccumulator {
  namespace: string;
  name: string;
  /** In order of first sight (findContainer, addContainer). */
  containers: ContainerAccumulator[];
  /** The same by name, made only for a pod with more containers than a short search suits. */
  byName: Map<string, ContainerAccumulator> | undefined;
}

export interface NodePoint {
  timestampMs: number;
  cpuNs: number;
  cpuNsRemainder: number;
  memoryBytes: number;
  startTimeMs: number;
}

/**
 * The accumulator of one container, created empty on first sight. Names are interned once.
 * `internRepeated` may be given for namespace and container names, which repeat within a node
 * (a small per-body cache in front of the big interner saves most of its lookups).
 */
export function containerFor(
  pods: Map<string, PodAccumulator>,
  namespace: string,
  podName: string,
  containerName: string,
  intern: (s: string) => string,
  internRepeated: (s: string) => string = intern,
): ContainerAccumulator {
  const podKey = namespace + "/" + podName;
  let pod = pods.get(podKey);
  if (!pod) {
    pod = newPod(internRepeated(namespace), intern(podName));
    pods.set(podKey, pod);
  }
  let c = findContainer(pod, containerName);
  if (c === undefined) {
    c = new EmptyContainer(internRepeated(containerName));
    addContainer(pod, c);
  }
  return c;
}

/**
 * A container accumulator with nothing recorded. A class rather than an object literal: in a CPU
 * profile of 12,000 byte-decoded bodies, the function creating containers spent 207 ms with the
 * literal and 77 ms with the class.
 */
export class EmptyContainer implements ContainerAccumulator {
  name: string;
  cpuNs = 0;
  cpuNsRemainder = 0;
  memoryBytes = 0;
  timestampMs = 0;
  startTimeMs = 0;
  swapBytes = Number.NaN;
  swapSeen = false;
  seen = 0;
  conflicts = 0;
  cpuTimeMs = 0;
  memoryTimeMs = 0;

  constructor(name: string) {
    this.name = name;
  }
}

/** Makes `c` what `new EmptyContainer(name)` is, for a decoder that reuses accumulators. */
export function resetContainer(c: ContainerAccumulator, name: string): void {
  c.name = name;
  c.cpuNs = 0;
  c.cpuNsRemainder = 0;
  c.memoryBytes = 0;
  c.timestampMs = 0;
  c.startTimeMs = 0;
  c.swapBytes = Number.NaN;
  c.swapSeen = false;
  c.seen = 0;
  c.conflicts = 0;
  c.cpuTimeMs = 0;
  c.memoryTimeMs = 0;
}

export function newPod(namespace: string, name: string): PodAccumulator {
  return { namespace, name, containers: [], byName: undefined };
}

// A pod's containers are searched in its list up to this many; past it, a map by name is kept.
// Most pods have one to three, and a map for each was a sizeable share of what a decode allocated.
const CONTAINERS_SEARCHED = 8;

/** The container of `pod` named `name`, if it has one. */
export function findContainer(pod: PodAccumulator, name: string): ContainerAccumulator | undefined {
  if (pod.byName !== undefined) return pod.byName.get(name);
  // Names are interned, so equal ones are usually the same string and compare at once.
  const containers = pod.containers;
  for (let k = 0; k < containers.length; k++) if (containers[k].name === name) return containers[k];
  return undefined;
}

/** Adds `c`, which findContainer did not find, to `pod`. */
export function addContainer(pod: PodAccumulator, c: ContainerAccumulator): void {
  const containers = pod.containers;
  containers.push(c);
  if (pod.byName !== undefined) pod.byName.set(c.name, c);
  else if (containers.length > CONTAINERS_SEARCHED) {
    pod.byName = new Map();
    for (const known of containers) pod.byName.set(known.name, known);
  }
}

/**
 * The node point if it has a timestamp, cpu and memory; otherwise an all-zero point (the node is
 * left out of this tick, its pods kept), logged at V(1) as upstream does.
 */
export function completeNode(nodeName: string, p: NodePoint): NodePoint {
  if (p.timestampMs !== 0 && p.cpuNs !== 0 && p.memoryBytes !== 0) return p;
  log.V(1).info("Failed getting complete node metric", {
    node: nodeName,
    metric: { timestampMs: p.timestampMs, cpuNs: p.cpuNs, memoryBytes: p.memoryBytes },
  });
  return { timestampMs: 0, cpuNs: 0, cpuNsRemainder: 0, memoryBytes: 0, startTimeMs: p.startTimeMs };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface CompletePod {
  namespace: string;
  name: string;
  containers: ContainerAccumulator[];
}

/** True when no cpu, memory, timestamp or start time was recorded (swap does not count). */
function isEmpty(c: ContainerAccumulator): boolean {
  return c.cpuNs === 0 && c.memoryBytes === 0 && c.timestampMs === 0 && c.startTimeMs === 0;
}

/**
 * Sorts `items` as Array.prototype.sort does (stably, so the same order for the same comparator), by
 * binary insertion when there are few: the built-in sort allocates work arrays on every call, and a
 * node's every pod is sorted once per scrape. Up to SORTED_BY_INSERTION items, moving elements costs
 * less than those allocations.
 */
function sortStable<T>(items: T[], compare: (a: T, b: T) => number): void {
  if (items.length > SORTED_BY_INSERTION) {
    items.sort(compare);
    return;
  }
  for (let i = 1; i < items.length; i++) {
    const item = items[i];
    // After every element that is not greater, so equal elements keep their order.
    let low = 0;
    let high = i;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compare(items[mid], item) > 0) high = mid;
      else low = mid + 1;
    }
    for (let j = i; j > low; j--) items[j] = items[j - 1];
    items[low] = item;
  }
}

const SORTED_BY_INSERTION = 128;

function compareContainers(a: ContainerAccumulator, b: ContainerAccumulator): number {
  return compareStrings(a.name, b.name);
}

function comparePods(a: CompletePod, b: CompletePod): number {
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}

/**
 * Pods whose every container has cpu and memory, sorted by namespace/name; containers by name.
 * The others go into `leftOut`, when given, with their first container at fault and why.
 */
export function completePods(
  pods: ReadonlyMap<string, PodAccumulator> | readonly PodAccumulator[],
  nodeName: string,
  leftOut?: LeftOutList,
): CompletePod[] {
  const kept: CompletePod[] = [];
  for (const pod of pods instanceof Map ? pods.values() : (pods as readonly PodAccumulator[])) {
    let complete = true;
    let empty = 0;
    for (const c of pod.containers) {
      // A container whose cpu, memory or start time came twice with different values is not trusted,
      // and a pod cannot be served without one of its containers.
      if ((c.conflicts & SERIES_TRUSTED) !== 0) {
        leaveOut(leftOut, pod.namespace, pod.name, c.name, CONFLICTING_VALUES);
        complete = false;
        break;
      }
      // A container with nothing recorded (only swap samples, or only unusable values with a zero
      // time) does not count against its pod, and is not served: upstream skips a container whose
      // point is all zero, and ignores swap.
      if (isEmpty(c)) {
        empty++;
        continue;
      }
      if (c.cpuNs === 0 || c.memoryBytes === 0 || c.timestampMs === 0) {
        if (log.V(1).enabled) {
          log.V(1).info("Failed getting complete container metric", {
            node: nodeName,
            containerName: c.name,
            containerMetric: { timestampMs: c.timestampMs, cpuNs: c.cpuNs, memoryBytes: c.memoryBytes },
          });
          log.V(1).info("Failed getting complete Pod metric", { pod: pod.namespace + "/" + pod.name });
        }
        leaveOut(leftOut, pod.namespace, pod.name, c.name, incompleteCause(c));
        complete = false;
        break;
      }
    }
    // A pod left without containers has nothing to serve.
    if (!complete || pod.containers.length === empty) continue;
    // The accumulator is done with, so its list is sorted in place.
    let containers: ContainerAccumulator[] = pod.containers;
    if (empty > 0) containers = containers.filter((c) => !isEmpty(c));
    sortStable(containers, compareContainers);
    kept.push({ namespace: pod.namespace, name: pod.name, containers });
  }
  sortStable(kept, comparePods);
  return kept;
}

/**
 * Lays the complete pods out column by column. The remainder and swap columns exist only when some
 * container needs them. nodeSwapBytes: NaN = not reported.
 */
export function buildScrape(
  nodeName: string,
  node: NodePoint,
  pods: CompletePod[],
  nodeSwapBytes = Number.NaN,
): NodeScrape {
  let count = 0;
  let anyRemainder = false;
  let anySwap = false;
  for (const pod of pods) {
    count += pod.containers.length;
    for (const c of pod.containers) {
      if (c.cpuNsRemainder !== 0) anyRemainder = true;
      if (!Number.isNaN(c.swapBytes)) anySwap = true;
    }
  }
  const namespaces = new Array<string>(count);
  const podNames = new Array<string>(count);
  const containerNames = new Array<string>(count);
  const startTimeMs = new Float64Array(count);
  const timestampMs = new Float64Array(count);
  const cpuNs = new Float64Array(count);
  const cpuNsRemainder = anyRemainder ? new Float64Array(count) : undefined;
  const memoryBytes = new Float64Array(count);
  const swapBytes = anySwap ? new Float64Array(count) : undefined;
  let i = 0;
  for (const pod of pods) {
    for (const c of pod.containers) {
      namespaces[i] = pod.namespace;
      podNames[i] = pod.name;
      containerNames[i] = c.name;
      startTimeMs[i] = c.startTimeMs;
      timestampMs[i] = c.timestampMs;
      cpuNs[i] = c.cpuNs;
      if (cpuNsRemainder) cpuNsRemainder[i] = c.cpuNsRemainder;
      memoryBytes[i] = c.memoryBytes;
      if (swapBytes) swapBytes[i] = c.swapBytes;
      i++;
    }
  }
  const scrape: NodeScrape = {
    node: nodeName,
    nodeTimestampMs: node.timestampMs,
    nodeCpuNs: node.cpuNs,
    nodeMemoryBytes: node.memoryBytes,
    nodeStartTimeMs: node.startTimeMs,
    containerCount: count,
    namespaces,
    pods: podNames,
    containers: containerNames,
    startTimeMs,
    timestampMs,
    cpuNs,
    memoryBytes,
  };
  if (node.cpuNsRemainder !== 0) scrape.nodeCpuNsRemainder = node.cpuNsRemainder;
  if (cpuNsRemainder) scrape.cpuNsRemainder = cpuNsRemainder;
  if (!Number.isNaN(nodeSwapBytes)) scrape.nodeSwapBytes = nodeSwapBytes;
  if (swapBytes) scrape.swapBytes = swapBytes;
  return scrape;
}
