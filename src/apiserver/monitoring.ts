// The generic API server's self-metrics, as k8s.io/apiserver registers them in every server built
// on it (metrics-server included), so dashboards and alerts written for upstream read ours: the
// request families (pkg/endpoints/metrics/metrics.go), the in-flight gauge
// (pkg/server/filters/maxinflight.go), authentication and authorization attempts
// (pkg/endpoints/filters/metrics.go) and the delegated TokenReview and SubjectAccessReview calls
// (pkg/authentication/authenticatorfactory/metrics.go, pkg/authorization/authorizerfactory/metrics.go).
// Names, types, labels, buckets and help texts (with component-base's stability prefix) are
// upstream's. Families live once per process, as upstream's do; registerApiServerMetrics adds them
// to the registry /metrics serves.

import { Counter, exponentialBuckets, Gauge, Histogram, type Registry } from "prom-client";
import { ApiError } from "../kube/index.ts";
import type { RequestSeries } from "./request-info.ts";

const REQUEST_LABELS = [
  "verb",
  "dry_run",
  "group",
  "version",
  "resource",
  "subresource",
  "scope",
  "component",
] as const;
const SIZE_LABELS = ["verb", "group", "version", "resource", "subresource", "scope", "component"] as const;
const LATENCY_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];
const SLI_BUCKETS = LATENCY_BUCKETS.slice(2);
const AUTH_BUCKETS = exponentialBuckets(0.001, 2, 15);
const DELEGATED_BUCKETS = [0.25, 0.5, 0.7, 1, 1.5, 3, 5, 10];

const requestTotal = new Counter({
  name: "apiserver_request_total",
  help: "[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
  labelNames: [...REQUEST_LABELS, "code"],
  registers: [],
});
const requestDuration = new Histogram({
  name: "apiserver_request_duration_seconds",
  help: "[STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
  labelNames: REQUEST_LABELS,
  buckets: LATENCY_BUCKETS,
  registers: [],
});
// Upstream leaves out webhook and priority-and-fairness waits; this server has neither.
const requestSliDuration = new Histogram({
  name: "apiserver_request_sli_duration_seconds",
  help: "[ALPHA] Response latency distribution (not counting webhook duration and priority & fairness queue wait times) in seconds for each verb, group, version, resource, subresource, scope and component.",
  labelNames: SIZE_LABELS,
  buckets: SLI_BUCKETS,
  registers: [],
});
const responseSizes = new Histogram({
  name: "apiserver_response_sizes",
  help: "[STABLE] Response size distribution in bytes for each group, version, verb, resource, subresource, scope and component.",
  labelNames: SIZE_LABELS,
  buckets: exponentialBuckets(1000, 10, 7),
  registers: [],
});
const tlsHandshakeErrors = new Counter({
  name: "apiserver_tls_handshake_errors_total",
  help: "[ALPHA] Number of requests dropped with 'TLS handshake error from' error",
  registers: [],
});

