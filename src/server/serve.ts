// The HTTPS listener: node:http2 with HTTP/1.1 fallback (kube-apiserver's aggregator proxy speaks
// HTTP/2 when it can; kubectl and probes often use HTTP/1.1). No framework: one dispatch function.
//
// Every request goes through RequestAuth (auth-types.ts), health paths included: the listener only
// reports what it saw, client certificate chain included, unverified. TLS therefore asks for a client
// certificate but accepts any, so the auth side can verify against CAs that rotate without a restart.
//
// Hardening follows kube-apiserver's secure serving (1 MiB of headers, a 32 s read-header timeout,
// 90 s idle connections, 250 HTTP/2 streams per connection) plus limits of our own for a read-only
// API: small request bodies and bounded URLs. See ServeLimits.
import { X509Certificate } from "node:crypto";
import http2 from "node:http2";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import type { Registry } from "prom-client";
import { type ApiRequest, type ApiResponse, statusJSON } from "../apiserver/index.ts";
import * as log from "../log/index.ts";
import type { AuthRequest, RequestAuth } from "./auth-types.ts";
import { nodeMinVersion, opensslCipherList, watchCertKeyPair } from "./certs.ts";
import { type HealthEndpoints, serveHealth } from "./health.ts";

export interface ApiHandler {
  handle(req: ApiRequest): ApiResponse | undefined;
}

export interface ServeLimits {
  /** Request line + headers (HTTP/1.1), header list (HTTP/2). Go's http.DefaultMaxHeaderBytes. */
  maxHeaderBytes: number;
  /** Request bodies are read and dropped (the API is read-only); a longer one gets 413. */
  maxBodyBytes: number;
  /** Path + query; a longer URL gets 414. */
  maxUrlBytes: number;
  /** Time to receive a request's headers and body (slowloris); also the TLS handshake timeout. */
  readTimeoutMs: number;
  /** A connection with no request in flight is closed after this long. */
  idleTimeoutMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS (--http2-max-streams-per-connection, 0 = this default). */
  http2MaxConcurrentStreams: number;
}

export const DEFAULT_LIMITS: Readonly<ServeLimits> = {
  maxHeaderBytes: 1 << 20,
  maxBodyBytes: 1 << 20,
  // Far above any selector kubectl or the HPA sends; small enough that parsing it costs nothing.
  maxUrlBytes: 32 << 10,
  readTimeoutMs: 32_000,
  idleTimeoutMs: 90_000,
  http2MaxConcurrentStreams: 250,
};

export interface ServeOptions {
  bindAddress: string;
  port: number;
  cert: Buffer;
  key: Buffer;
  /** When set, the pair is reloaded from these files whenever they change. */
  certFile?: string;
  keyFile?: string;
  /** How often certFile/keyFile are compared with the pair in use (default 5 s). */
  certReloadIntervalMs?: number;
  /** Go name: VersionTLS12 or VersionTLS13 (validated by the options). */
  tlsMinVersion?: string;
  /** Go (IANA) names of the TLS 1.2 suites to offer. */
  tlsCipherSuites?: readonly string[];
  auth: RequestAuth;
  health: HealthEndpoints;
  api: ApiHandler;
  registry: Registry;
  /**
   * Families kept outside the registry (the per-node kubelet series: tens of thousands of lines),
   * rendered lazily in chunks and streamed after the registry's text. Each call starts a new render.
   */
  appendedMetrics?: () => Iterable<string>;
  version: object;
  limits?: Partial<ServeLimits>;
  /** --tls-sni-cert-key pairs, already read; `names` empty = the names in the certificate. */
  sniCertKeys?: readonly SniCertKey[];
}

export interface SniCertKey {
  names: readonly string[];
  cert: Buffer;
  key: Buffer;
}

