// The kubelet decoders: /metrics/resource (Prometheus text) and the Summary API (JSON), each into one
// columnar NodeScrape. The accumulation they share is exported for the tests' reference decoder.
export {
  buildScrape,
  type ContainerAccumulator,
  completeNode,
  completePods,
  conflictProblems,
  containerFor,
  type DecodedScrape,
  type DecodeProblems,
  type PodAccumulator,
  SERIES_CPU,
  SERIES_MEMORY,
  SERIES_START_TIME,
  SERIES_SWAP,
  seriesName,
} from "./accumulators.ts";
export { attachLeftOut, newLeftOutList } from "./left-out.ts";
export { decodeResourceMetrics } from "./resource.ts";
export { decodeSummary } from "./summary.ts";
