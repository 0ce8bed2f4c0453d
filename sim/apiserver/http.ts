// Request bodies and JSON responses, errors as kube-apiserver's Status objects.

import type { IncomingMessage, ServerResponse } from "node:http";
import YAML from "yaml";
import { ApiError } from "../state/index.ts";

const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** A decoded JSON value as an object ({} for anything else), to read optional fields from. */
export function rec(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function statusBody(err: ApiError): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: err.message,
    reason: err.reason,
    ...(err.details ? { details: err.details } : {}),
    code: err.code,
  };
}

export function writeJson(res: ServerResponse, code: number, body: unknown): void {
  writeJsonBytes(res, code, Buffer.from(JSON.stringify(body)));
}

export function writeJsonBytes(res: ServerResponse, code: number, body: Buffer): void {
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": body.length });
  res.end(body);
}

export function writeStatus(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeJson(res, err.code, statusBody(err));
}

export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, "RequestEntityTooLarge", "request entity too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const type = String(req.headers["content-type"] ?? "application/json");
  if (/protobuf|cbor/i.test(type)) {
    // kube-apiserver also speaks these; the simulator only JSON and YAML.
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
    );
  }
  try {
    return type.includes("yaml") ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, "BadRequest", `the request body could not be decoded: ${(err as Error).message}`);
  }
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
    {},
  );
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded by a proxy (the aggregator, the service
// proxy); neither are the caller's credentials.
/** Request headers a proxy of this API server drops. */
export const PROXY_DROP_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "authorization",
]);
/** Response headers a proxy of this API server drops. */
export const PROXY_DROP_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
