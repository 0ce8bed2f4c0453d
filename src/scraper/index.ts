// The scraper's public face: kubelet client, endpoint resolution, the /metrics/resource and Summary API
// decoders, Scraper, and
// WorkerScraper (the same scrape in a worker thread).
export {
  isNodeReady,
  type KubeletEndpoint,
  type KubeletEndpointOptions,
  resolveKubeletEndpoint,
  SUMMARY_PATH,
} from "./address.ts";
export {
  DEFAULT_MAX_BODY_BYTES,
  KubeletClient,
  type KubeletClientOptions,
  KubeletHttpError,
} from "./client.ts";
export { decodeResourceMetrics } from "./decode.ts";
export {
  DEFAULT_RESOURCE_RETRY_MS,
  ENDPOINT_MODES,
  type KubeletEndpointMode,
  type ScrapeEndpoint,
} from "./endpoint.ts";
export { kubeletNodeFamilies, registerScraperMetrics } from "./metrics.ts";
export { Scraper, type ScraperOptions } from "./scraper.ts";
export { decodeSummary } from "./summary.ts";
export { type CertificateProblem, KubeletCertificateError } from "./tls.ts";
export { WorkerScraper, type WorkerScraperOptions } from "./worker-scraper.ts";
