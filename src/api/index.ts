// Public face of src/api: the metrics.k8s.io/v1beta1 request handler, its protobuf encoders and its
// self-metric.

export { METRICS_API_RESOURCES } from "./discovery.ts";
export { MetricsApi } from "./handler.ts";
export { registerApiMetrics } from "./monitoring.ts";
export { boundedPodLookup, type FetchPod } from "./pod-lookup.ts";
export { protobufEncoder } from "./protobuf.ts";
