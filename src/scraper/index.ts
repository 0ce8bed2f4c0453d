// The scraper's public face: what the server runs (AdaptiveScraper: inline or WorkerScraper, its self-metrics, the kubelet
// endpoint modes), what the micro-benchmarks measure (the decoder, Scraper, KubeletClient, the
// packing of results between threads), and the accumulation the tests' reference decoder shares.

export { AdaptiveScraper, type AdaptiveScraperOptions } from "./adaptive-scraper.ts";
export {
  attachLeftOut,
  buildScrape,
  type ContainerAccumulator,
  completeNode,
  completePods,
  conflictProblems,
  containerFor,
  type DecodedScrape,
  decodeResourceMetrics,
  newLeftOutList,
  type PodAccumulator,
  SERIES_CPU,
  SERIES_MEMORY,
  SERIES_START_TIME,
  SERIES_SWAP,
  seriesName,
} from "./decode/index.ts";
export {
  ENDPOINT_MODES,
  type KubeletEndpointMode,
} from "./endpoint.ts";
export { Interner } from "./interner.ts";
export { KubeletClient } from "./kubelet/index.ts";
export { kubeletNodeFamilies, registerScraperMetrics } from "./monitoring.ts";
export { Scraper } from "./scraper.ts";
export { packBatch, unpackMessage, WorkerScraper, type WorkerScraperOptions } from "./worker/index.ts";
