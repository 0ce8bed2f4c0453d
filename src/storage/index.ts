// The storage stage's public face: the two-point store the scraper fills and the API reads, and the
// scrape status book the server fills from the scraper's reports and the store's refusals.

export { registerStorageMetrics } from "./monitoring.ts";
export { ScrapeStatusBook } from "./scrape-status.ts";
export { TwoPointStore } from "./store.ts";
export {
  type LeftOutPod,
  MAX_LEFT_OUT_PER_NODE,
  type MetricsReader,
  type NodeMetricsPoint,
  type NodeScrape,
  type NodeScrapeReport,
  type NodeScrapeStatus,
  type PodMetricsPoint,
  type PodObject,
  type PodRef,
  type ScrapeError,
  type ScrapeErrorKind,
  type ScrapeStatusReader,
  type StoreDescriber,
  type StoredNodeView,
  type StoredPodView,
} from "./types.ts";
