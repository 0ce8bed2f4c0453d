// The scraper's three upstream self-metrics (reference upstream-behaviour.md §1.7, §4.3).
import { Counter, Gauge, Histogram, type Metric, type Registry } from "prom-client";

export const kubeletRequestDuration = new Histogram({
  name: "metrics_server_kubelet_request_duration_seconds",
  help: "[ALPHA] Duration of requests to Kubelet API in seconds",
  labelNames: ["node"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [],
});

export const kubeletRequestTotal = new Counter({
  name: "metrics_server_kubelet_request_total",
  help: "[ALPHA] Number of requests sent to Kubelet API",
  labelNames: ["success"] as const,
  registers: [],
});

export const kubeletLastRequestTime = new Gauge({
  name: "metrics_server_kubelet_last_request_time_seconds",
  help: "[ALPHA] Time of last request performed to Kubelet API since unix epoch in seconds",
  labelNames: ["node"] as const,
  registers: [],
});

const all: [string, Metric][] = [
  ["metrics_server_kubelet_request_duration_seconds", kubeletRequestDuration],
  ["metrics_server_kubelet_request_total", kubeletRequestTotal],
  ["metrics_server_kubelet_last_request_time_seconds", kubeletLastRequestTime],
];

/** Adds the scraper's metrics to a registry (idempotent per registry). */
export function registerScraperMetrics(registry: Registry): void {
  for (const [name, metric] of all) {
    if (!registry.getSingleMetric(name)) registry.registerMetric(metric);
  }
}

/**
 * Where observations go instead of this module's metrics. Inside the scraper worker thread these
 * metrics live in a registry nobody exposes, so the worker forwards every observation to the main
 * thread, which records it here with the same functions.
 */
export interface KubeletRequestObserver {
  observe(node: string, durationSeconds: number, success: boolean, endTimeMs: number): void;
  forget(node: string): void;
}

let redirect: KubeletRequestObserver | undefined;

/** Sends every later observation to `observer` (undefined: record locally again). */
export function redirectKubeletRequestMetrics(observer: KubeletRequestObserver | undefined): void {
  redirect = observer;
}

/** Records one kubelet request: its duration (seconds), outcome and end time (Unix ms, default now). */
export function observeKubeletRequest(
  node: string,
  durationSeconds: number,
  success: boolean,
  endTimeMs = Date.now(),
): void {
  if (redirect) {
    redirect.observe(node, durationSeconds, success, endTimeMs);
    return;
  }
  kubeletRequestDuration.observe({ node }, durationSeconds);
  kubeletRequestTotal.inc({ success: success ? "true" : "false" });
  kubeletLastRequestTime.set({ node }, endTimeMs / 1000);
}

/** Drops a vanished node's series, so node churn does not grow the exposition without bound. */
export function forgetNode(node: string): void {
  if (redirect) {
    redirect.forget(node);
    return;
  }
  kubeletRequestDuration.remove({ node });
  kubeletLastRequestTime.remove({ node });
}
