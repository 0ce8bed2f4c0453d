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

// ---- What a missing metric is explained with (docs/troubleshooting.md) ----
// The scraper reports each node's outcome every tick (NodeScrapeReport); the server keeps the latest
// per node in a ScrapeStatusBook (with the store's refusals); the API reads both, with the store's
// per-pod points (StoreDescriber), to say why a node or pod has no metrics.

/** Why a node's scrape failed, as a class a user can act on; the message carries the detail. */
export type ScrapeErrorKind =
  /** The request or the tick's deadline ran out (--kubelet-request-timeout, --metric-resolution). */
  | "Timeout"
  /** Nothing listens at the kubelet's address and port. */
  | "ConnectionRefused"
  /** Reset, unreachable, closed mid-body, a name that does not resolve. */
  | "ConnectionFailed"
  /** x509: unknown authority, expired, or the name or IP asked for is not in the certificate. */
  | "CertificateInvalid"
  /** The kubelet answered 401: it does not accept our credentials (webhook authn off, wrong CA). */
  | "Unauthorized"
  /** The kubelet answered 403: our identity lacks RBAC on nodes/metrics (or nodes/stats). */
  | "Forbidden"
  /** Any other non-200 answer. */
  | "HTTPStatus"
  /** The body could not be read or decoded, or was larger than the limit. */
  | "BadBody"
  /** The node has no address of the --kubelet-preferred-address-types. */
  | "NoAddress"
  /** Our own credentials could not be read (the service account token). */
  | "Credentials"
  | "Other";

export interface ScrapeError {
  kind: ScrapeErrorKind;
  /** As logged: Go-like wording, no time stamps that change from tick to tick. */
  message: string;
  /** The kubelet's HTTP status, for Unauthorized, Forbidden and HTTPStatus. */
  httpStatus?: number;
  /** CertificateInvalid because of the name: what we asked for (host name or IP)... */
  certificateWanted?: string;
  /** ...and the names and IPs the certificate holds. */
  certificateHas?: string[];
}

/** A pod, or one container of it, that a scrape had but that is not served, and why. */
export interface LeftOutPod {
  namespace: string;
  pod: string;
  /** The container at fault, when one is. */
  container?: string;
  /**
   * Stable text naming the cause, e.g. "cpu is 0", "memory is missing", "conflicting values",
   * "memory above the node's capacity", "counter went back", "reported by two nodes".
   */
  cause: string;
}

/** At most this many left-out pods are kept per node and tick; `leftOutCount` has the full count. */
export const MAX_LEFT_OUT_PER_NODE = 50;

/** One node's outcome in one tick, as the scraper saw it. */
export interface NodeScrapeReport {
  node: string;
  /** NotReady: not scraped, the node's Ready condition is not True (as upstream). */
  outcome: "Succeeded" | "Failed" | "NotReady";
  /** When the request started (after the jitter), Unix ms; for NotReady the tick's start. */
  startMs: number;
  /** The request(s), both endpoints when the Summary fallback ran; 0 for NotReady. */
  durationMs: number;
  /** The endpoint that answered (or was tried last). */
  endpoint?: "resource" | "summary";
  /** The URL asked last. */
  url?: string;
  /** Body bytes read. */
  bytes: number;
  /** Whether the body had a usable node point, and how many pods and containers it kept. */
  nodePoint: boolean;
  pods: number;
  containers: number;
  error?: ScrapeError;
  /** What the decoder left out (at most MAX_LEFT_OUT_PER_NODE). */
  leftOut?: LeftOutPod[];
  leftOutCount?: number;
}

/** A node as the status book keeps it: its latest report and what came before. */
export interface NodeScrapeStatus {
  latest: NodeScrapeReport;
  /** Failed reports in a row, 0 after a success. */
  consecutiveFailures: number;
  /** Unix ms of the first failure of the current run of failures. */
  failingSinceMs?: number;
  /** Unix ms of the last Succeeded report. */
  lastSuccessMs?: number;
  /** Points the store refused from this node's latest stored scrape (at most MAX_LEFT_OUT_PER_NODE). */
  refused?: LeftOutPod[];
  /** Set when the node's own point was refused: the cause. */
  nodeRefused?: string;
}

/** The store's view of one pod, for explanations: which containers it has and how many points. */
export interface StoredPodView {
  /** The node whose scrape the pod's points came from. */
  node: string;
  containers: {
    name: string;
    /** 1: a rate needs a second point (or the fresh-container rule); 2: served. */
    points: 1 | 2;
    /** Newest sample time, Unix ms. */
    newestMs: number;
    /** The point before, when there are two. */
    previousMs?: number;
    /** Container start time, Unix ms; 0 unknown. */
    startMs: number;
    /** The newest point replaced one with another start time (a restart), Unix ms of that start. */
    restartedAtMs?: number;
  }[];
}

/** The store's view of one node's own point. */
export interface StoredNodeView {
  points: 1 | 2;
  newestMs: number;
  previousMs?: number;
}

/** Read by explanations only (never on a list's hot path). */
export interface StoreDescriber {
  describePod(namespace: string, name: string): StoredPodView | undefined;
  describeNode(name: string): StoredNodeView | undefined;
}

/** The latest scrape outcome of each node, as the API reads it. */
export interface ScrapeStatusReader {
  status(node: string): NodeScrapeStatus | undefined;
  /** Every node with a report, in no particular order. */
  all(): Iterable<NodeScrapeStatus>;
}
