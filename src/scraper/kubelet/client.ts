// HTTP(S) client for kubelets, built on undici. One Agent (one pool per kubelet origin, keep-alive
// across scrape cycles) and one TLS SecureContext shared by every connection, so that 5,000 kubelets
// do not each re-parse the CA bundle and client key. Serving certificates are checked by tls.ts right
// after each handshake, before a request is written (see there for why).
import { STATUS_CODES } from "node:http";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { createSecureContext, type SecureContext, TLSSocket, connect as tlsConnect } from "node:tls";
import { gunzipSync } from "node:zlib";
import { Agent, type buildConnector, type Dispatcher, request } from "undici";
import { acceptableNodeName, checkKubeletCertificate, KubeletCertificateError } from "./tls.ts";

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface KubeletClientOptions {
  /** CA bundle (PEM) for kubelet serving certificates; the system roots when absent. */
  ca?: Buffer;
  /** Client certificate and key (PEM) for mTLS to the kubelet. */
  cert?: Buffer;
  key?: Buffer;
  /**
   * Called per request so a rotated token is picked up (token file, exec credential plugin); may be
   * async. A source that throws fails the request with "getting credentials: ...".
   */
  bearerToken?: () => string | undefined | Promise<string | undefined>;
  /** --kubelet-insecure-tls: do not verify the kubelet's serving certificate. */
  insecureSkipVerify?: boolean;
  /** --deprecated-kubelet-completely-insecure: plain HTTP, no credentials. */
  completelyInsecure?: boolean;
  /** Cap on the (decompressed) body; upstream has none, we bound memory. Default 64 MiB. */
  maxBodyBytes?: number;
  userAgent?: string;
  /** Sockets per kubelet. Default 1: one request per node per tick needs no more. */
  connections?: number;
}

/**
 * A kubelet answered with a status other than 200. The message is upstream's, followed for 401 and 403
 * by what to fix; `status` lets the scraper tell a missing endpoint (404) from other failures.
 */
export class KubeletHttpError extends Error {
  readonly status: number;

  constructor(status: number, path = "") {
    const reason = STATUS_CODES[status];
    const hint = authHint(status, path);
    super(`request failed, status: "${reason ? `${status} ${reason}` : status}"${hint ? `: ${hint}` : ""}`);
    this.name = "KubeletHttpError";
    this.status = status;
  }
}

const RBAC_FIX =
  "the metrics-server's identity needs get on nodes/metrics (and nodes/stats for the Summary API)";

/**
 * Kubelets authenticate bearer tokens with a TokenReview and client certificates against their client
 * CA, then authorize with a SubjectAccessReview on nodes/metrics (paths under /metrics) or nodes/stats
 * (/stats), so 401 and 403 each have one usual cause.
 */
function authHint(status: number, path: string): string {
  const subresource = path.startsWith("/stats") ? "nodes/stats" : "nodes/metrics";
  if (status === 401) {
    return (
      "the kubelet did not authenticate metrics-server: it checks bearer tokens with a TokenReview " +
      "(enable authentication.webhook on kubelets) and client certificates against its client CA " +
      `(--kubelet-client-certificate must be signed by it); once authenticated, ${RBAC_FIX}`
    );
  }
  if (status === 403) {
    return (
      `the kubelet's SubjectAccessReview denied get on ${subresource}: ${RBAC_FIX}; bind it to a ` +
      "ClusterRole with those rules (system:metrics-server in the release manifests)"
    );
  }
  return "";
}

/** "64 MiB" for whole mebibytes, else a byte count. */
function formatLimit(bytes: number): string {
  const mib = 1024 * 1024;
  return bytes % mib === 0 ? `${bytes / mib} MiB` : `${bytes} bytes`;
}

export class KubeletClient {
  readonly #agent: Agent;
  readonly #maxBodyBytes: number;
  readonly #bearerToken: KubeletClientOptions["bearerToken"];
  readonly #userAgent: string | undefined;

