// The diagnostics API group's public face: its request handler and discovery entry, and the
// self-check types the server fills in.
export { DIAGNOSTICS_GROUP, DiagnosticsApi, type DiagnosticsApiDeps } from "./handler.ts";
export type { SelfCheckName, SelfCheckReader, SelfCheckResult } from "./types.ts";
