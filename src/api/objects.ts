// NodeMetrics / PodMetrics (metrics.k8s.io/v1beta1) JSON, written directly as strings: a list of
// 150,000 pods is one pass over the items and one join, with no intermediate object graph.
// Field order follows the Go structs: kind, apiVersion, metadata{name, namespace, creationTimestamp,
// labels}, timestamp, window, usage | containers; usage keys sorted (cpu, memory).

import { formatCpu, formatGoDurationNs, formatMemory, formatTimestamp, goJSONString } from "../go/index.ts";
import type { NodeMetricsPoint, PodMetricsPoint } from "../storage/index.ts";

export const METRICS_API_VERSION = "metrics.k8s.io/v1beta1";

/** What one PodMetrics is made of: the pod's cache metadata and its metrics point. */
export interface PodSource {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>> | undefined;
  point: PodMetricsPoint;
}

/** What one NodeMetrics is made of: the node's cache metadata and its metrics point. */
export interface NodeSource {
  name: string;
  labels: Readonly<Record<string, string>> | undefined;
  point: NodeMetricsPoint;
}

// Plain-object forms of the four kinds, field for field as their JSON. The JSON path below writes
// strings directly (for speed); these objects feed the other encodings (protobuf, Table rows).

/** A resource list: resource name → canonical quantity string (keys cpu, memory, …). */
export type UsageJSON = Record<string, string>;

export interface MetricsObjectMetaJSON {
  name: string;
  /** Pods only. */
  namespace?: string;
  /** RFC 3339, whole seconds; null for Go's zero time. */
  creationTimestamp: string | null;
  /** Omitted when the object has no labels. */
  labels?: Record<string, string>;
}

export interface NodeMetricsJSON {
  kind: "NodeMetrics";
  apiVersion: typeof METRICS_API_VERSION;
  metadata: MetricsObjectMetaJSON;
  /** RFC 3339 truncated to seconds; null when unknown (zero time). */
  timestamp: string | null;
  /** Go duration string, e.g. "15.006s". */
  window: string;
  usage: UsageJSON;
}

export interface ContainerMetricsJSON {
  name: string;
  usage: UsageJSON;
}

export interface PodMetricsJSON {
  kind: "PodMetrics";
  apiVersion: typeof METRICS_API_VERSION;
  metadata: MetricsObjectMetaJSON;
  timestamp: string | null;
  window: string;
  containers: ContainerMetricsJSON[];
}

/** List metadata: always empty here (no resourceVersion, no continue token). */
export type ListMetaJSON = Record<string, never>;

export interface NodeMetricsListJSON {
  kind: "NodeMetricsList";
  apiVersion: typeof METRICS_API_VERSION;
  metadata: ListMetaJSON;
  items: NodeMetricsJSON[];
}

export interface PodMetricsListJSON {
  kind: "PodMetricsList";
  apiVersion: typeof METRICS_API_VERSION;
  metadata: ListMetaJSON;
  items: PodMetricsJSON[];
}

function timestampJSON(ms: number): string {
  const text = formatTimestamp(ms);
  return text === null ? "null" : `"${text}"`;
}

/** A window in (fractional) milliseconds as a Go duration string, rounded to whole nanoseconds. */
export function formatWindow(windowMs: number): string {
  return formatGoDurationNs(Math.round(windowMs * 1e6));
}

/** `swapBytes` undefined leaves `swap` out (unknown, or not asked for with --swap-usage). */
function usageJSON(cpuNanocores: number, memoryBytes: number, swapBytes?: number): string {
  const swap = swapBytes === undefined ? "" : `,"swap":"${formatMemory(swapBytes)}"`;
  return `{"cpu":"${formatCpu(cpuNanocores)}","memory":"${formatMemory(memoryBytes)}"${swap}}`;
}

// A response's items share few distinct windows and timestamps (one per node scrape): their texts are
// kept per response rather than formatted per item. Bounded so a pathological response stays small.
const TIME_FIELDS_CACHE_LIMIT = 16_384;

// Upstream writes `timestamp` truncated to whole seconds with `window` unchanged, so
// `timestamp - window` can fall before the real window start; the HPA compares that against pod
// readiness. Kept byte-identical to upstream (docs/metrics-api.md#objects).
function timeFieldsJSON(ctx: ObjectContext, timestampMs: number, windowMs: number): string {
  let window = ctx.windowTexts.get(windowMs);
  if (window === undefined) {
    window = formatWindow(windowMs);
    if (ctx.windowTexts.size >= TIME_FIELDS_CACHE_LIMIT) ctx.windowTexts.clear();
    ctx.windowTexts.set(windowMs, window);
  }
  return `"timestamp":${timestampJSON(timestampMs)},"window":"${window}"`;
}

/**
 * The metadata object. `nameJSON`/`namespaceJSON` are JSON string literals, `creationTimestampJSON`
 * a JSON string or null, `labels` a JSON object or "" for none.
 */
function metadataJSON(
  nameJSON: string,
  namespaceJSON: string,
  creationTimestampJSON: string,
  labels: string,
) {
  let text = `{"name":${nameJSON}`;
  if (namespaceJSON) text += `,"namespace":${namespaceJSON}`;
  text += `,"creationTimestamp":${creationTimestampJSON}`;
  if (labels) text += `,"labels":${labels}`;
  return text + "}";
}

