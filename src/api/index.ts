// Public face of src/api: the metrics.k8s.io/v1beta1 request handler and the encodings it uses.

import type { ProtobufEncoder } from "./handler.ts";
import * as protobuf from "./protobuf.ts";

export {
  MetricsApi,
  type MetricsApiDeps,
  type ProtobufEncoder,
} from "./handler.ts";
export { registerApiMetrics } from "./monitoring.ts";
export type {
  ContainerMetricsJSON,
  NodeMetricsJSON,
  NodeMetricsListJSON,
  PodMetricsJSON,
  PodMetricsListJSON,
} from "./objects.ts";

/** The k8s.io/metrics protobuf encoders; pass as MetricsApiDeps.protobuf to serve protobuf. */
export const protobufEncoder: ProtobufEncoder = protobuf;