/** The DNS names (and CN) a certificate serves, for an SNI entry given without names. */
export function certificateNames(certPem: Buffer): string[] {
  const cert = new X509Certificate(certPem);
  const names = (cert.subjectAltName ?? "")
    .split(", ")
    .filter((e) => e.startsWith("DNS:"))
    .map((e) => e.slice(4));
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (names.length === 0 && cn) names.push(cn);
  return names;
}

/**
 * Picks the SNI entry for a server name as Go's NameToCertificate does: an exact name first, then a
 * wildcard for the first label ("*.example.com"); later flags win for the same name, like upstream.
 */
export function sniMatcher<T>(
  entries: readonly { names: readonly string[]; value: T }[],
): (name: string) => T | undefined {
  const byName = new Map<string, T>();
  for (const e of entries) for (const n of e.names) byName.set(n.toLowerCase(), e.value);
  return (name) => {
    const lower = name.toLowerCase().replace(/\.$/, "");
    const exact = byName.get(lower);
    if (exact !== undefined) return exact;
    const dot = lower.indexOf(".");
    return dot > 0 ? byName.get("*" + lower.slice(dot)) : undefined;
  };
}

const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain; charset=utf-8";

type Req = http2.Http2ServerRequest;
type Res = http2.Http2ServerResponse;

function send(res: Res, status: number, contentType: string, body: string | Buffer): void {
  const buf = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": buf.length,
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache, private",
  });
  res.end(buf);
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
 */
export async function sendChunked(
  res: Res,
  status: number,
  contentType: string,
  head: string | Buffer,
  chunks: Iterable<string | Buffer>,
): Promise<void> {
  let headersWritten = false;
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
      if (gone()) return;
      const next = iterator.next();
      if (next.done) break;
      const chunk = next.value;
      if (chunk.length > 0 && !write(chunk)) await drained();
      else await yieldToEventLoop();
    }
    if (gone()) return;
    writeHeadOnce();
    res.end();
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
): Promise<void> {
  const head = await registry.metrics();
  if (!appended) {
    send(res, 200, registry.contentType, head);
    return;
  }
  await sendChunked(res, 200, registry.contentType, head + "\n", appended());
}

function sendStatus(res: Res, code: number, reason: string, message: string): void {
  send(res, code, JSON_TYPE, statusJSON(code, reason, message));
}

/** The TLS socket a request arrived on (HTTP/2 streams share their session's socket). */
function tlsSocketOf(req: Req): TLSSocket {
  if (req.httpVersionMajor === 2) return req.stream.session?.socket as TLSSocket;
  return req.socket as unknown as TLSSocket;
}

// A connection's chain is fixed after the handshake: convert it once, not per request.
const peerChains = new WeakMap<TLSSocket, readonly X509Certificate[]>();

/** The client's certificate chain as sent, leaf first; never verified here (see auth-types.ts). */
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
function drainBody(req: Req, max: number, timeoutMs: number): Promise<BodyOutcome> {
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
function closeAfterResponse(req: Req, res: Res): void {
  if (req.httpVersionMajor === 2) {
    // The compat response's "finish" waits for the stream to close, which a client still sending never
    // does; the stream's own "finish" means our side is written.
    req.stream.once("finish", () => req.stream.close(http2.constants.NGHTTP2_NO_ERROR));
  } else {
    res.setHeader("connection", "close");
    res.on("finish", () => (req.socket as unknown as Socket).destroySoon());
  }
}

export function createDispatcher(
  opts: ServeOptions,
  limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits },
): (req: Req, res: Res) => void {
  return (req, res) => {
    void dispatch(opts, limits, req, res).catch((err: unknown) => {
      log.error(err, "Failed to serve request", { path: req.url });
      if (!res.headersSent) {
        sendStatus(res, 500, "InternalError", "Internal error occurred: " + String(err));
      } else {
        res.destroy();
      }
    });
  };
}

