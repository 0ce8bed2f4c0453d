// The generic apiserver's max-in-flight and request-timeout filters (k8s.io/apiserver
// pkg/server/filters/maxinflight.go and timeout.go), for --max-requests-inflight,
// --max-mutating-requests-inflight and --request-timeout.
//
// A request holds its in-flight slot until its response is closed, not merely until the handler
// has queued the body: a Go handler blocks in Write while a client does not read, so a stalled
// stream keeps counting there too, and that is what bounds the memory stalled clients can pin.
import type http2 from "node:http2";
import { constants as h2 } from "node:http2";
import type { Socket } from "node:net";
import type { InflightKind } from "./monitoring.ts";
import { watchRequested } from "./request-info.ts";
import { type Res, send, TEXT_TYPE } from "./response.ts";

/** user.SystemPrivilegedGroup: always served, even beyond the limit ("a super-admin or a loopback connection"). */
export const PRIVILEGED_GROUP = "system:masters";

/**
 * The generic apiserver's default LongRunningFunc (server/config.go BasicLongRunningRequestCheck
 * with the verb "watch" and no subresources): a resource request that asks to watch. Long-running
 * requests are neither limited nor timed out. (Its other case, /debug/pprof/, is not served here.)
 */
export function isLongRunning(method: string, pathname: string, query: URLSearchParams): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  const resourcePath = pathname.startsWith("/apis/") || pathname.startsWith("/api/");
  if (!resourcePath) return false;
  return watchRequested(query) || /^\/apis?\/(?:[^/]+\/)*watch\//.test(pathname);
}

/** Counts requests in flight per kind against a limit each; 0 means no limit for that kind. */
export class InflightLimiter {
  readonly #limits: Record<InflightKind, number>;
  readonly #counts: Record<InflightKind, number> = { readOnly: 0, mutating: 0 };

  constructor(readOnlyLimit: number, mutatingLimit: number) {
    this.#limits = { readOnly: readOnlyLimit, mutating: mutatingLimit };
  }

  /** A slot, released by calling the returned function (once), or undefined when the kind is full. */
  tryAcquire(kind: InflightKind): (() => void) | undefined {
    const limit = this.#limits[kind];
    if (limit === 0) return () => {};
    if (this.#counts[kind] >= limit) return undefined;
    this.#counts[kind]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#counts[kind]--;
    };
  }

  inflight(kind: InflightKind): number {
    return this.#counts[kind];
  }
}

/**
 * Whether the response's stream or connection is closed, after which "close" no longer comes. The
 * HTTP/2 compat response has no closed/destroyed of its own: its stream does.
 */
export function responseClosed(res: Res): boolean {
  const stream = (res as { stream?: http2.ServerHttp2Stream }).stream;
  if (stream) return stream.closed || stream.destroyed;
  return res.closed || res.destroyed;
}

/** Calls `f` once, when the response closes (or now, when it already has). */
export function onResponseClosed(res: Res, f: () => void): void {
  if (responseClosed(res)) f();
  else res.once("close", f);
}

/** maxinflight.go tooManyRequests: Go's http.Error, a plain-text line, with Retry-After: 1. */
export function sendTooManyRequests(res: Res): void {
  res.setHeader("retry-after", "1");
  send(res, 429, TEXT_TYPE, "Too many requests, please try again later.\n");
}

/**
 * timeout.go's answer when the handler has written nothing: apierrors.NewTimeoutError encoded as it
 * is (no kind or apiVersion: the error's Status has no TypeMeta) after WriteHeader(504) with no
 * Content-Type, which Go's server then sniffs from the JSON text as text/plain.
 */
export const TIMEOUT_BODY =
  '{"metadata":{},"status":"Failure","message":"Timeout: request did not complete within the allotted timeout",' +
  '"reason":"Timeout","details":{},"code":504}\n';

/**
 * Ends `res` if it is still open after `ms` (0: never): with the timeout Status when nothing was
 * written yet; otherwise as Go does when the timed-out handler has written (a panic with
 * ErrAbortHandler): RST_STREAM INTERNAL_ERROR on HTTP/2, the connection closed on HTTP/1.1.
 * Returns a function that disarms the timer; the timer is also disarmed when the response closes.
 */
export function armRequestTimeout(res: Res, ms: number, onTimeout?: () => void): () => void {
  if (ms <= 0) return () => {};
  const timer = setTimeout(() => {
    onTimeout?.();
    const stream = (res as { stream?: http2.ServerHttp2Stream }).stream;
    if (!res.headersSent) {
      send(res, 504, TEXT_TYPE, TIMEOUT_BODY);
      return;
    }
    if (stream) stream.close(h2.NGHTTP2_INTERNAL_ERROR);
    else (res.socket as Socket | null)?.destroy();
  }, ms);
  timer.unref();
  // Not on "finish": a body queued for a client that does not read is still in flight.
  const disarm = (): void => clearTimeout(timer);
  onResponseClosed(res, disarm);
  return disarm;
}
