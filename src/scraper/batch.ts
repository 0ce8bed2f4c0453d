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

/** The accumulator of one container, created empty on first sight. Names are interned once. */
export function containerFor(
  pods: Map<string, PodAccumulator>,
  namespace: string,
  podName: string,
  containerName: string,
  intern: (s: string) => string,
): ContainerAccumulator {
  const podKey = namespace + "/" + podName;
  let pod = pods.get(podKey);
  if (!pod) {
    pod = { namespace: intern(namespace), name: intern(podName), containers: new Map() };
    pods.set(podKey, pod);
  }
  let c = pod.containers.get(containerName);
  if (!c) {
    c = {
      name: intern(containerName),
      cpuNs: 0,
      cpuNsRemainder: 0,
      memoryBytes: 0,
      timestampMs: 0,
      startTimeMs: 0,
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

/** Pods whose every container has cpu and memory, sorted by namespace/name; containers by name. */
export function completePods(pods: Map<string, PodAccumulator>, nodeName: string): CompletePod[] {
  const kept: CompletePod[] = [];
  for (const pod of pods.values()) {
    let complete = true;
    for (const c of pod.containers.values()) {
      // A container never filled in at all (no sample of any family) does not count against its pod.
      if (c.cpuNs === 0 && c.memoryBytes === 0 && c.timestampMs === 0 && c.startTimeMs === 0) continue;
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
    if (!complete || pod.containers.size === 0) continue;
    const containers = [...pod.containers.values()].sort((a, b) => compareStrings(a.name, b.name));
    kept.push({ namespace: pod.namespace, name: pod.name, containers });
  }
  kept.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
  return kept;
}

/** Lays the complete pods out column by column. The remainder column exists only when needed. */
export function buildScrape(nodeName: string, node: NodePoint, pods: CompletePod[]): NodeScrape {
  let count = 0;
  let anyRemainder = false;
  for (const pod of pods) {
    count += pod.containers.length;
    for (const c of pod.containers) if (c.cpuNsRemainder !== 0) anyRemainder = true;
  }
  const namespaces = new Array<string>(count);
  const podNames = new Array<string>(count);
  const containerNames = new Array<string>(count);
  const startTimeMs = new Float64Array(count);
  const timestampMs = new Float64Array(count);
  const cpuNs = new Float64Array(count);
  const cpuNsRemainder = anyRemainder ? new Float64Array(count) : undefined;
  const memoryBytes = new Float64Array(count);
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
  return scrape;
}
