// The storage stage's public face: the two-point store the scraper fills and the API reads.

export { registerStorageMetrics } from "./monitoring.ts";
export { TwoPointStore } from "./store.ts";
export type {
  LeftOutPod,
  MetricsReader,
  NodeMetricsPoint,
  NodeScrape,
  NodeScrapeReport,
  NodeScrapeStatus,
  PodMetricsPoint,
  PodObject,
  PodRef,
  ScrapeError,
  ScrapeStatusReader,
} from "./types.ts";
