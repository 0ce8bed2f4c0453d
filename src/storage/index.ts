// The storage stage's public face: the two-point store the scraper fills and the API reads.

export { registerStorageMetrics } from "./monitoring.ts";
export { TwoPointStore } from "./store.ts";
export type {
  MetricsReader,
  NodeMetricsPoint,
  NodeScrape,
  PodMetricsPoint,
  PodObject,
  PodRef,
} from "./types.ts";
