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
import { InternedCounter, InternedHistogram } from "./interned-metrics.ts";
import type { DurationLabels, RequestSeries, SizeLabels, TotalLabels } from "./request-info.ts";

const LATENCY_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];
const SLI_BUCKETS = LATENCY_BUCKETS.slice(2);
const AUTH_BUCKETS = exponentialBuckets(0.001, 2, 15);
const DELEGATED_BUCKETS = [0.25, 0.5, 0.7, 1, 1.5, 3, 5, 10];

// Observed on every request: series keyed by the label objects request-info.ts interns.
const requestTotal = new InternedCounter<TotalLabels>(
  "apiserver_request_total",
  "[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
);
const requestDuration = new InternedHistogram<DurationLabels>(
  "apiserver_request_duration_seconds",
  "[STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
  LATENCY_BUCKETS,
);
// Upstream leaves out webhook and priority-and-fairness waits; this server has neither.
const requestSliDuration = new InternedHistogram<SizeLabels>(
  "apiserver_request_sli_duration_seconds",
  "[ALPHA] Response latency distribution (not counting webhook duration and priority & fairness queue wait times) in seconds for each verb, group, version, resource, subresource, scope and component.",
  SLI_BUCKETS,
);
const responseSizes = new InternedHistogram<SizeLabels>(
  "apiserver_response_sizes",
  "[STABLE] Response size distribution in bytes for each group, version, verb, resource, subresource, scope and component.",
  exponentialBuckets(1000, 10, 7),
);
const tlsHandshakeErrors = new Counter({
  name: "apiserver_tls_handshake_errors_total",
  help: "[ALPHA] Number of requests dropped with 'TLS handshake error from' error",
  registers: [],
});

// maxinflight.go: a request refused with 429 beyond its kind's limit.
const droppedRequests = new Counter({
  name: "apiserver_dropped_requests_total",
  help: "[ALPHA] Number of requests dropped with 'Try again later' response",
  labelNames: ["request_kind"],
  registers: [],
});

// Also observed on every request; their label objects are interned below.
const authenticatedUserRequests = new InternedCounter<{ username: string }>(
  "authenticated_user_requests",
  "[ALPHA] Counter of authenticated requests broken out by username.",
);
const authenticationAttempts = new InternedCounter<{ result: string }>(
  "authentication_attempts",
  "[ALPHA] Counter of authenticated attempts.",
);
const authenticationDuration = new InternedHistogram<{ result: string }>(
  "authentication_duration_seconds",
  "[ALPHA] Authentication duration in seconds broken out by result.",
  AUTH_BUCKETS,
);
const authorizationAttempts = new InternedCounter<{ result: string }>(
  "authorization_attempts_total",
  "[ALPHA] Counter of authorization attempts broken down by result. It can be either 'allowed', 'denied', 'no-opinion' or 'error'.",
);
const authorizationDuration = new InternedHistogram<{ result: string }>(
  "authorization_duration_seconds",
  "[ALPHA] Authorization duration in seconds broken out by result.",
  AUTH_BUCKETS,
);
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
  // The registry reads only name, help, type, aggregator and get(), which the interned families
  // have as prom-client's own do; its declared type takes prom-client's classes only.
  for (const family of [requestTotal, requestDuration, requestSliDuration, responseSizes])
    registry.registerMetric(family as unknown as Counter);
  registry.registerMetric(currentInflight);
  registry.registerMetric(tlsHandshakeErrors);
  registry.registerMetric(droppedRequests);
  for (const family of [
    authenticatedUserRequests,
    authenticationAttempts,
    authenticationDuration,
    authorizationAttempts,
    authorizationDuration,
  ])
    registry.registerMetric(family as unknown as Counter);
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

/** A request refused beyond the in-flight limit of its kind. */
export function requestDropped(kind: InflightKind): void {
  droppedRequests.inc({ request_kind: kind });
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
    authenticatedUserRequests.inc(interned(compressUsername(username), USERNAME_LABELS, "username"));
  const labels = interned(result, RESULT_LABELS, "result");
  authenticationAttempts.inc(labels);
  authenticationDuration.observe(labels, seconds);
}

export type AuthorizationResult = "allowed" | "denied" | "no-opinion" | "error";

export function observeAuthorization(result: AuthorizationResult, seconds: number): void {
  const labels = interned(result, RESULT_LABELS, "result");
  authorizationAttempts.inc(labels);
  authorizationDuration.observe(labels, seconds);
}

// One label object per value of a one-label family (each set is small: a few results, a few names).
const RESULT_LABELS = new Map<string, { result: string }>();
const USERNAME_LABELS = new Map<string, { username: string }>();

function interned<K extends string>(
  value: string,
  cache: Map<string, Record<K, string>>,
  key: K,
): Record<K, string> {
  let labels = cache.get(value);
  if (!labels) {
    labels = { [key]: value } as Record<K, string>;
    cache.set(value, labels);
  }
  return labels;
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
