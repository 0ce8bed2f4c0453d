// The API's self-metric, as in kubernetes-sigs/metrics-server pkg/api/monitoring.go: how old the served
// data is when a client reads it.

import { exponentialBuckets, Histogram, type Registry } from "prom-client";

export const FRESHNESS_METRIC_NAME = "metrics_server_api_metric_freshness_seconds";

/** Buckets 1 × 1.364^i for i = 0..19 (1 … 364.31 s), as upstream. */
export const FRESHNESS_BUCKETS: readonly number[] = exponentialBuckets(1, 1.364, 20);

export const metricFreshness = new Histogram({
  name: FRESHNESS_METRIC_NAME,
  help: "[ALPHA] Freshness of metrics exported",
  buckets: [...FRESHNESS_BUCKETS],
  registers: [],
});

/** Adds the API's metrics to the server's registry (idempotent per registry). */
export function registerApiMetrics(registry: Registry): void {
  if (registry.getSingleMetric(FRESHNESS_METRIC_NAME) === undefined) registry.registerMetric(metricFreshness);
}

// A pod whose containers were all skipped has no timestamp (Go's zero time); upstream would record
// an age of ~56 years, which only pollutes +Inf, so such items are not observed.
export function observeFreshness(nowMs: number, timestampMs: number): void {
  if (timestampMs > 0) metricFreshness.observe((nowMs - timestampMs) / 1000);
}