async function dispatch(opts: ServeOptions, limits: ServeLimits, req: Req, res: Res): Promise<void> {
  const rawUrl = req.url ?? "/";
  if (Buffer.byteLength(rawUrl) > limits.maxUrlBytes) {
    // Reason "" is apimachinery's StatusReasonUnknown: there is no Kubernetes reason for 414.
    closeAfterResponse(req, res);
    sendStatus(res, 414, "", `the request URI is too long: limit is ${limits.maxUrlBytes} bytes`);
    return;
  }
  const body = await drainBody(req, limits.maxBodyBytes, limits.readTimeoutMs);
  if (body === "aborted" || res.closed || res.destroyed) return;
  if (body === "timeout") {
    closeAfterResponse(req, res);
    sendStatus(res, 408, "Timeout", "the request body was not received in time");
    return;
  }
  if (body === "too-large") {
    closeAfterResponse(req, res);
    sendStatus(
      res,
      413,
      "RequestEntityTooLarge",
      `Request entity too large: limit is ${limits.maxBodyBytes}`,
    );
    return;
  }

  let url: URL;
  let path: string;
  try {
    url = new URL(rawUrl, "https://metrics-server.invalid");
    path = decodeURIComponent(url.pathname);
  } catch {
    sendStatus(res, 400, "BadRequest", `invalid request URI ${JSON.stringify(rawUrl)}`);
    return;
  }
  const method = req.method ?? "GET";
  const authRequest: AuthRequest = {
    method,
    path,
    query: url.searchParams,
    headers: plainHeaders(req),
    peerCertificates: peerCertificates(tlsSocketOf(req)),
  };
  const decision = await opts.auth.check(authRequest);
  if (!decision.allowed) {
    send(res, decision.status, JSON_TYPE, decision.body);
    return;
  }

  // The non-API endpoints answer reads only, like kube-apiserver's: anything else is 405.
  const readOnly = method === "GET" || method === "HEAD";
  const health = serveHealth(opts.health, url.pathname, url.searchParams);
  if (health || url.pathname === "/metrics" || url.pathname === "/version") {
    if (!readOnly) {
      sendStatus(
        res,
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
      );
    } else if (health) {
      send(res, health.status, TEXT_TYPE, health.body);
    } else if (url.pathname === "/metrics") {
      await sendMetrics(res, opts.registry, opts.appendedMetrics);
    } else {
      send(res, 200, JSON_TYPE, JSON.stringify(opts.version, null, 2));
    }
    return;
  }
  const apiRes = opts.api.handle({
    method,
    path: url.pathname,
    query: url.searchParams,
    accept: req.headers.accept,
  });
  if (apiRes?.chunks) {
    await sendChunked(res, apiRes.status, apiRes.contentType, apiRes.body, apiRes.chunks);
    return;
  }
  if (apiRes) {
    send(res, apiRes.status, apiRes.contentType, apiRes.body);
    return;
  }
  sendStatus(res, 404, "NotFound", "the server could not find the requested resource");
}

/**
 * HTTP/1.1 connections: the read timer runs from the connection's start until a request's headers are
 * in (slowloris), and again from each response's end (keep-alive idle) until the next request.
 */
function guardHttp1(server: http2.Http2SecureServer, limits: ServeLimits): void {
  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  const arm = (socket: Socket, ms: number): void => {
    clearTimeout(timers.get(socket));
    if (socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    timers.set(socket, timer);
  };
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") return;
    arm(socket, limits.readTimeoutMs);
    socket.once("close", () => clearTimeout(timers.get(socket)));
  });
  server.on("request", (req: Req, res: Res) => {
    if (req.httpVersionMajor === 2) return;
    const socket = req.socket as unknown as Socket;
    clearTimeout(timers.get(socket));
    res.once("finish", () => arm(socket, limits.idleTimeoutMs));
  });
  // Parser errors on HTTP/1.1 (oversized headers, garbage): answer once and close. Without this
  // listener Node resets the connection and clients never see the status.
  const answered = new WeakSet<Socket>();
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    const [status, text] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ECONNRESET"
          ? [0, ""]
          : [400, "Bad Request"];
    log.V(4).info("HTTP/1.1 client error", { err: String(err), code: err.code });
    if (status && socket.writable) {
      const body =
        status === 431
          ? statusJSON(431, "", `request headers too large: limit is ${limits.maxHeaderBytes} bytes`)
          : statusJSON(400, "BadRequest", "malformed HTTP request");
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
      // Give the client a moment to read the answer, then drop whatever it is still sending.
      setTimeout(() => socket.destroy(), 1000).unref();
    } else {
      socket.destroy();
    }
  });
}

