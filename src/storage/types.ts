// What the scraper hands to storage and what storage hands to the API.
// Built for 150,000 pods: one columnar record per node, no object per sample.

/**
 * One node's decoded kubelet scrape.
 * Containers are grouped: all containers of a pod are contiguous, pods in the kubelet's order or
 * sorted, containers sorted by name within a pod. Container i is
 * (namespaces[i], pods[i], containers[i]); string values are interned by the decoder so repeated
 * names share one string.
 * Only complete pods are present (upstream drops a whole pod if any container has cpu == 0 or
 * memory == 0). Times are Unix milliseconds (fractions allowed); CPU is cumulative nanocore-seconds
 * (= trunc(seconds * 1e9)); memory is working-set bytes.
 */
export interface NodeScrape {
  node: string;
  /** 0 when the node's own point is incomplete (node dropped, its pods kept). */
  nodeTimestampMs: number;
  nodeCpuNs: number;
  /**
   * Exact-counter correction: the kubelet's uint64 counter = nodeCpuNs + nodeCpuNsRemainder, where
   * nodeCpuNs is the nearest double and the remainder a small exact integer. Only the Summary API
   * decoder sets it (its counters can pass 2^53); undefined = 0.
   */
  nodeCpuNsRemainder?: number;
  nodeMemoryBytes: number;
  /**
   * Node swap usage in bytes (`node_swap_usage_bytes` / Summary `node.swap.swapUsageBytes`).
   * NaN or undefined = unknown (0 is a real value: swap off). Never affects completeness.
   */
  nodeSwapBytes?: number;
  /** Node boot time if known (Summary API), else 0. */
  nodeStartTimeMs: number;
  containerCount: number;
  namespaces: string[];
  pods: string[];
  containers: string[];
  /** 0 = unknown start time (counts as "not restarted"). */
  startTimeMs: Float64Array;
  timestampMs: Float64Array;
  cpuNs: Float64Array;
  /** Per-container exact-counter correction, as nodeCpuNsRemainder; undefined = all zero. */
  cpuNsRemainder?: Float64Array;
  memoryBytes: Float64Array;
  /**
   * Per-container swap usage in bytes; NaN = unknown. The column is absent (undefined) when no
   * container of the scrape had a swap sample, so kubelets without swap pay nothing for it.
   * Swap never affects completeness: upstream ignores it.
   */
  swapBytes?: Float64Array;
  /**
   * The node's status.capacity.cpu in nanocores, from the Node object; undefined (or not a positive
   * number) = unknown. A CPU rate faster than this (with a small tolerance) is not served.
   */
  cpuCapacityNanocores?: number;
  /** The node's status.capacity.memory in bytes; undefined = unknown. Memory above it is not served. */
  memoryCapacityBytes?: number;
  /**
   * The start times are truncated to the second (the Summary API's metav1.Time): a young
   * container's rate from its start time could be up to a second's worth low, so the store waits
   * for its second point instead (upstream's rule without the fresh-container shortcut).
   */
  wholeSecondStartTimes?: boolean;
}

export interface NodeMetricsPoint {
  /** End of the measurement window (the newer kubelet sample time), Unix ms. */
  timestampMs: number;
  /** Length of the window in ms (may be fractional). */
  windowMs: number;
  cpuNanocores: number;
  memoryBytes: number;
  /** Newest swap usage in bytes (a gauge, like memory); undefined when the kubelet did not report it. */
  swapBytes?: number;
}

export interface ContainerMetricsPoint {
  name: string;
  cpuNanocores: number;
  memoryBytes: number;
  /** Newest swap usage in bytes; undefined when the kubelet did not report it. */
  swapBytes?: number;
}

export interface PodMetricsPoint {
  /** Of the container with the earliest timestamp (as upstream). */
  timestampMs: number;
  windowMs: number;
  /** Sorted by container name. */
  containers: ContainerMetricsPoint[];
}

export interface PodRef {
  namespace: string;
  name: string;
}

/** A pod as a list holds it (the reflector cache's objects). */
export interface PodObject {
  metadata: { namespace?: string; name: string };
}

/** The storage's read side, as the API uses it. */
export interface MetricsReader {
  /** One entry per requested name, undefined where there are no metrics to serve. */
  getNodeMetrics(names: readonly string[]): (NodeMetricsPoint | undefined)[];
  getPodMetrics(pods: readonly PodRef[]): (PodMetricsPoint | undefined)[];
  /**
   * Pods [from, to) of a list, one entry each as getPodMetrics. For a list read in batches and
   * again later (the same array): the store may remember where it found each pod.
   */
  getListPodMetrics(pods: readonly PodObject[], from: number, to: number): (PodMetricsPoint | undefined)[];
  ready(): boolean;
}
