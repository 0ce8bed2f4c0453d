// HTTP client for the Kubernetes API server on undici: one keep-alive agent, one TLS secure context
// built from the RestConfig (rebuilt when an exec plugin hands out a new client certificate),
// credentials from Credentials with one retry after a 401, JSON GETs and POSTs, and streaming watches.

import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { Agent, type Dispatcher } from "undici";
import { type ClientCertificate, Credentials } from "./credentials.ts";
import type { RestConfig } from "./kubeconfig.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** One event of a watch stream; for `ERROR` the object is a metav1 `Status` (see apiErrorFromStatus). */
export interface WatchEvent<T = unknown> {
  type: WatchEventType;
  object: T;
}

/** A metav1.Status as the API server returns it with errors. */
export interface Status {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { retryAfterSeconds?: number };
}

/** A non-2xx answer from the API server (or an ERROR watch event), with the Status details when given. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  readonly body: Status | undefined;
  /**
   * How long the server asked us to wait before retrying (a 429, or a 5xx with Retry-After), in
   * seconds: the Retry-After header, else the Status's details.retryAfterSeconds, as client-go reads it.
   */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, message: string, reason?: string, body?: Status, retryAfterSeconds?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
    this.body = body;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Turns the Status object of an ERROR watch event into an ApiError (code 500 when the Status has none). */
export function apiErrorFromStatus(status: unknown, context: string): ApiError {
  const s: Status = typeof status === "object" && status !== null ? (status as Status) : {};
  const code = typeof s.code === "number" && s.code > 0 ? s.code : 500;
  const detail = s.message || s.reason || "no details";
  return new ApiError(code, `${context}: ${code}: ${detail}`, s.reason, s);
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  accept?: string;
  signal?: AbortSignal;
}

export interface KubeClientOptions {
  /** Defaults to `metrics-server/<package.json version>`. */
  userAgent?: string;
  /** How long to wait for response headers of non-watch requests (default 60 s). */
  headersTimeoutMs?: number;
  /** Where tokens and client certificates come from; by default built from the RestConfig. */
  credentials?: Credentials;
}

// A single watch event larger than this is certainly garbage, and would otherwise grow without bound.
const MAX_WATCH_LINE_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BODY_CHARS = 4096;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

export const DEFAULT_USER_AGENT = `metrics-server/${packageVersion()}`;

function buildQuery(query: Record<string, string | undefined> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, v);
  const s = params.toString();
  return s ? `?${s}` : "";
}

/** Retry-After in whole seconds (client-go reads only that form, not an HTTP date). */
function retryAfterHeader(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

async function errorFromResponse(
  method: string,
  path: string,
  statusCode: number,
  body: { text(): Promise<string> },
  headers: Record<string, string | string[] | undefined> = {},
): Promise<ApiError> {
  let text = "";
  try {
    text = await body.text();
  } catch {
    // The body is only used for the message; a broken one still leaves the status code.
  }
  let status: Status | undefined;
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && parsed.kind === "Status") status = parsed as Status;
  } catch {
    // Not JSON: fall back to the raw text.
  }
  const detail = status?.message || status?.reason || text.trim().slice(0, MAX_ERROR_BODY_CHARS) || "no body";
  const fromBody = status?.details?.retryAfterSeconds;
  return new ApiError(
    statusCode,
    `${method} ${path}: server returned ${statusCode}: ${detail}`,
    status?.reason,
    status,
    retryAfterHeader(headers["retry-after"]) ??
      (typeof fromBody === "number" && fromBody > 0 ? fromBody : undefined),
  );
}

export class KubeClient {
  /** Shared with whoever else needs the same identity (the kubelet client's bearer token). */
  readonly credentials: Credentials;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly tls: boolean;
  private readonly config: RestConfig;
  private readonly userAgent: string;
  private readonly headersTimeoutMs: number;
  private agent: Agent;
  // The client certificate the current agent presents (compared by identity: Credentials hands out
  // the same Buffers until the certificate changes).
  private agentCert: ClientCertificate | undefined;
  // Agents replaced after a certificate change; they finish their in-flight requests, then close.
  private readonly retiredAgents = new Set<Agent>();
  private closed = false;

