// metrics-server's own health checks (upstream pkg/server/health.go and the informer-sync checks of
// pkg/server/config.go), after the generic apiserver's, in upstream's order on each endpoint.
import { genericChecks, type HealthCheck, type HealthEndpoints } from "../apiserver/index.ts";

export interface HealthSources {
  /** False until the first node and pod lists have been applied. */
  nodeSynced(): boolean;
  podSynced(): boolean;
  /**
   * The pod informer has been started. When given, /livez's metadata-informer-sync passes once it
   * is started rather than synced: the server listens while the caches sync, and a liveness failure
   * would get it restarted for an API server being down, which a restart does not fix.
   */
  podInformerStarted?(): boolean;
  /** Storage has metrics to serve. */
  storageReady(): boolean;
  /** Start time (ms) of the last scrape tick, 0 before the first. */
  tickLastStartMs(): number;
  resolutionMs: number;
  shuttingDown(): boolean;
  now?: () => number;
}

export function healthEndpoints(src: HealthSources): HealthEndpoints {
  const now = src.now ?? Date.now;
  const base = genericChecks();
  const metadataInformerSync: HealthCheck = {
    name: "metadata-informer-sync",
    check: () => (src.podSynced() ? undefined : "1 informers not started yet: [/v1, Resource=pods]"),
  };
  const podStarted = src.podInformerStarted;
  const metadataInformerStarted: HealthCheck = podStarted
    ? {
        name: "metadata-informer-sync",
        check: () => (podStarted() ? undefined : "1 informers not started yet: [/v1, Resource=pods]"),
      }
    : metadataInformerSync;
  const metricCollectionTimely: HealthCheck = {
    name: "metric-collection-timely",
    check: () => {
      const last = src.tickLastStartMs();
      if (last === 0) return undefined;
      return now() - last > 1.5 * src.resolutionMs ? "metric collection didn't finish on time" : undefined;
    },
  };
  const metricStorageReady: HealthCheck = {
    name: "metric-storage-ready",
    check: () => (src.storageReady() ? undefined : "no metrics to serve"),
  };
  const metricInformerSync: HealthCheck = {
    name: "metric-informer-sync",
    check: () => {
      if (!src.nodeSynced()) return "cache for node informer has not synced";
      if (!src.podSynced()) return "cache for pod informer has not synced";
      return undefined;
    },
  };
  const shutdown: HealthCheck = {
    name: "shutdown",
    check: () => (src.shuttingDown() ? "process is shutting down" : undefined),
  };
  return {
    healthz: [...base, metadataInformerSync],
    livez: [...base, metricCollectionTimely, metadataInformerStarted],
    readyz: [...base, metricStorageReady, metricInformerSync, metadataInformerSync, shutdown],
  };
}
