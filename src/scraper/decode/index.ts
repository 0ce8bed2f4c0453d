// The kubelet decoders: /metrics/resource (Prometheus text) and the Summary API (JSON), each into one
// columnar NodeScrape. The accumulation they share is exported for the tests' reference decoder.
export {
  buildScrape,
  completeNode,
  completePods,
  containerFor,
  type PodAccumulator,
} from "./accumulators.ts";
export { decodeResourceMetrics } from "./resource.ts";
export { decodeSummary } from "./summary.ts";
