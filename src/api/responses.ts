// Successful metrics responses and the 500 a failing cache turns into, shared by nodes.ts, pods.ts and
// the streamed lists.

import { type ApiResponse, internalError, JSON_CONTENT_TYPE } from "../apiserver/index.ts";
import * as log from "../log/index.ts";
import { type Negotiation, PROTOBUF_MEDIA_TYPE } from "./negotiation.ts";

/** The representation chosen for an object response (never "not-acceptable" here). */
export type ObjectFormat = Exclude<Negotiation, { representation: "not-acceptable" }>;

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function jsonResponse(body: string): ApiResponse {
  return { status: 200, contentType: JSON_CONTENT_TYPE, body };
}

export function protobufResponse(bytes: Uint8Array): ApiResponse {
  return {
    status: 200,
    contentType: PROTOBUF_MEDIA_TYPE,
    body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}

export function protobufChunksResponse(chunks: Iterable<Buffer>): ApiResponse {
  return { status: 200, contentType: PROTOBUF_MEDIA_TYPE, body: Buffer.alloc(0), chunks };
}

export function listerFailure(what: string, err: unknown): ApiResponse {
  log.error(err, "Failed listing objects for the metrics API", { what });
  return internalError(`${what}: ${errorText(err)}`);
}
