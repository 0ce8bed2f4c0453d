// Public face of src/apiserver: generic Kubernetes-style API serving: the HTTPS listener (node:http2 +
// HTTP/1.1), health endpoints, Status errors and the handler contract. Certificates and delegated
// auth are its subfolders (certs/, auth/), each with its own face.

export { genericChecks, type HealthCheck, type HealthEndpoints, serveHealth } from "./health.ts";
export { type ServeOptions, startServer } from "./serve.ts";
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
export type { ApiRequest, ApiResponse, TextResponse } from "./types.ts";
