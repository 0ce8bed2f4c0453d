// The metrics.k8s.io NotFound and MethodNotAllowed bodies, as upstream's storages return them.

import { notFound, statusResponse, type TextResponse } from "../apiserver/index.ts";
import { goQuote } from "../go/index.ts";

/** The node informer has no such node (the lister's NotFound uses resource "node"). */
export function nodeNotFound(name: string): TextResponse {
  return notFound("node", "", name);
}

/** The node exists but storage has no metrics for it. */
export function nodeMetricsNotFound(name: string): TextResponse {
  return notFound("nodemetrics", "metrics.k8s.io", name);
}

/** The pod is not in the Running-pod cache. */
export function podNotFound(name: string): TextResponse {
  return notFound("pods", "", name);
}

/** The pod is Running but storage has no metrics for it; the name is "<namespace>/<name>". */
export function podMetricsNotFound(namespace: string, name: string): TextResponse {
  return notFound("podmetrics", "metrics.k8s.io", `${namespace}/${name}`);
}

/** `?watch=true` on a list: the metrics storages implement no watch. */
export function watchNotSupported(resource: string): TextResponse {
  return statusResponse(
    405,
    "MethodNotAllowed",
    `watch is not supported on resources of kind ${goQuote(`${resource}.metrics.k8s.io`)}`,
    { group: "metrics.k8s.io", kind: resource },
  );
}