  constructor(opts: KubeletClientOptions = {}) {
    const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (!Number.isFinite(maxBodyBytes) || maxBodyBytes <= 0) {
      throw new Error(`maxBodyBytes must be a positive number, got ${maxBodyBytes}`);
    }
    if ((opts.cert === undefined) !== (opts.key === undefined)) {
      throw new Error("kubelet client certificate and key must be given together");
    }
    this.#maxBodyBytes = maxBodyBytes;
    this.#bearerToken = opts.completelyInsecure ? undefined : opts.bearerToken;
    this.#userAgent = opts.userAgent;

    // Verification is on unless explicitly switched off; a truthy non-boolean does not count.
    const skipVerify = opts.insecureSkipVerify === true;
    let secureContext: SecureContext | undefined;
    if (!opts.completelyInsecure) {
      // With insecureSkipVerify the CA is dropped, as upstream does; the client cert still applies.
      secureContext = createSecureContext({
        ca: skipVerify ? undefined : opts.ca,
        cert: opts.cert,
        key: opts.key,
      });
    }
    const connect: buildConnector.connector = (options, callback) => {
      const socket = dialKubelet(options, secureContext, (err) => {
        if (err !== null) return callback(err, null);
        if (skipVerify || !(socket instanceof TLSSocket)) return callback(null, socket);
        // The server name is the node name only when get() set it for a kubelet dialled by IP.
        // (At run time undici passes null when there is none.)
        const nodeName = isIP(options.hostname) !== 0 ? options.servername || undefined : undefined;
        let refused: Error | undefined;
        try {
          refused = checkKubeletCertificate(socket, options.hostname, nodeName);
        } catch (checkErr) {
          // This runs in a socket event handler: a throw here would take the process down.
          refused = new Error(`checking the kubelet serving certificate: ${String(checkErr)}`);
        }
        if (refused === undefined) return callback(null, socket);
        socket.destroy();
        callback(refused, null);
      });
    };
    this.#agent = new Agent({
      connect,
      connections: opts.connections ?? 1,
      pipelining: 1,
      // Longer than the default 60s resolution, so connections survive from one tick to the next.
      keepAliveTimeout: 120_000,
      keepAliveMaxTimeout: 600_000,
      // Deadlines come from the caller's signal; undici's own 300s timers would only add noise.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /**
   * GETs a kubelet URL and returns the (decompressed) body of a 200 response.
   * Transport failures are reported like Go's url.Error: `Get "<url>": <cause>`.
   * `node` is the node the kubelet serves: errors name it, and when the kubelet is dialled by IP its
   * certificate may carry the node name as a DNS SAN instead of the IP (it is also sent as SNI).
   */
  async get(url: string, signal: AbortSignal, node?: string): Promise<Uint8Array> {
    const headers: Record<string, string> = { "accept-encoding": "gzip" };
    if (this.#userAgent) headers["user-agent"] = this.#userAgent;
    const token = await this.#token(url);
    if (token) headers.authorization = `Bearer ${token}`;

    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new Error(`Get "${url}": invalid URL`);
    }
    const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
    // undici passes a request's servername to the connector, and opens a new connection when it changes.
    const options: RequestOptions = { method: "GET", headers, signal, dispatcher: this.#agent };
    if (target.protocol === "https:" && acceptableNodeName(node, host)) options.servername = node;

    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, options);
    } catch (err) {
      if (!isConnectionReset(err) || signal.aborted) throw transportError(url, err, signal, node);
      // A kubelet may close an idle keep-alive connection just as the next tick reuses it. GET is
      // idempotent, so try once more on a fresh connection (Go's transport does the same).
      try {
        response = await request(url, options);
      } catch (retryErr) {
        throw transportError(url, retryErr, signal, node);
      }
    }
    const { statusCode, body } = response;
    if (statusCode !== 200) {
      // Drain a little so the connection can be reused; give up on it if the body is large.
      await body.dump({ limit: 64 * 1024 }).catch(() => {});
      throw new KubeletHttpError(statusCode, target.pathname);
    }
    const declared = Number(response.headers["content-length"]);
    const encoding = String(response.headers["content-encoding"] ?? "").toLowerCase();
    const gzipped = encoding === "gzip" || encoding === "x-gzip";
    if (!gzipped && Number.isFinite(declared) && declared > this.#maxBodyBytes) {
      body.destroy();
      throw this.#limitError();
    }
    let raw: Buffer;
    try {
      // The compressed bytes count against the cap too (gzip never makes a body much larger), so a
      // kubelet streaming endless bytes cannot fill memory before the inflate sees them.
      raw = await this.#readCapped(body);
    } catch (err) {
      body.destroy();
      if (err instanceof LimitExceeded) throw this.#limitError();
      throw transportError(url, err, signal, node);
    }
    if (!gzipped) return raw;
    // One synchronous inflate of the whole body: the scraper thread has nothing else to serve, and a
    // streaming Transform costs a chunk callback, an event and a Buffer per 16 KiB on top of the work.
    // maxOutputLength stops a gzip bomb at the cap instead of after inflating all of it.
    try {
      return gunzipSync(raw, {
        maxOutputLength: this.#maxBodyBytes,
        chunkSize: inflateChunkSize(raw, this.#maxBodyBytes),
      });
    } catch (err) {
      if ((err as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") throw this.#limitError();
      throw new Error(`Get "${url}": decompressing the gzip body: ${inflateMessage(err)}`, { cause: err });
    }
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #token(url: string): Promise<string | undefined> {
    if (!this.#bearerToken) return undefined;
    try {
      const token = await this.#bearerToken();
      return typeof token === "string" ? token : undefined;
    } catch (err) {
      // client-go words a failing credential plugin the same way.
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`Get "${url}": getting credentials: ${message}`, { cause: err });
    }
  }

  #limitError(): Error {
    return new Error(`response from kubelet exceeds ${formatLimit(this.#maxBodyBytes)} limit`);
  }

  // Counts bytes as they arrive and stops reading at the cap, so a huge body never sits in memory.
  async #readCapped(stream: Dispatcher.ResponseData["body"]): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > this.#maxBodyBytes) {
        stream.destroy();
        throw new LimitExceeded();
      }
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  }
}

