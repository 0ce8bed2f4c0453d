// NodeMetrics / PodMetrics (metrics.k8s.io/v1beta1) JSON, written directly as strings: a list of
// 150,000 pods is one pass over the items and one join, with no intermediate object graph.
// Field order follows the Go structs: kind, apiVersion, metadata{name, namespace, creationTimestamp,
// labels}, timestamp, window, usage | containers; usage keys sorted (cpu, memory).

import type { NodeMetricsPoint, PodMetricsPoint } from "../storage/index.ts";
import { formatGoDuration, formatTimestamp } from "./duration.ts";
import { goJSONString } from "./json.ts";
import { formatCpu, formatMemory } from "./quantity.ts";

export const METRICS_API_VERSION = "metrics.k8s.io/v1beta1";

function timestampJSON(ms: number): string {
  const text = formatTimestamp(ms);
  return text === null ? "null" : `"${text}"`;
}

/** A window in (fractional) milliseconds as a Go duration string, rounded to whole nanoseconds. */
export function formatWindow(windowMs: number): string {
  return formatGoDuration(Math.round(windowMs * 1e6));
}

function usageJSON(cpuNanocores: number, memoryBytes: number): string {
  return `{"cpu":"${formatCpu(cpuNanocores)}","memory":"${formatMemory(memoryBytes)}"}`;
}

// Upstream writes `timestamp` truncated to whole seconds with `window` unchanged, so
// `timestamp - window` can fall before the real window start; the HPA compares that against pod
// readiness (wire-formats §4). Kept byte-identical to upstream for now; tracked as a later issue.
function timeFieldsJSON(timestampMs: number, windowMs: number): string {
  return `"timestamp":${timestampJSON(timestampMs)},"window":"${formatWindow(windowMs)}"`;
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
}

export function objectContext(nowMs: number): ObjectContext {
  return { creationTimestampJSON: timestampJSON(nowMs) };
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
    timeFieldsJSON(point.timestampMs, point.windowMs) +
    `,"usage":${usageJSON(point.cpuNanocores, point.memoryBytes)}}`
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
  const containers = new Array<string>(point.containers.length);
  for (let i = 0; i < point.containers.length; i++) {
    const c = point.containers[i];
    containers[i] = `{"name":${goJSONString(c.name)},"usage":${usageJSON(c.cpuNanocores, c.memoryBytes)}}`;
  }
  return (
    `{"kind":"PodMetrics","apiVersion":"${METRICS_API_VERSION}","metadata":` +
    metadataJSON(goJSONString(name), goJSONString(namespace), ctx.creationTimestampJSON, labels) +
    "," +
    timeFieldsJSON(point.timestampMs, point.windowMs) +
    `,"containers":[${containers.join(",")}]}`
  );
}

/** A NodeMetricsList / PodMetricsList around already-serialised items (`items` is [] when empty). */
export function listJSON(kind: "NodeMetricsList" | "PodMetricsList", items: readonly string[]): string {
  return `{"kind":"${kind}","apiVersion":"${METRICS_API_VERSION}","metadata":{},"items":[${items.join(",")}]}`;
}
