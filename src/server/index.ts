// Public face of src/server: the running metrics-server (caches, scrape loop, store, API, health and
// self-metrics behind the HTTPS listener), and the pieces the command and the tests build it with.
export { servingHosts } from "./apiservice.ts";
export { type HealthSources, healthEndpoints } from "./health.ts";
export { MetricsServer, SHUTDOWN_DRAIN_MS } from "./server.ts";