const authenticatedUserRequests = new Counter({
  name: "authenticated_user_requests",
  help: "[ALPHA] Counter of authenticated requests broken out by username.",
  labelNames: ["username"],
  registers: [],
});
const authenticationAttempts = new Counter({
  name: "authentication_attempts",
  help: "[ALPHA] Counter of authenticated attempts.",
  labelNames: ["result"],
  registers: [],
});
const authenticationDuration = new Histogram({
  name: "authentication_duration_seconds",
  help: "[ALPHA] Authentication duration in seconds broken out by result.",
  labelNames: ["result"],
  buckets: AUTH_BUCKETS,
  registers: [],
});
const authorizationAttempts = new Counter({
  name: "authorization_attempts_total",
  help: "[ALPHA] Counter of authorization attempts broken down by result. It can be either 'allowed', 'denied', 'no-opinion' or 'error'.",
  labelNames: ["result"],
  registers: [],
});
const authorizationDuration = new Histogram({
  name: "authorization_duration_seconds",
  help: "[ALPHA] Authorization duration in seconds broken out by result.",
  labelNames: ["result"],
  buckets: AUTH_BUCKETS,
  registers: [],
});
const delegatedAuthnTotal = new Counter({
  name: "apiserver_delegated_authn_request_total",
  help: "[ALPHA] Number of HTTP requests partitioned by status code.",
  labelNames: ["code"],
  registers: [],
});
const delegatedAuthnDuration = new Histogram({
  name: "apiserver_delegated_authn_request_duration_seconds",
  help: "[ALPHA] Request latency in seconds. Broken down by status code.",
  labelNames: ["code"],
  buckets: DELEGATED_BUCKETS,
  registers: [],
});
const delegatedAuthzTotal = new Counter({
  name: "apiserver_delegated_authz_request_total",
  help: "[ALPHA] Number of HTTP requests partitioned by status code.",
  labelNames: ["code"],
  registers: [],
});
const delegatedAuthzDuration = new Histogram({
  name: "apiserver_delegated_authz_request_duration_seconds",
  help: "[ALPHA] Request latency in seconds. Broken down by status code.",
  labelNames: ["code"],
  buckets: DELEGATED_BUCKETS,
  registers: [],
});

/**
 * Requests in flight per kind, reported as maxinflight.go does: the most at once during the last
 * whole second. Kept lazily (windows are rolled when a request starts or ends, or /metrics is
 * read) rather than by a timer each second, so an idle server is not woken.
 */
export class InflightWatermark {
  #current = 0;
  #window = 0;
  #windowMax = 0;
  #previousMax = 0;

