// The reasons of an explained 404's causes: the server's own type, so a new reason without advice
// (advice.ts) fails to compile.
export type { CauseReason } from "../../explain/index.ts";
