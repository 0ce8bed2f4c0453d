// One request, start to end: bounded URL and body, authentication and authorization (health paths
// included: allowing them is the auth side's call), then health, /metrics, /version or the API.
import type { Registry } from "prom-client";
import * as log from "../log/index.ts";
import type { AuthRequest, RequestAuth } from "./auth/index.ts";
import { type HealthEndpoints, serveHealth } from "./health.ts";
import type { ServeLimits } from "./limits.ts";
import { closeAfterResponse, drainBody, peerCertificates, plainHeaders, tlsSocketOf } from "./request.ts";
import { type Req, type Res, send, sendChunked, sendMetrics, sendStatus, TEXT_TYPE } from "./response.ts";
import { JSON_CONTENT_TYPE } from "./status.ts";
import type { ApiRequest, ApiResponse } from "./types.ts";

export interface ApiHandler {
  handle(req: ApiRequest): ApiResponse | undefined;
}

/** What a request is answered with, beyond the listener itself. */
export interface DispatchOptions {
  auth: RequestAuth;
  health: HealthEndpoints;
  api: ApiHandler;
  registry: Registry;
  /**
   * Families kept outside the registry (the per-node kubelet series: tens of thousands of lines),
   * rendered lazily in chunks and streamed after the registry's text. Each call starts a new render.
   */
  appendedMetrics?: () => Iterable<string>;
  /** The /version body. */
  version: object;
}

export function createDispatcher(opts: DispatchOptions, limits: ServeLimits): (req: Req, res: Res) => void {
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

async function dispatch(opts: DispatchOptions, limits: ServeLimits, req: Req, res: Res): Promise<void> {
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
    // A target is a path (Go's url.ParseRequestURI): "//x/livez" is the path "//x/livez", not host x
    // and path /livez as a URL parser reads it; "/." before it keeps the parser on the path.
    url = new URL(rawUrl.startsWith("//") ? `/.${rawUrl}` : rawUrl, "https://metrics-server.invalid");
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
    send(res, decision.status, JSON_CONTENT_TYPE, decision.body);
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
      send(res, 200, JSON_CONTENT_TYPE, JSON.stringify(opts.version, null, 2));
    }
    return;
  }
  let apiRes = opts.api.handle({
    method,
    path: url.pathname,
    query: url.searchParams,
    accept: req.headers.accept,
  });
  if (apiRes?.refine) {
    apiRes = await apiRes.refine();
    if (res.closed || res.destroyed) return;
  }
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