  change(delta: 1 | -1, nowMs: number): void {
    this.#roll(nowMs);
    this.#current += delta;
    if (this.#current > this.#windowMax) this.#windowMax = this.#current;
  }

  /** The most in flight at once during the last whole second. */
  lastSecondMax(nowMs: number): number {
    this.#roll(nowMs);
    return this.#previousMax;
  }

  #roll(nowMs: number): void {
    const window = Math.floor(nowMs / 1000);
    if (window === this.#window) return;
    // With no change in between, the seconds since held the current count throughout.
    this.#previousMax = window === this.#window + 1 ? this.#windowMax : this.#current;
    this.#window = window;
    this.#windowMax = this.#current;
  }
}

const readOnlyInflight = new InflightWatermark();
const mutatingInflight = new InflightWatermark();
const currentInflight = new Gauge({
  name: "apiserver_current_inflight_requests",
  help: "[STABLE] Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
  labelNames: ["request_kind"],
  registers: [],
  collect() {
    const now = performance.timeOrigin + performance.now();
    this.set({ request_kind: "readOnly" }, readOnlyInflight.lastSecondMax(now));
    this.set({ request_kind: "mutating" }, mutatingInflight.lastSecondMax(now));
  },
});

const registered = new WeakSet<Registry>();

/** Adds the generic API server's families to `registry` (idempotent per registry). */
export function registerApiServerMetrics(registry: Registry): void {
  if (registered.has(registry)) return;
  registered.add(registry);
  registry.registerMetric(requestTotal);
  registry.registerMetric(requestDuration);
  registry.registerMetric(requestSliDuration);
  registry.registerMetric(responseSizes);
  registry.registerMetric(currentInflight);
  registry.registerMetric(tlsHandshakeErrors);
  registry.registerMetric(authenticatedUserRequests);
  registry.registerMetric(authenticationAttempts);
  registry.registerMetric(authenticationDuration);
  registry.registerMetric(authorizationAttempts);
  registry.registerMetric(authorizationDuration);
  registry.registerMetric(delegatedAuthnTotal);
  registry.registerMetric(delegatedAuthnDuration);
  registry.registerMetric(delegatedAuthzTotal);
  registry.registerMetric(delegatedAuthzDuration);
}

/**
 * maxinflight.go's kinds by RequestInfo's verb: get, list and watch are read-only, anything else is
 * mutating. RequestInfo names a GET (or a HEAD under /apis/) get, list or watch; a HEAD elsewhere
 * is "head", a POST "create" or "post": mutating.
 */
export type InflightKind = "readOnly" | "mutating";

export function inflightKind(method: string, pathname: string): InflightKind {
  return method === "GET" || (method === "HEAD" && pathname.startsWith("/apis/")) ? "readOnly" : "mutating";
}

export function inflightStarted(kind: InflightKind): void {
  (kind === "readOnly" ? readOnlyInflight : mutatingInflight).change(
    1,
    performance.timeOrigin + performance.now(),
  );
}

export function inflightEnded(kind: InflightKind): void {
  (kind === "readOnly" ? readOnlyInflight : mutatingInflight).change(
    -1,
    performance.timeOrigin + performance.now(),
  );
}

/** One answered request of an instrumented route (request-info.ts decides which are). */
export function observeRequest(
  series: RequestSeries,
  code: number,
  responseBytes: number,
  seconds: number,
): void {
  requestTotal.inc(series.total(code));
  requestDuration.observe(series.duration, seconds);
  if (!series.dryRun) requestSliDuration.observe(series.size, seconds);
  // Upstream records sizes for GET and LIST routes only: every instrumented route here is one.
  responseSizes.observe(series.size, responseBytes);
}

export function observeTlsHandshakeError(): void {
  tlsHandshakeErrors.inc();
}

/**
 * filters/metrics.go compressUsername: a few well-known identities by name, anything with an "@"
 * as email_id, everyone else as other, so the label stays small and names no one.
 */
export function compressUsername(name: string): string {
  switch (name) {
    case "admin":
    case "client":
    case "kube_proxy":
    case "kubelet":
    case "system:serviceaccount:kube-system:default":
      return name;
    default:
      return name.includes("@") ? "email_id" : "other";
  }
}

/**
 * One authentication: "success" with the user's name (anonymous included), "error" when a presented
 * credential was rejected or could not be checked, "failure" when nothing authenticated the request.
 */
export function observeAuthentication(
  result: "success" | "failure" | "error",
  username: string | undefined,
  seconds: number,
): void {
  if (result === "success" && username !== undefined)
    authenticatedUserRequests.inc({ username: compressUsername(username) });
  authenticationAttempts.inc({ result });
  authenticationDuration.observe({ result }, seconds);
}

export type AuthorizationResult = "allowed" | "denied" | "no-opinion" | "error";

export function observeAuthorization(result: AuthorizationResult, seconds: number): void {
  authorizationAttempts.inc({ result });
  authorizationDuration.observe({ result }, seconds);
}

type DelegatedCall<T> = (onStatus: (statusCode: number) => void) => Promise<T>;

/**
 * Makes one delegated call and observes it under its HTTP status code, or "<error>" when no answer
 * came back (as the webhook authenticator and authorizer do).
 */
async function observedCall<T>(total: Counter, duration: Histogram, call: DelegatedCall<T>): Promise<T> {
  const start = performance.now();
  let status: number | undefined;
  try {
    return await call((code) => {
      status = code;
    });
  } catch (err) {
    if (status === undefined && err instanceof ApiError) status = err.status;
    throw err;
  } finally {
    const code = status === undefined ? "<error>" : String(status);
    total.inc({ code });
    duration.observe({ code }, (performance.now() - start) / 1000);
  }
}

/** One TokenReview request to the API server, observed. */
export function tokenReviewCall<T>(call: DelegatedCall<T>): Promise<T> {
  return observedCall(delegatedAuthnTotal, delegatedAuthnDuration, call);
}

/** One SubjectAccessReview request to the API server, observed. */
export function subjectAccessReviewCall<T>(call: DelegatedCall<T>): Promise<T> {
  return observedCall(delegatedAuthzTotal, delegatedAuthzDuration, call);
}
