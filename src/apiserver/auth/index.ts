// Public face of src/apiserver/auth: delegated authentication and authorization, and the contract the
// listener calls it through.
export { type AuthOptions, DelegatedAuth } from "./delegated.ts";
export type { AuthDecision, AuthRequest, RequestAuth, UserInfo } from "./types.ts";
