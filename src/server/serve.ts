// The HTTPS listener: node:http2 with HTTP/1.1 fallback (kube-apiserver's aggregator proxy speaks
// HTTP/2 when it can; kubectl and probes often use HTTP/1.1). No framework: one dispatch function.
//
// Authentication in this version: a request must present a client certificate that verifies
// against --client-ca-file or --requestheader-client-ca-file (the aggregator's front-proxy cert).
// Anonymous requests get 401, except the health paths (upstream's always-allow paths), which
// kubelet probes call without credentials. Delegated authn/authz (TokenReview, SAR) come later.
import http2 from "node:http2";
import type { TLSSocket } from "node:tls";
import type { Registry } from "prom-client";
import { type ApiRequest, type ApiResponse, statusJSON } from "../api/index.ts";
import * as log from "../log/index.ts";
import { type HealthEndpoints, serveHealth } from "./health.ts";

export interface ApiHandler {
  handle(req: ApiRequest): ApiResponse | undefined;
}

export interface ServeOptions {
  bindAddress: string;
  port: number;
  cert: Buffer;
  key: Buffer;
  /** CAs whose client certificates are accepted (client-ca-file, requestheader-client-ca-file). */
  clientCAs: Buffer[];
  health: HealthEndpoints;
  api: ApiHandler;
  registry: Registry;
  version: object;
  alwaysAllowPaths: readonly string[];
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

function isAllowedWithoutAuth(path: string, allow: readonly string[]): boolean {
  for (const p of allow) {
    if (p === path) return true;
    if (p.endsWith("*") && path.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

export function createDispatcher(opts: ServeOptions): (req: Req, res: Res) => void {
  return (req, res) => {
    void dispatch(opts, req, res).catch((err: unknown) => {
      log.error(err, "Failed to serve request", { path: req.url });
      if (!res.headersSent) {
        send(
          res,
          500,
          JSON_TYPE,
          statusJSON(500, "InternalError", "Internal error occurred: " + String(err)),
        );
      } else {
        res.destroy();
      }
    });
  };
}

async function dispatch(opts: ServeOptions, req: Req, res: Res): Promise<void> {
  req.resume(); // GET-only API: drain any body so the stream can finish.
  const rawUrl = req.url ?? "/";
  let url: URL;
  try {
    url = new URL(rawUrl, "https://metrics-server.invalid");
  } catch {
    send(res, 400, JSON_TYPE, statusJSON(400, "BadRequest", `invalid request URI ${JSON.stringify(rawUrl)}`));
    return;
  }
  const path = url.pathname;

  if (!isAllowedWithoutAuth(path, opts.alwaysAllowPaths)) {
    const socket = req.socket as unknown as TLSSocket;
    if (!socket.authorized) {
      send(res, 401, JSON_TYPE, statusJSON(401, "Unauthorized", "Unauthorized"));
      return;
    }
  }

  const health = serveHealth(opts.health, path, url.searchParams);
  if (health) {
    send(res, health.status, TEXT_TYPE, health.body);
    return;
  }
  if (path === "/metrics") {
    send(res, 200, opts.registry.contentType, await opts.registry.metrics());
    return;
  }
  if (path === "/version") {
    send(res, 200, JSON_TYPE, JSON.stringify(opts.version, null, 2));
    return;
  }
  const apiRes = opts.api.handle({
    method: req.method ?? "GET",
    path,
    query: url.searchParams,
    accept: req.headers.accept,
  });
  if (apiRes) {
    send(res, apiRes.status, apiRes.contentType, apiRes.body);
    return;
  }
  send(res, 404, JSON_TYPE, statusJSON(404, "NotFound", "the server could not find the requested resource"));
}

export async function startServer(opts: ServeOptions): Promise<http2.Http2SecureServer> {
  const server = http2.createSecureServer({
    allowHTTP1: true,
    cert: opts.cert,
    key: opts.key,
    ca: opts.clientCAs.length > 0 ? opts.clientCAs : undefined,
    requestCert: true,
    // Unverified clients are still let in at the TLS layer so health probes work; dispatch() rejects
    // them with a Kubernetes Status body, which is what clients expect from an API server.
    rejectUnauthorized: false,
  });
  server.on("request", createDispatcher(opts));
  // A misbehaving client must not take the process down.
  server.on("sessionError", (err) => log.V(2).info("HTTP/2 session error", { err: String(err) }));
  server.on("tlsClientError", (err) => log.V(4).info("TLS handshake error", { err: String(err) }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