class LimitExceeded extends Error {}

// undici's request() forwards `servername` to the dispatcher at run time; its typings omit it.
type RequestOptions = { dispatcher: Dispatcher; servername?: string } & Omit<
  Dispatcher.RequestOptions,
  "origin" | "path"
>;

/**
 * Output buffer size for inflating a gzip body in one piece. gunzipSync writes into buffers of
 * chunkSize (16 KiB by default) and concatenates them: a 40 KB kubelet body cost four buffers and a
 * copy. Sized from the gzip trailer's ISIZE (the uncompressed length mod 2^32; one more byte so zlib
 * sees the end before the buffer is full) it takes one buffer and no copy: gunzip of 5,000 such bodies
 * 383-413 → 230-362 ms. ISIZE is only a hint from the kubelet (a multi-member body, or a lie, just
 * takes more chunks), so it may not make us allocate much more than the body could plausibly hold.
 */
function inflateChunkSize(gzipped: Uint8Array, maxBodyBytes: number): number {
  const n = gzipped.length;
  if (n < 18) return MIN_INFLATE_CHUNK; // shorter than a gzip header and trailer: zlib will say so
  const isize =
    (gzipped[n - 4] | (gzipped[n - 3] << 8) | (gzipped[n - 2] << 16) | (gzipped[n - 1] << 24)) >>> 0;
  const ceiling = Math.min(MAX_INFLATE_CHUNK, n * MAX_TRUSTED_RATIO, maxBodyBytes);
  return Math.max(MIN_INFLATE_CHUNK, Math.min(isize + 1, ceiling));
}

