// Test helper: builds columnar NodeScrape batches from a readable description, so storage tests can say
// "node-1 at 10 s with 10 core·s" instead of filling typed arrays by hand.

import type { NodeScrape } from "../../src/storage/index.ts";

/** An arbitrary fixed wall-clock origin, far from 0 so that start time 0 keeps meaning "unknown". */
export const T0 = 1_700_000_000_000;

/**
 * Store options for synthetic points (TwoPointStoreOptions): scraping began at 0 and the clock
 * reads the latest date there is, so neither a long window nor any timestamp is refused.
 */
export const TIMELESS = { now: () => 8.64e15, startedAtMs: 0 } as const;

/** Absolute Unix ms of `s` seconds after T0. */
export function at(s: number): number {
  return T0 + s * 1000;
}

/** Cumulative CPU in nanocore-seconds for `n` core-seconds. */
export function coreSeconds(n: number): number {
  return Math.trunc(n * 1e9);
}

export interface ContainerDesc {
  name: string;
  /** Seconds after T0; omitted = 0 = unknown start time. */
  startS?: number;
  tsS: number;
  /** Core-seconds. */
  cpu: number;
  memory?: number;
  /** Swap bytes; omitted = unknown (the scrape's swap column exists only if some container has one). */
  swap?: number;
}

export interface PodDesc {
  namespace?: string;
  name: string;
  containers: ContainerDesc[];
}

export interface NodeDesc {
  node: string;
  /** Seconds after T0; omitted = the node's own point is missing (only its pods are in the batch). */
  tsS?: number;
  cpu?: number;
  memory?: number;
  /** Swap bytes; omitted = unknown (nodeSwapBytes left out). */
  swap?: number;
  /** Seconds after T0; omitted = unknown. */
  startS?: number;
  pods?: PodDesc[];
}

/** One node's scrape. Containers are laid out exactly in the described order (tests rely on that). */
export function nodeScrape(d: NodeDesc): NodeScrape {
  const rows = (d.pods ?? []).flatMap((pod) =>
    pod.containers.map((c) => ({ namespace: pod.namespace ?? "default", pod: pod.name, c })),
  );
  const scrape: NodeScrape = {
    node: d.node,
    nodeTimestampMs: d.tsS === undefined ? 0 : at(d.tsS),
    nodeCpuNs: coreSeconds(d.cpu ?? 0),
    nodeMemoryBytes: d.memory ?? 0,
    nodeStartTimeMs: d.startS === undefined ? 0 : at(d.startS),
    containerCount: rows.length,
    namespaces: rows.map((r) => r.namespace),
    pods: rows.map((r) => r.pod),
    containers: rows.map((r) => r.c.name),
    startTimeMs: Float64Array.from(rows, (r) => (r.c.startS === undefined ? 0 : at(r.c.startS))),
    timestampMs: Float64Array.from(rows, (r) => at(r.c.tsS)),
    cpuNs: Float64Array.from(rows, (r) => coreSeconds(r.c.cpu)),
    memoryBytes: Float64Array.from(rows, (r) => r.c.memory ?? 1),
  };
  if (d.swap !== undefined) scrape.nodeSwapBytes = d.swap;
  if (rows.some((r) => r.c.swap !== undefined)) {
    scrape.swapBytes = Float64Array.from(rows, (r) => r.c.swap ?? Number.NaN);
  }
  return scrape;
}

/**
 * The common shape of upstream's storage tests: one node "node1" and one pod "ns1/pod1" with one
 * container "c1", node and container sharing timestamp, CPU and memory.
 */
export function simpleBatch(p: { tsS: number; cpu: number; memory?: number; startS?: number }): NodeScrape[] {
  return [
    nodeScrape({
      node: "node1",
      tsS: p.tsS,
      cpu: p.cpu,
      memory: p.memory ?? 1,
      pods: [
        {
          namespace: "ns1",
          name: "pod1",
          containers: [{ name: "c1", startS: p.startS, tsS: p.tsS, cpu: p.cpu, memory: p.memory ?? 1 }],
        },
      ],
    }),
  ];
}
