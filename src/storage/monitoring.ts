// Storage self-metrics: the `metrics_server_storage_points` gauge of kubernetes-sigs/metrics-server
// pkg/storage/monitoring.go.

import { Gauge, type Registry } from "prom-client";

const STORAGE_POINTS_NAME = "metrics_server_storage_points";

// Module-level like upstream's: there is one store per process, and the gauge must exist before the
// server registers it (registration happens once, at startup, independently of store creation).
const storagePoints = new Gauge({
  name: STORAGE_POINTS_NAME,
  help: "[ALPHA] Number of metrics points stored.",
  labelNames: ["type"] as const,
  registers: [],
});

/** Adds the storage gauge to `registry`. Calling it again with the same registry is a no-op. */
export function registerStorageMetrics(registry: Registry): void {
  if (registry.getSingleMetric(STORAGE_POINTS_NAME) === storagePoints) return;
  registry.registerMetric(storagePoints);
}

/** Publishes how many points can be served (nodes / containers that have a prev point). */
export function setStoragePoints(nodes: number, containers: number): void {
  storagePoints.set({ type: "node" }, nodes);
  storagePoints.set({ type: "container" }, containers);
}
