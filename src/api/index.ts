// Public face of src/api: the metrics.k8s.io/v1beta1 request handler and the encodings it uses.

export { formatGoDuration, formatTimestamp } from "./duration.ts";
export { type ApiRequest, type ApiResponse, MetricsApi, type MetricsApiDeps } from "./handler.ts";
export { registerApiMetrics } from "./metrics.ts";
export { formatCpu, formatMemory, parseQuantity } from "./quantity.ts";
export {
  badRequest,
  internalError,
  JSON_CONTENT_TYPE,
  methodNotAllowed,
  notAcceptable,
  notFound,
  pathNotFound,
  type StatusDetails,
  statusJSON,
  statusResponse,
} from "./status.ts";
