export { ApiServer, type FaultControl } from "./apiserver.ts";
