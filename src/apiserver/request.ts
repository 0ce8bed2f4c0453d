// Reading requests: the client's certificate chain (as sent, unverified), plain headers, and the body,
// drained and dropped (the API is read-only) within the limits.
import { X509Certificate } from "node:crypto";
import http2 from "node:http2";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import * as log from "../log/index.ts";
import type { Req, Res } from "./response.ts";

/** The TLS socket a request arrived on (HTTP/2 streams share their session's socket). */
export function tlsSocketOf(req: Req): TLSSocket {
  if (req.httpVersionMajor === 2) return req.stream.session?.socket as TLSSocket;
  return req.socket as unknown as TLSSocket;
}

// A connection's chain is fixed after the handshake: convert it once, not per request.
const peerChains = new WeakMap<TLSSocket, readonly X509Certificate[]>();

/** The client's certificate chain as sent, leaf first; never verified here (see auth/types.ts). */
export function peerCertificates(socket: TLSSocket | undefined): readonly X509Certificate[] {
  if (!socket || typeof socket.getPeerCertificate !== "function") return [];
  const cached = peerChains.get(socket);
  if (cached) return cached;
  const chain: X509Certificate[] = [];
  try {
    const seen = new Set<unknown>();
    let c = socket.getPeerCertificate(true);
    // The detailed form links issuerCertificate up the chain; a self-signed root links to itself.
    while (c?.raw && !seen.has(c)) {
      seen.add(c);
      chain.push(new X509Certificate(c.raw));
      c = c.issuerCertificate;
    }
  } catch (err) {
    // An unparsable certificate is as good as none: the auth side then sees an anonymous request.
    log.V(2).info("Ignoring an unreadable client certificate", { err: String(err) });
    chain.length = 0;
  }
  peerChains.set(socket, chain);
  return chain;
}

/**
 * Header names lower-case, HTTP/2 pseudo-headers (":path" …) left out: they are not headers. Built from
 * the raw header lines so that a header sent several times (X-Remote-Group: one line per group, as the
 * aggregator sends them) stays several values; `req.headers` would join them with ", ".
 */
export function plainHeaders(req: Pick<Req, "rawHeaders">): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name.startsWith(":")) continue;
    const value = raw[i + 1];
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

type BodyOutcome = "complete" | "too-large" | "timeout" | "aborted";

/**
 * Reads the request body to its end and drops it, so a connection can carry the next request, while
 * holding nothing in memory. Stops at `max` bytes or after `timeoutMs`.
 */
export function drainBody(req: Req, max: number, timeoutMs: number): Promise<BodyOutcome> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve("too-large");
  if (req.readableEnded || req.complete) return Promise.resolve("complete");
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (outcome: BodyOutcome): void => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("aborted", onAborted);
      req.off("error", onAborted);
      if (outcome !== "complete") req.pause();
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > max) finish("too-large");
    };
    const onEnd = (): void => finish("complete");
    const onAborted = (): void => finish("aborted");
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("aborted", onAborted);
    req.on("error", onAborted);
  });
}

/** After this response the connection (HTTP/1.1) or stream (HTTP/2) is not read any further. */
export function closeAfterResponse(req: Req, res: Res): void {
  if (req.httpVersionMajor === 2) {
    // The compat response's "finish" waits for the stream to close, which a client still sending never
    // does; the stream's own "finish" means our side is written.
    req.stream.once("finish", () => req.stream.close(http2.constants.NGHTTP2_NO_ERROR));
  } else {
    res.setHeader("connection", "close");
    res.on("finish", () => (req.socket as unknown as Socket).destroySoon());
  }
}
