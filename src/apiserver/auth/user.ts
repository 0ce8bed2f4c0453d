// Users as kube-apiserver's authenticators see them: each authenticator answers with a user, "not
// mine" or a rejected credential; authenticated users join system:authenticated, nobody is anonymous.
import type { UserInfo } from "./types.ts";

export const ANONYMOUS_USER = "system:anonymous";
export const UNAUTHENTICATED_GROUP = "system:unauthenticated";
export const AUTHENTICATED_GROUP = "system:authenticated";

/** One authenticator's answer: a user, "not mine" (try the next), or a rejected credential. */
export type AuthnResult =
  | { kind: "user"; user: UserInfo }
  | { kind: "none" }
  | { kind: "error"; error: string };

export const NONE: AuthnResult = { kind: "none" };

/** kube-apiserver's AuthenticatedGroupAdder: every authenticated user is in system:authenticated. */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.name === ANONYMOUS_USER) return user;
  if (user.groups.includes(AUTHENTICATED_GROUP) || user.groups.includes(UNAUTHENTICATED_GROUP)) return user;
  return { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

export function anonymousUser(): UserInfo {
  return { name: ANONYMOUS_USER, groups: [UNAUTHENTICATED_GROUP], extra: {} };
}
