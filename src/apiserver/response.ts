// Writing responses: whole bodies, Status errors, and bodies that come in chunks (large lists and
// the /metrics exposition), written at the pace the client reads them.
import type http2 from "node:http2";
import type { Registry } from "prom-client";
import { JSON_CONTENT_TYPE, statusJSON } from "./status.ts";

export const TEXT_TYPE = "text/plain; charset=utf-8";

export type Req = http2.Http2ServerRequest;
export type Res = http2.Http2ServerResponse;

/** Writes a whole body; returns its length in bytes. */
export function send(res: Res, status: number, contentType: string, body: string | Buffer): number {
  const buf = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": buf.length,
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache, private",
  });
  res.end(buf);
  return buf.length;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Writes a body that comes in chunks (a large list): no content-length (HTTP/1.1 uses chunked
 * encoding), one chunk at a time. After each chunk it waits for the client to drain when the stream's
 * buffer is full, and otherwise still yields to the event loop, so other requests (the HPA's small
 * lists) are served between the chunks of a big one. Stops early when the client goes away.
 *
 * The status line and headers go out with the first byte of the body, not before: a body whose
 * first steps produce nothing (a protobuf list is encoded whole before its length-prefixed head)
 * that then fails rejects with nothing sent, so the caller can still answer with a Status.
 *
 * Resolves to the body's length: bytes for Buffers, and for strings their length, which is their
 * byte count as these bodies are ASCII (names and labels are, by Kubernetes validation); measuring
 * UTF-8 would scan every chunk once more for a number only ever put into decade-wide buckets.
 */
export async function sendChunked(
  res: Res,
  status: number,
  contentType: string,
  head: string | Buffer,
  chunks: Iterable<string | Buffer>,
): Promise<number> {
  let headersWritten = false;
  let bytes = 0;
  const writeHeadOnce = (): void => {
    if (headersWritten) return;
    headersWritten = true;
    res.writeHead(status, {
      "content-type": contentType,
      "x-content-type-options": "nosniff",
      "cache-control": "no-cache, private",
    });
  };
  const write = (piece: string | Buffer): boolean => {
    writeHeadOnce();
    bytes += piece.length;
    return res.write(piece);
  };
  // The HTTP/2 compat response has no destroyed/closed of its own: its stream does.
  const h2stream = (res as { stream?: http2.ServerHttp2Stream }).stream;
  const target = h2stream ?? res;
  const gone = (): boolean =>
    res.writableEnded || (h2stream ? h2stream.destroyed || h2stream.closed : res.destroyed);
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      if (gone()) return resolve();
      const done = (): void => {
        res.off("drain", done);
        target.off("close", done);
        target.off("error", done);
        resolve();
      };
      res.on("drain", done);
      target.on("close", done);
      target.on("error", done);
    });
  const iterator = chunks[Symbol.iterator]();
  try {
    if (head.length > 0 && !write(head)) await drained();
    for (;;) {
      if (gone()) return bytes;
      const next = iterator.next();
      if (next.done) break;
      const chunk = next.value;
      if (chunk.length > 0 && !write(chunk)) await drained();
      else await yieldToEventLoop();
    }
    if (gone()) return bytes;
    writeHeadOnce();
    res.end();
    return bytes;
  } finally {
    // An abandoned list releases its generator (and whatever it holds) right away.
    iterator.return?.();
  }
}

/**
 * GET /metrics: the registry's families (small, rendered at once), then the appended ones streamed
 * chunk by chunk, so a Prometheus scrape at 5,000 nodes does not hold the event loop for the whole
 * exposition. The appended families follow after a blank line, as prom-client separates families.
 */
export async function sendMetrics(
  res: Res,
  registry: Registry,
  appended?: () => Iterable<string>,
): Promise<number> {
  const head = await registry.metrics();
  // Timed out (inflight.ts answered) while the registry rendered.
  if (res.headersSent) return 0;
  if (!appended) return send(res, 200, registry.contentType, head);
  return sendChunked(res, 200, registry.contentType, head + "\n", appended());
}

export function sendStatus(res: Res, code: number, reason: string, message: string): number {
  return send(res, code, JSON_CONTENT_TYPE, statusJSON(code, reason, message));
}
