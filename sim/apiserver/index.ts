export { ApiServer, type FaultControl } from "./apiserver.ts";
export { API_FAULT_HELP, parseApiFaultSpec } from "./faults.ts";
