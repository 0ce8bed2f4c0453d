export { FAULT_KIND_HELP, faultSpec, parseFaultSpec } from "./fault-spec.ts";
export { KubeletFleet } from "./fleet.ts";
