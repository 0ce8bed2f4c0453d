// One request, start to end: bounded URL and body, the request timeout, authentication and
// authorization (health paths included: allowing them is the auth side's call), the in-flight
// limit (inflight.ts), then health, /metrics, /version or the API,
// observed once in the generic API server's request families (monitoring.ts) when a route that
// upstream instruments served it (request-info.ts).
import type { Registry } from "prom-client";
import * as log from "../log/index.ts";
import type { AuthRequest, RequestAuth } from "./auth/index.ts";
import { type HealthEndpoints, serveHealth } from "./health.ts";
import {
  armRequestTimeout,
  InflightLimiter,
  isLongRunning,
  onResponseClosed,
  PRIVILEGED_GROUP,
  responseClosed,
  sendTooManyRequests,
} from "./inflight.ts";
import type { ServeLimits } from "./limits.ts";
import {
  inflightEnded,
  inflightKind,
  inflightStarted,
  observeRequest,
  requestDropped,
} from "./monitoring.ts";
import { closeAfterResponse, drainBody, peerCertificates, plainHeaders, tlsSocketOf } from "./request.ts";
import { RequestRoutes, type ServedResource } from "./request-info.ts";
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
  /**
   * The resources the API handler serves (get and list): their routes are counted in
   * apiserver_request_total and its siblings under their group, version and resource.
   */
  resources?: readonly ServedResource[];
}

export function createDispatcher(opts: DispatchOptions, limits: ServeLimits): (req: Req, res: Res) => void {
  const routes = new RequestRoutes(opts.resources ?? []);
  const inflight = new InflightLimiter(limits.maxRequestsInflight, limits.maxMutatingRequestsInflight);
  return (req, res) => {
    void dispatch(opts, routes, limits, inflight, req, res).catch((err: unknown) => {
      log.error(err, "Failed to serve request", { path: req.url });
      if (!res.headersSent) {
        sendStatus(res, 500, "InternalError", "Internal error occurred: " + String(err));
      } else {
        res.destroy();
      }
    });
  };
}

async function dispatch(
  opts: DispatchOptions,
  routes: RequestRoutes,
  limits: ServeLimits,
  inflight: InflightLimiter,
  req: Req,
  res: Res,
): Promise<void> {
  const receivedMs = performance.now();
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
  // The timeout filter sits outside authentication, the in-flight limit after it: a slow
  // SubjectAccessReview counts against the timeout but not against the limit.
  const longRunning = isLongRunning(method, url.pathname, url.searchParams);
  if (!longRunning) armRequestTimeout(res, limits.requestTimeoutMs);
  const authRequest: AuthRequest = {
    method,
    path,
    query: url.searchParams,
    headers: plainHeaders(req),
    peerCertificates: peerCertificates(tlsSocketOf(req)),
  };
  const decision = await opts.auth.check(authRequest);
  // Timed out (answered) or gone while the auth side was asked.
  if (res.headersSent || responseClosed(res)) return;
  if (!decision.allowed) {
    send(res, decision.status, JSON_CONTENT_TYPE, decision.body);
    return;
  }

  const kind = inflightKind(method, url.pathname);
  if (!longRunning) {
    // Upstream runs this filter before authorization; here the auth side decides both at once, so
    // a request that would be refused anyway gets its 403 rather than a 429.
    const release =
      inflight.tryAcquire(kind) ?? (decision.user.groups.includes(PRIVILEGED_GROUP) ? () => {} : undefined);
    if (!release) {
      requestDropped(kind);
      sendTooManyRequests(res);
      return;
    }
    onResponseClosed(res, release);
  }
  inflightStarted(kind);
  let answer: Answer;
  try {
    answer = await serveAuthorized(opts, req, res, url, method);
  } finally {
    inflightEnded(kind);
  }
  const series = routes.match({
    method,
    pathname: url.pathname,
    query: url.searchParams,
    contentType: req.headers["content-type"],
    responseContentType: answer.contentType,
  });
  if (series) observeRequest(series, answer.status, answer.bytes, (performance.now() - receivedMs) / 1000);
}

/** What a request was answered with, for its metrics. */
interface Answer {
  status: number;
  contentType: string | undefined;
  bytes: number;
}

async function serveAuthorized(
  opts: DispatchOptions,
  req: Req,
  res: Res,
  url: URL,
  method: string,
): Promise<Answer> {
  // The non-API endpoints answer reads only, like kube-apiserver's: anything else is 405.
  const readOnly = method === "GET" || method === "HEAD";
  const health = serveHealth(opts.health, url.pathname, url.searchParams);
  if (health || url.pathname === "/metrics" || url.pathname === "/version") {
    if (!readOnly) {
      const bytes = sendStatus(
        res,
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
      );
      return { status: 405, contentType: JSON_CONTENT_TYPE, bytes };
    }
    if (health) {
      return {
        status: health.status,
        contentType: TEXT_TYPE,
        bytes: send(res, health.status, TEXT_TYPE, health.body),
      };
    }
    if (url.pathname === "/metrics") {
      return {
        status: 200,
        contentType: opts.registry.contentType,
        bytes: await sendMetrics(res, opts.registry, opts.appendedMetrics),
      };
    }
    const bytes = send(res, 200, JSON_CONTENT_TYPE, JSON.stringify(opts.version, null, 2));
    return { status: 200, contentType: JSON_CONTENT_TYPE, bytes };
  }
  let apiRes = opts.api.handle({
    method,
    path: url.pathname,
    query: url.searchParams,
    accept: req.headers.accept,
  });
  if (apiRes?.refine) {
    apiRes = await apiRes.refine();
    // The client left, or the request timed out, while the answer was refined: nothing to write.
    if (responseClosed(res) || res.headersSent)
      return { status: apiRes.status, contentType: apiRes.contentType, bytes: 0 };
  }
  if (apiRes?.chunks) {
    const bytes = await sendChunked(res, apiRes.status, apiRes.contentType, apiRes.body, apiRes.chunks);
    return { status: apiRes.status, contentType: apiRes.contentType, bytes };
  }
  if (apiRes) {
    const bytes = send(res, apiRes.status, apiRes.contentType, apiRes.body);
    return { status: apiRes.status, contentType: apiRes.contentType, bytes };
  }
  const bytes = sendStatus(res, 404, "NotFound", "the server could not find the requested resource");
  return { status: 404, contentType: JSON_CONTENT_TYPE, bytes };
}