/** zlib's smallest chunk (zlib.constants.Z_MIN_CHUNK). */
const MIN_INFLATE_CHUNK = 64;
/** Larger bodies inflate in several chunks of this size, as before. */
const MAX_INFLATE_CHUNK = 1024 * 1024;
/** Prometheus text compresses ~5-15× with gzip; a body claiming more gets no larger first buffer. */
const MAX_TRUSTED_RATIO = 32;

/** zlib's reason for a body that is not valid gzip ("incorrect header check", "unexpected end of file"). */
function inflateMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isConnectionReset(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

function transportError(url: string, err: unknown, signal: AbortSignal, node: string | undefined): Error {
  // On abort, report the signal's reason (e.g. a deadline) rather than undici's generic AbortError.
  const cause = signal.aborted ? signal.reason : err;
  let message =
    cause instanceof KubeletCertificateError
      ? cause.describeFor(node)
      : cause instanceof Error
        ? cause.message
        : String(cause);
  // Node appends advice about its own CA store to TLS errors; it is noise for a kubelet connection.
  message = message.replace(/; if the root CA is installed locally, .*$/s, "");
  if (signal.aborted && !(cause instanceof Error)) message = "context canceled";
  const wrapped = new Error(`Get "${url}": ${message}`, { cause });
  return wrapped;
}

// Go's default dialer timeout; the per-request deadline usually fires first.
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * ALPN "http/1.1", handed to node:tls as a DataView on purpose. node:tls keeps the options of every
 * socket for the socket's life, and turns an array of protocols (what undici's own connector passes)
 * into a small Buffer cut from the shared Buffer pool, 64 KiB in Node 24. Connections opened at
 * different moments each pin a different pool: 5,000 kubelet connections held ~4,700 pools, 295 MiB
 * of the scrape worker's memory. A non-Uint8Array view is copied into a buffer of its own instead.
 */
const ALPN_HTTP11 = new DataView(new Uint8Array([8, ...Buffer.from("http/1.1")]).buffer);

/**
 * Opens one kubelet connection as undici's connector does (no session resumption, TCP keep-alive,
 * no Nagle, a connect timeout), but without its per-socket pooled ALPN buffer (see ALPN_HTTP11).
 * `done` is called once: after the TLS handshake (or TCP connect for http), or with the error.
 * Exported for tests only.
 */
export function dialKubelet(
  options: buildConnector.Options,
  secureContext: SecureContext | undefined,
  done: (err: Error | null) => void,
): Socket {
  const port = Number(options.port) || (options.protocol === "https:" ? 443 : 80);
  const host = options.hostname;
  let socket: Socket;
  if (options.protocol === "https:") {
    socket = tlsConnect({
      host,
      port,
      secureContext,
      // node:tls only records its verdict; checkKubeletCertificate enforces it (see tls.ts).
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      servername: options.servername || (isIP(host) === 0 ? host : undefined),
      // No session resumption: a resumed session has no peer certificate to check, and Go's transport
      // (upstream) does full handshakes too. Connections are kept alive across ticks anyway.
      ALPNProtocols: ALPN_HTTP11,
    });
  } else {
    socket = netConnect({ host, port });
  }
  let pending = true;
  const finish = (err: Error | null): void => {
    if (!pending) return;
    pending = false;
    clearTimeout(timer);
    done(err);
  };
  const timer = setTimeout(() => {
    const err = new Error(
      `Connect Timeout Error (attempted address: ${host}:${port}, timeout: ${CONNECT_TIMEOUT_MS}ms)`,
    );
    (err as { code?: string }).code = "UND_ERR_CONNECT_TIMEOUT";
    socket.destroy(err);
    finish(err);
  }, CONNECT_TIMEOUT_MS);
  socket.setKeepAlive(true, 60_000).setNoDelay(true);
  socket.once(socket instanceof TLSSocket ? "secureConnect" : "connect", () => finish(null));
  socket.on("error", (err) => finish(err));
  return socket;
}
