// The scraper's public face: kubelet client, endpoint resolution, /metrics/resource decoder, Scraper.
export {
  isNodeReady,
  type KubeletEndpoint,
  type KubeletEndpointOptions,
  resolveKubeletEndpoint,
} from "./address.ts";
export { DEFAULT_MAX_BODY_BYTES, KubeletClient, type KubeletClientOptions } from "./client.ts";
export { decodeResourceMetrics } from "./decode.ts";
export { registerScraperMetrics } from "./metrics.ts";
export { Scraper, type ScraperOptions } from "./scraper.ts";
