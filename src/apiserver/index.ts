// Public face of src/apiserver: generic Kubernetes-style API serving (Status errors, the handler contract).
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
