// The server's self-metrics: the scrape-loop tick duration (upstream pkg/server/server.go
// RegisterServerMetrics), and the registry /metrics serves: every stage's families plus the process's.
import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { registerApiMetrics } from "../api/index.ts";
import { registerApiServerMetrics } from "../apiserver/index.ts";
import { type AdaptiveScraper, registerScraperMetrics } from "../scraper/index.ts";
import { registerStorageMetrics } from "../storage/index.ts";

/** How often the event-loop delay monitor samples, in ms. */
const EVENT_LOOP_SAMPLE_MS = 100;
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

/** Every family /metrics serves from a registry (the per-node kubelet families are appended apart). */
export function newRegistry(
  scraper: Pick<AdaptiveScraper, "heapStatistics">,
  tickDuration: Histogram,
): Registry {
  const registry = new Registry();
  registerScraperMetrics(registry);
  registerStorageMetrics(registry);
  registerApiMetrics(registry);
  // The generic API server's families (apiserver_*, authentication_*, authorization_*), as upstream.
  registerApiServerMetrics(registry);
  registerServerMetrics(registry, tickDuration);
  // process_* and nodejs_* families: prefixes other than metrics_server_, which only upstream's six
  // families use. The event-loop delay monitor samples on a timer of its own; at prom-client's
  // default 10 ms it woke an idle server 100 times a second (~8 of its 11 mCPU at 10 nodes). Every
  // 100 ms still catches each stall (the late sample records it), so nodejs_eventloop_lag_* read
  // ~100 ms when there is no delay.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  // The scrape worker's heap (no samples while scraping inline): the default nodejs_heap_* families
  // describe this thread only.
  new Gauge({
    name: "nodejs_scraper_worker_heap_size_bytes",
    help: "V8 heap of the scrape worker thread in bytes, by kind (total, used, external).",
    labelNames: ["kind"] as const,
    registers: [registry],
    async collect() {
      const h = await scraper.heapStatistics();
      if (!h) return;
      this.set({ kind: "total" }, h.totalBytes);
      this.set({ kind: "used" }, h.usedBytes);
      this.set({ kind: "external" }, h.externalBytes);
    },
  });
  return registry;
}
