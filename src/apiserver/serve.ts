// The HTTPS listener: node:http2 with HTTP/1.1 fallback (kube-apiserver's aggregator proxy speaks
// HTTP/2 when it can; kubectl and probes often use HTTP/1.1). No framework: one dispatch function.
//
// Every request goes through RequestAuth (auth/types.ts), health paths included: the listener only
// reports what it saw, client certificate chain included, unverified. TLS therefore asks for a client
// certificate but accepts any, so the auth side can verify against CAs that rotate without a restart.
// Connection limits: limits.ts.
import { constants as cryptoConstants } from "node:crypto";
import http2 from "node:http2";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import * as log from "../log/index.ts";
import {
  certificateNames,
  nodeMinVersion,
  opensslCipherList,
  sniMatcher,
  watchCertKeyPair,
} from "./certs/index.ts";
import { createDispatcher, type DispatchOptions } from "./dispatch.ts";
import { DEFAULT_LIMITS, type ServeLimits } from "./limits.ts";
import { observeTlsHandshakeError } from "./monitoring.ts";
import type { Req, Res } from "./response.ts";
import { trackConnections } from "./shutdown.ts";
import { JSON_CONTENT_TYPE, statusJSON } from "./status.ts";

export interface ServeOptions extends DispatchOptions {
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
  limits?: Partial<ServeLimits>;
  /** --tls-sni-cert-key pairs, already read; `names` empty = the names in the certificate. */
  sniCertKeys?: readonly SniCertKey[];
}

export interface SniCertKey {
  names: readonly string[];
  cert: Buffer;
  key: Buffer;
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
        `HTTP/1.1 ${status} ${text}\r\ncontent-type: ${JSON_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
      // Give the client a moment to read the answer, then drop whatever it is still sending.
      setTimeout(() => socket.destroy(), 1000).unref();
    } else {
      socket.destroy();
    }
  });
}

/** A token bucket of early stream resets, one per HTTP/2 session. */
class EarlyResets {
  readonly #burst: number;
  readonly #perMs: number;
  #tokens: number;
  #at = performance.now();

  constructor(limits: ServeLimits) {
    this.#burst = limits.http2EarlyResetBurst;
    this.#perMs = limits.http2EarlyResetsPerSecond / 1000;
    this.#tokens = this.#burst;
  }

  allow(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

/**
 * Node ends a session whose client floods it (more than maxSessionRejectedStreams streams opened past
 * the concurrency limit, as a rapid reset does, or more than maxSessionInvalidFrames bad frames) by
 * failing an nghttp2 callback, and then sends GOAWAY INTERNAL_ERROR. Go's server answers a flood
 * with ENHANCE_YOUR_CALM, which tells the client it is at fault: send that instead.
 */
function calmOnFlood(session: http2.ServerHttp2Session): void {
  const destroy = session.destroy.bind(session);
  session.destroy = (error?: Error, code?: number): void => {
    const flood =
      code === undefined && (error as { errno?: number } | undefined)?.errno === NGHTTP2_ERR_CALLBACK_FAILURE;
    if (flood)
      log
        .V(2)
        .info("HTTP/2 client flooded its connection, closing it", { remote: session.socket?.remoteAddress });
    destroy(error, flood ? http2.constants.NGHTTP2_ENHANCE_YOUR_CALM : code);
  };
}

// nghttp2.h: a callback failed (Node's errno for "The user callback function failed").
const NGHTTP2_ERR_CALLBACK_FAILURE = -902;

/**
 * HTTP/2 sessions: closed when no stream has been open for a while (or none was ever completed), and
 * with GOAWAY ENHANCE_YOUR_CALM when the client resets more streams than EarlyResets allows.
 */
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
    calmOnFlood(session);
    const resets = new EarlyResets(limits);
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      open++;
      clearTimeout(timer);
      // Node surfaces only some of a flood's streams (nghttp2 drops those reset before their headers
      // are handled); each of those closes with the client's RST_STREAM code.
      stream.once("close", () => {
        if (stream.rstCode === http2.constants.NGHTTP2_NO_ERROR || session.destroyed || resets.allow())
          return;
        log.V(2).info("HTTP/2 client reset too many streams, closing its connection", {
          remote: session.socket?.remoteAddress,
        });
        session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        setTimeout(() => session.destroy(), 1000).unref();
      });
      stream.once("close", () => {
        open--;
        if (open === 0 && !session.destroyed) arm(limits.idleTimeoutMs);
      });
    });
    session.once("close", () => clearTimeout(timer));
    session.on("error", (err) => log.V(2).info("HTTP/2 session error", { err: String(err) }));
  });
}

/** The accept queue asked for; the kernel caps it at net.core.somaxconn. */
const LISTEN_BACKLOG = 4096;

/** The server, listening. Closing it (shutdownServer) also stops the certificate reload. */
export async function startServer(opts: ServeOptions): Promise<http2.Http2SecureServer> {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (!(limits.http2MaxConcurrentStreams > 0))
    limits.http2MaxConcurrentStreams = DEFAULT_LIMITS.http2MaxConcurrentStreams;
  const tlsOptions = {
    minVersion: nodeMinVersion(opts.tlsMinVersion),
    ciphers: opensslCipherList(opts.tlsCipherSuites ?? []),
    // Go's server picks the suite by its own preference order, configured or default.
    honorCipherOrder: true,
    // Go's server never renegotiates; Node's lets a client renegotiate tls.CLIENT_RENEG_LIMIT times.
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
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
    // Headers are limited in bytes, as Go's MaxHeaderBytes, never in lines: a front-proxied user may be
    // in a thousand groups (one X-Remote-Group line each). Each HTTP/2 entry counts at least 32 bytes
    // towards maxHeaderListSize, so this many pairs never binds before the bytes do.
    maxHeaderListPairs: Math.ceil(limits.maxHeaderBytes / 32),
    settings: {
      maxConcurrentStreams: limits.http2MaxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
    },
  } as http2.SecureServerOptions);
  // HTTP/1.1: Node's parser answers 431 past maxHeadersCount lines (default 1000) whatever their size.
  // maxHeaderSize counts only names and values, so the lines are capped at what Go's byte limit
  // (request line and headers, raw) could hold: a shortest line, "a:\r\n", is 4 bytes.
  (server as unknown as { maxHeadersCount: number }).maxHeadersCount = Math.ceil(limits.maxHeaderBytes / 4);
  guardHttp1(server, limits);
  guardHttp2(server, limits);
  trackConnections(server);
  server.on("request", createDispatcher(opts, limits));
  // A misbehaving client must not take the process down.
  server.on("sessionError", (err) => log.V(2).info("HTTP/2 session error", { err: String(err) }));
  server.on("tlsClientError", (err) => {
    observeTlsHandshakeError();
    log.V(4).info("TLS handshake error", { err: String(err) });
  });

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
    // Go's listener asks for the kernel's somaxconn (4096 on current kernels); Node's default of 511
    // overflows when hundreds of clients connect at once (a rollout, a load test).
    server.listen({ port: opts.port, host: opts.bindAddress, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
