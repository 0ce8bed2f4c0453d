// metav1.Status error bodies, byte-compatible with what kube-apiserver's generic server writes:
// key order kind, apiVersion, metadata, status, message, reason, details, code; details key order
// name, group, kind, causes (each: reason, message, field); Go's `omitempty` drops empty strings and
// empty lists (an all-empty details is still `{}`).

import { goJSONString, goQuote } from "../go/index.ts";
import type { TextResponse } from "./types.ts";

/** metav1.StatusCause: reason is a CauseType, field the part of the object it concerns. */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: readonly StatusCause[];
}

function causeJSON(c: StatusCause): string {
  const parts: string[] = [];
  if (c.reason) parts.push(`"reason":${goJSONString(c.reason)}`);
  if (c.message) parts.push(`"message":${goJSONString(c.message)}`);
  if (c.field) parts.push(`"field":${goJSONString(c.field)}`);
  return "{" + parts.join(",") + "}";
}

export const JSON_CONTENT_TYPE = "application/json";

function detailsJSON(details: StatusDetails): string {
  const parts: string[] = [];
  if (details.name) parts.push(`"name":${goJSONString(details.name)}`);
  if (details.group) parts.push(`"group":${goJSONString(details.group)}`);
  if (details.kind) parts.push(`"kind":${goJSONString(details.kind)}`);
  if (details.causes?.length) parts.push(`"causes":[${details.causes.map(causeJSON).join(",")}]`);
  return "{" + parts.join(",") + "}";
}

/**
 * A complete Status response body, newline-terminated as Go's json.Encoder writes it. An empty
 * `reason` is omitted (apiserver's fallback for unclassified errors); `details` is omitted when
 * undefined.
 */
export function statusJSON(code: number, reason: string, message: string, details?: StatusDetails): string {
  let body = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":${goJSONString(message)}`;
  if (reason) body += `,"reason":${goJSONString(reason)}`;
  if (details) body += `,"details":${detailsJSON(details)}`;
  return body + `,"code":${code}}\n`;
}

/** statusJSON wrapped as a response. */
export function statusResponse(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): TextResponse {
  return { status: code, contentType: JSON_CONTENT_TYPE, body: statusJSON(code, reason, message, details) };
}

/**
 * apierrors.NewNotFound: `<resource>[.<group>] "<name>" not found`. With causes, their messages
 * follow upstream's, after ": " and joined by "; ", and they are the details' causes.
 */
export function notFound(
  resource: string,
  group: string,
  name: string,
  causes?: readonly StatusCause[],
): TextResponse {
  const qualified = group ? `${resource}.${group}` : resource;
  let message = `${qualified} ${goQuote(name)} not found`;
  if (causes?.length) message += `: ${causes.map((c) => c.message).join("; ")}`;
  return statusResponse(404, "NotFound", message, { name, group, kind: resource, causes });
}

/** A path the server does not serve (go-restful's 404 through the generic server's error handler). */
export function pathNotFound(): TextResponse {
  return statusResponse(404, "NotFound", "the server could not find the requested resource", {});
}

/** A method other than GET on a served path. */
export function methodNotAllowed(): TextResponse {
  return statusResponse(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
    {},
  );
}

export function badRequest(message: string): TextResponse {
  return statusResponse(400, "BadRequest", message);
}

/** No Accept entry names a media type we produce. */
export function notAcceptable(accepted: readonly string[]): TextResponse {
  return statusResponse(
    406,
    "NotAcceptable",
    `only the following media types are accepted: ${accepted.join(", ")}`,
  );
}

/**
 * An unexpected failure. Like apiserver's handling of errors that are not API statuses: code 500,
 * no reason, the error text as message.
 */
export function internalError(message: string): TextResponse {
  return statusResponse(500, "", message);
}
