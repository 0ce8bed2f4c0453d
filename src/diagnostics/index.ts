// The diagnostics API group's public face.
export type { SelfCheckName, SelfCheckReader, SelfCheckResult } from "./types.ts";
