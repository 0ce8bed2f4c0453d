// Public face of src/apiserver/auth: delegated authentication and authorization, and the contract the
// listener calls it through.
export { DelegatedAuth } from "./delegated.ts";
export type { AuthRequest, RequestAuth } from "./types.ts";