/** HTTP/2 sessions: closed when no stream has been open for a while (or none was ever completed). */
function guardHttp2(server: http2.Http2SecureServer, limits: ServeLimits): void {
  server.on("session", (session: http2.ServerHttp2Session) => {
    let open = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => session.destroy(), ms);
      timer.unref();
    };
    // Until the first stream's headers are complete this is the header timeout (a HEADERS frame whose
    // CONTINUATION frames trickle in never produces a stream); after that it is the idle timeout.
    arm(limits.readTimeoutMs);
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      open++;
      clearTimeout(timer);
      stream.once("close", () => {
        open--;
        if (open === 0 && !session.destroyed) arm(limits.idleTimeoutMs);
      });
    });
    session.once("close", () => clearTimeout(timer));
    session.on("error", (err) => log.V(2).info("HTTP/2 session error", { err: String(err) }));
  });
}

/** The server, listening. Closing it also stops the certificate reload. */
export async function startServer(opts: ServeOptions): Promise<http2.Http2SecureServer> {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (!(limits.http2MaxConcurrentStreams > 0))
    limits.http2MaxConcurrentStreams = DEFAULT_LIMITS.http2MaxConcurrentStreams;
  const tlsOptions = {
    minVersion: nodeMinVersion(opts.tlsMinVersion),
    ciphers: opensslCipherList(opts.tlsCipherSuites ?? []),
    // Go's server picks the suite by its own order when a list is configured.
    honorCipherOrder: (opts.tlsCipherSuites?.length ?? 0) > 0,
    // Any client certificate gets through the handshake; RequestAuth verifies it per request.
    requestCert: true,
    rejectUnauthorized: false,
  };
  const sniContexts: { names: readonly string[]; value: SecureContext }[] = (opts.sniCertKeys ?? []).map(
    (e) => ({
      names: e.names.length > 0 ? e.names : certificateNames(e.cert),
      value: createSecureContext({ ...tlsOptions, cert: e.cert, key: e.key }),
    }),
  );
  const sni = sniMatcher(sniContexts);
  const server = http2.createSecureServer({
    ...tlsOptions,
    ...(sniContexts.length > 0
      ? {
          SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) =>
            cb(null, sni(name)),
        }
      : {}),
    cert: opts.cert,
    key: opts.key,
    allowHTTP1: true,
    handshakeTimeout: limits.readTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // Node's default of 128 header pairs would refuse users in many groups (one X-Remote-Group each);
    // maxHeaderListSize bounds the bytes anyway.
    maxHeaderListPairs: 4096,
    settings: {
      maxConcurrentStreams: limits.http2MaxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
    },
  } as http2.SecureServerOptions);
  guardHttp1(server, limits);
  guardHttp2(server, limits);
  server.on("request", createDispatcher(opts, limits));
  // A misbehaving client must not take the process down.
  server.on("sessionError", (err) => log.V(2).info("HTTP/2 session error", { err: String(err) }));
  server.on("tlsClientError", (err) => log.V(4).info("TLS handshake error", { err: String(err) }));

  if (opts.certFile && opts.keyFile) {
    const watch = watchCertKeyPair({
      certFile: opts.certFile,
      keyFile: opts.keyFile,
      cert: opts.cert,
      key: opts.key,
      intervalMs: opts.certReloadIntervalMs,
      onChange: (cert, key) => server.setSecureContext({ ...tlsOptions, cert, key }),
    });
    server.once("close", () => watch.stop());
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