  constructor(config: RestConfig, opts: KubeClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(config.server);
    } catch {
      throw new Error(`invalid API server URL ${JSON.stringify(config.server)}`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
      throw new Error(`unsupported API server URL scheme ${url.protocol} in ${config.server}`);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.tls = url.protocol === "https:";
    this.config = config;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.headersTimeoutMs = opts.headersTimeoutMs ?? 60_000;
    this.credentials = opts.credentials ?? new Credentials(config);
    this.agentCert = config.cert && config.key ? { cert: config.cert, key: config.key } : undefined;
    this.agent = this.newAgent(this.agentCert);
  }

  private newAgent(clientCert: ClientCertificate | undefined): Agent {
    const connect: Record<string, unknown> = {};
    if (this.tls) {
      // One secure context for every connection: the CA/cert/key are parsed once.
      connect.secureContext = createSecureContext({
        ca: this.config.ca,
        cert: clientCert?.cert,
        key: clientCert?.key,
      });
      connect.rejectUnauthorized = !this.config.insecureSkipTLSVerify;
      if (this.config.tlsServerName) connect.servername = this.config.tlsServerName;
    }
    return new Agent({ connect, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
  }

  // The agent presenting the current client certificate; rebuilt when an exec plugin hands out a new one.
  private async dispatcher(): Promise<Agent> {
    if (!this.tls) return this.agent;
    const cert = await this.credentials.clientCertificate();
    if (cert?.cert !== this.agentCert?.cert || cert?.key !== this.agentCert?.key) {
      if (this.closed) throw new Error("KubeClient is closed");
      const old = this.agent;
      this.agentCert = cert;
      this.agent = this.newAgent(cert);
      this.retiredAgents.add(old);
      old
        .close()
        .catch(() => {
          // Closing a retired agent can only fail if it was already destroyed by close().
        })
        .finally(() => this.retiredAgents.delete(old));
    }
    return this.agent;
  }

  private async headers(accept: string): Promise<Record<string, string>> {
    const h: Record<string, string> = { accept, "user-agent": this.userAgent };
    const token = await this.credentials.bearerToken();
    if (token) h.authorization = `Bearer ${token}`;
    return h;
  }

  // One GET; on a 401 with rotatable credentials, forget them and try once more (a rotated token or
  // an exec credential the server no longer accepts), as client-go's exec authenticator does.
  private async send(
    path: string,
    query: Record<string, string | undefined> | undefined,
    accept: string,
    signal: AbortSignal | undefined,
    watch: boolean,
    post?: { body: string; headersTimeoutMs?: number; method?: "POST" | "PUT" },
  ): Promise<Dispatcher.ResponseData> {
    const fullPath = this.basePath + path + buildQuery(query);
    const method = post ? (post.method ?? "POST") : "GET";
    for (let attempt = 0; ; attempt++) {
      const agent = await this.dispatcher();
      const headers = await this.headers(accept);
      if (post) headers["content-type"] = "application/json";
      const res = await agent.request({
        origin: this.origin,
        path: fullPath,
        method,
        headers,
        body: post?.body,
        signal,
        headersTimeout: post?.headersTimeoutMs ?? this.headersTimeoutMs,
        // Watches are long-lived and may be quiet for minutes; their length is bounded by timeoutSeconds.
        bodyTimeout: watch ? 0 : undefined,
      });
      if (res.statusCode >= 200 && res.statusCode <= 299) return res;
      if (res.statusCode === 401 && attempt === 0 && this.credentials.rotatable) {
        await res.body.dump().catch(() => {});
        this.credentials.invalidate();
        continue;
      }
      throw await errorFromResponse(method, path, res.statusCode, res.body, res.headers);
    }
  }

  /** GET a path and parse the JSON body. Non-2xx answers throw ApiError. */
  async getJSON<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, opts.query, opts.accept ?? "application/json", opts.signal, false);
    const text = await res.body.text();
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`GET ${path}: response is not valid JSON: ${(err as Error).message}`);
    }
  }

  /**
   * POST a JSON body and parse the JSON answer (e.g. creating a TokenReview or SubjectAccessReview,
   * which the API server answers with the object and its status). Non-2xx answers throw ApiError.
   */
  async postJSON<T>(
    path: string,
    body: unknown,
    opts: RequestOptions & { timeoutMs?: number; onStatus?: (statusCode: number) => void } = {},
  ): Promise<T> {
    const res = await this.send(path, opts.query, opts.accept ?? "application/json", opts.signal, false, {
      body: JSON.stringify(body),
      headersTimeoutMs: opts.timeoutMs,
    });
    opts.onStatus?.(res.statusCode);
    const text = await res.body.text();
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`POST ${path}: response is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** PUT (replace) an object and parse the JSON answer. Non-2xx answers throw ApiError. */
  async putJSON<T>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, opts.query, opts.accept ?? "application/json", opts.signal, false, {
      body: JSON.stringify(body),
      method: "PUT",
    });
    const text = await res.body.text();
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`PUT ${path}: response is not valid JSON: ${(err as Error).message}`);
    }
  }

  /**
   * Starts a watch and yields its events as they arrive (newline-delimited JSON). A non-2xx answer
   * throws ApiError before the first event; `onOpen` runs once the server has accepted the watch.
   * The iteration ends when the server closes the stream.
   */
  async *watch<T = unknown>(
    path: string,
    query: Record<string, string | undefined>,
    accept: string,
    signal?: AbortSignal,
    onOpen?: () => void,
  ): AsyncGenerator<WatchEvent<T>> {
    const res = await this.send(path, query, accept, signal, true);
    onOpen?.();
    const decoder = new TextDecoder("utf-8");
    let pending = "";
    try {
      for await (const chunk of res.body) {
        pending += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const ev = parseWatchLine<T>(line, path);
          if (ev) yield ev;
          nl = pending.indexOf("\n");
        }
        if (pending.length > MAX_WATCH_LINE_BYTES)
          throw new Error(`watch ${path}: event larger than ${MAX_WATCH_LINE_BYTES} bytes`);
      }
      pending += decoder.decode();
      const ev = parseWatchLine<T>(pending, path);
      if (ev) yield ev;
    } finally {
      // Ends the HTTP request when the consumer stops early (break, throw, abort).
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  /** Closes all connections; in-flight requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.agent.destroy(), ...[...this.retiredAgents].map((a) => a.destroy())]);
  }
}

const EVENT_TYPES = new Set<string>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

function parseWatchLine<T>(line: string, path: string): WatchEvent<T> | undefined {
  const trimmed = line.trim();
  if (!trimmed) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (err) {
    throw new Error(`watch ${path}: malformed event: ${(err as Error).message}`);
  }
  const ev = parsed as { type?: unknown; object?: unknown };
  if (!ev || typeof ev !== "object" || typeof ev.type !== "string" || !EVENT_TYPES.has(ev.type))
    throw new Error(`watch ${path}: unable to understand watch event ${trimmed.slice(0, 200)}`);
  return { type: ev.type as WatchEventType, object: ev.object as T };
}
