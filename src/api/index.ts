// Public face of src/api: the metrics.k8s.io/v1beta1 request handler, its protobuf encoders and its
// self-metric; and what the diagnostics group serves the same way (Accept negotiation, Table's
// includeObject, metav1.Time).

export { METRICS_API_RESOURCES } from "./discovery.ts";
export { MetricsApi } from "./handler.ts";
export { wantsWatch } from "./list-options.ts";
export { registerApiMetrics } from "./monitoring.ts";
export {
  type Negotiation,
  negotiateDiscovery,
  negotiateObject,
  type TableVersion,
} from "./negotiation.ts";
export { boundedPodLookup, type FetchPod } from "./pod-lookup.ts";
export { protobufEncoder } from "./protobuf.ts";
export { type IncludeObject, parseIncludeObject } from "./table.ts";