/** Per-request values shared by every item of one response. */
export interface ObjectContext {
  /** creationTimestamp of every item (the request time, as upstream), already JSON. */
  creationTimestampJSON: string;
  /** Add `swap` to usage where the kubelet reported it (--swap-usage). */
  includeSwap: boolean;
  /** Window (ms) → Go duration text, filled as items are written. */
  windowTexts: Map<number, string>;
}

export function objectContext(nowMs: number, includeSwap = false): ObjectContext {
  return { creationTimestampJSON: timestampJSON(nowMs), includeSwap, windowTexts: new Map() };
}

/** One NodeMetrics object. `labels` is labelsJSON() of the Node's labels ("" for none). */
export function nodeMetricsJSON(
  ctx: ObjectContext,
  name: string,
  labels: string,
  point: NodeMetricsPoint,
): string {
  return (
    `{"kind":"NodeMetrics","apiVersion":"${METRICS_API_VERSION}","metadata":` +
    metadataJSON(goJSONString(name), "", ctx.creationTimestampJSON, labels) +
    "," +
    timeFieldsJSON(ctx, point.timestampMs, point.windowMs) +
    `,"usage":${usageJSON(point.cpuNanocores, point.memoryBytes, ctx.includeSwap ? point.swapBytes : undefined)}}`
  );
}

/** One PodMetrics object. `labels` is labelsJSON() of the pod's labels ("" for none). */
export function podMetricsJSON(
  ctx: ObjectContext,
  namespace: string,
  name: string,
  labels: string,
  point: PodMetricsPoint,
): string {
  // Concatenation, not an array and join: V8 builds a rope that is flattened once, when written.
  let containers = "";
  const list = point.containers;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    const swap = ctx.includeSwap ? c.swapBytes : undefined;
    containers +=
      (i === 0 ? '{"name":' : ',{"name":') +
      goJSONString(c.name) +
      ',"usage":' +
      usageJSON(c.cpuNanocores, c.memoryBytes, swap) +
      "}";
  }
  return (
    `{"kind":"PodMetrics","apiVersion":"${METRICS_API_VERSION}","metadata":` +
    metadataJSON(goJSONString(name), goJSONString(namespace), ctx.creationTimestampJSON, labels) +
    "," +
    timeFieldsJSON(ctx, point.timestampMs, point.windowMs) +
    `,"containers":[${containers}]}`
  );
}

/** The text of a NodeMetricsList / PodMetricsList before its first item. */
export function listHeadJSON(kind: "NodeMetricsList" | "PodMetricsList"): string {
  return `{"kind":"${kind}","apiVersion":"${METRICS_API_VERSION}","metadata":{},"items":[`;
}

/** The text after a list's last item, with the newline Go's json.Encoder ends a body with. */
export const LIST_TAIL_JSON = "]}\n";

/** A NodeMetricsList / PodMetricsList around already-serialised items (`items` is [] when empty). */
export function listJSON(kind: "NodeMetricsList" | "PodMetricsList", items: readonly string[]): string {
  return `${listHeadJSON(kind)}${items.join(",")}]}`;
}

/** The `metadata` object of one item as JSON text (for Table rows' PartialObjectMetadata). */
export function itemMetadataJSON(
  ctx: ObjectContext,
  name: string,
  namespace: string | undefined,
  labels: string,
): string {
  return metadataJSON(
    goJSONString(name),
    namespace === undefined ? "" : goJSONString(namespace),
    ctx.creationTimestampJSON,
    labels,
  );
}

export function usageObject(cpuNanocores: number, memoryBytes: number, swapBytes?: number): UsageJSON {
  const usage: UsageJSON = { cpu: formatCpu(cpuNanocores), memory: formatMemory(memoryBytes) };
  if (swapBytes !== undefined) usage.swap = formatMemory(swapBytes);
  return usage;
}

function metadataObject(
  nowMs: number,
  name: string,
  namespace: string | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): MetricsObjectMetaJSON {
  const creationTimestamp = formatTimestamp(nowMs);
  const meta: MetricsObjectMetaJSON =
    namespace === undefined ? { name, creationTimestamp } : { name, namespace, creationTimestamp };
  if (labels && Object.keys(labels).length > 0) meta.labels = { ...labels };
  return meta;
}

/** One NodeMetrics as a plain object (the same values nodeMetricsJSON writes). */
export function nodeMetricsObject(
  nowMs: number,
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
  point: NodeMetricsPoint,
  includeSwap = false,
): NodeMetricsJSON {
  return {
    kind: "NodeMetrics",
    apiVersion: METRICS_API_VERSION,
    metadata: metadataObject(nowMs, name, undefined, labels),
    timestamp: formatTimestamp(point.timestampMs),
    window: formatWindow(point.windowMs),
    usage: usageObject(point.cpuNanocores, point.memoryBytes, includeSwap ? point.swapBytes : undefined),
  };
}

/** One PodMetrics as a plain object (the same values podMetricsJSON writes). */
export function podMetricsObject(
  nowMs: number,
  namespace: string,
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
  point: PodMetricsPoint,
  includeSwap = false,
): PodMetricsJSON {
  return {
    kind: "PodMetrics",
    apiVersion: METRICS_API_VERSION,
    metadata: metadataObject(nowMs, name, namespace, labels),
    timestamp: formatTimestamp(point.timestampMs),
    window: formatWindow(point.windowMs),
    containers: point.containers.map((c) => ({
      name: c.name,
      usage: usageObject(c.cpuNanocores, c.memoryBytes, includeSwap ? c.swapBytes : undefined),
    })),
  };
}
