// Public face of src/apiserver: generic Kubernetes-style API serving: the HTTPS listener (node:http2 +
// HTTP/1.1), health endpoints, Status errors and the handler contract, and what other folders use of
// its subfolders certs/ (serving certificates, Go's TLS names) and auth/ (delegated authn/authz).

export { type AuthRequest, DelegatedAuth, type RequestAuth } from "./auth/index.ts";
export {
  generateServingCA,
  INSECURE_CIPHER_SUITES,
  loadServingCert,
  PREFERRED_CIPHER_SUITES,
  readFileOrThrow,
  TLS_VERSIONS,
} from "./certs/index.ts";
export {
  aggregatedDiscoveryContentType,
  type DiscoveryResource,
  type GroupDiscovery,
  groupDocument,
  resourceListDocument,
  rootDiscoveryDocuments,
} from "./discovery.ts";
export { genericChecks, type HealthCheck, type HealthEndpoints, serveHealth } from "./health.ts";
export { registerApiServerMetrics } from "./monitoring.ts";
export type { ServedResource } from "./request-info.ts";
export { type ServeOptions, startServer } from "./serve.ts";
export { shutdownServer } from "./shutdown.ts";
export {
  badRequest,
  internalError,
  JSON_CONTENT_TYPE,
  methodNotAllowed,
  notAcceptable,
  notFound,
  pathNotFound,
  type StatusCause,
  type StatusDetails,
  statusJSON,
  statusResponse,
} from "./status.ts";
export type { ApiRequest, ApiResponse, TextResponse } from "./types.ts";
