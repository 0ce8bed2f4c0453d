// The server's own self-metrics (upstream pkg/server/monitoring.go): the scrape-loop tick duration.
import { Histogram, type Registry } from "prom-client";

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Default buckets plus scrape-aware ones, as upstream: for a resolution R above 10 s,
 * 10 + (R − 10) / 2, R, 1.5 R and 2 R, so a tick close to the resolution is still resolved.
 */
export function tickBuckets(resolutionSeconds: number): number[] {
  const buckets = [...DEFAULT_BUCKETS];
  const r = resolutionSeconds;
  if (r > 10) buckets.push(10 + (r - 10) / 2, r, 1.5 * r, 2 * r);
  return buckets;
}

export function createTickDuration(resolutionSeconds: number): Histogram {
  return new Histogram({
    name: "metrics_server_manager_tick_duration_seconds",
    help: "[ALPHA] The total time spent collecting and storing metrics in seconds.",
    buckets: tickBuckets(resolutionSeconds),
    registers: [],
  });
}

export function registerServerMetrics(registry: Registry, tickDuration: Histogram): void {
  registry.registerMetric(tickDuration);
}
