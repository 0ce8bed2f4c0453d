// The metrics.k8s.io NotFound and MethodNotAllowed bodies, as upstream's storages return them; a
// NotFound may carry causes after upstream's message (explained.ts).

import { notFound, type StatusCause, statusResponse, type TextResponse } from "../apiserver/index.ts";
import { goQuote } from "../go/index.ts";

/** The node informer has no such node (the lister's NotFound uses resource "node"). */
export function nodeNotFound(name: string, causes?: readonly StatusCause[]): TextResponse {
  return notFound("node", "", name, causes);
}

/** The node exists but storage has no metrics for it. */
export function nodeMetricsNotFound(name: string, causes?: readonly StatusCause[]): TextResponse {
  return notFound("nodemetrics", "metrics.k8s.io", name, causes);
}

/** The pod is not in the Running-pod cache. */
export function podNotFound(name: string, causes?: readonly StatusCause[]): TextResponse {
  return notFound("pods", "", name, causes);
}

/** The pod is Running but storage has no metrics for it; the name is "<namespace>/<name>". */
export function podMetricsNotFound(
  namespace: string,
  name: string,
  causes?: readonly StatusCause[],
): TextResponse {
  return notFound("podmetrics", "metrics.k8s.io", `${namespace}/${name}`, causes);
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
