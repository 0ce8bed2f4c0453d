// What both kubelet decoders (/metrics/resource and the Summary API) share: per-pod accumulators, the
// upstream completeness rules (reference upstream-behaviour.md §1.5) and the columnar NodeScrape build.
import * as log from "../log/index.ts";
import type { NodeScrape } from "../storage/types.ts";

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
}

export interface PodAccumulator {
  namespace: string;
  name: string;
  containers: Map<string, ContainerAccumulator>;
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
    pod = { namespace: internRepeated(namespace), name: intern(podName), containers: new Map() };
    pods.set(podKey, pod);
  }
  let c = pod.containers.get(containerName);
  if (!c) {
    c = {
      name: internRepeated(containerName),
      cpuNs: 0,
      cpuNsRemainder: 0,
      memoryBytes: 0,
      timestampMs: 0,
      startTimeMs: 0,
      swapBytes: Number.NaN,
      swapSeen: false,
    };
    pod.containers.set(containerName, c);
  }
  return c;
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

/** Pods whose every container has cpu and memory, sorted by namespace/name; containers by name. */
export function completePods(pods: Map<string, PodAccumulator>, nodeName: string): CompletePod[] {
  const kept: CompletePod[] = [];
  for (const pod of pods.values()) {
    let complete = true;
    let swapOnly = 0;
    for (const c of pod.containers.values()) {
      // A container never filled in at all (no sample of any family) does not count against its pod.
      if (isEmpty(c)) {
        if (c.swapSeen) swapOnly++;
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
        complete = false;
        break;
      }
    }
    if (!complete || pod.containers.size === swapOnly) continue;
    let containers = [...pod.containers.values()];
    // Upstream ignores swap entirely, so a container seen only through swap samples does not exist
    // for it; leave it out rather than serve a container without cpu or memory.
    if (swapOnly > 0) containers = containers.filter((c) => !(isEmpty(c) && c.swapSeen));
    containers.sort((a, b) => compareStrings(a.name, b.name));
    kept.push({ namespace: pod.namespace, name: pod.name, containers });
  }
  kept.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
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
