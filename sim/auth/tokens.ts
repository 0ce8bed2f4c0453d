// Bearer tokens the simulated kube-apiserver accepts, like its --token-auth-file: a table from
// token to user. TokenReview and the kubelets look tokens up here too.

import { randomBytes } from "node:crypto";
import type { UserInfo } from "../types.ts";

/** The user the simulator's admin token and admin client certificate both stand for (a fresh copy). */
export function adminUser(): UserInfo {
  return { name: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] };
}

/** 32 random bytes, base64url: opaque, safe in an Authorization header and in a file. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

// RFC 6750 token68 characters: what may follow "Bearer " in an Authorization header.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The token from `Authorization: Bearer <token>` (scheme case-insensitive), undefined when the
 * header carries no bearer token at all.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

function copyUser(user: UserInfo): UserInfo {
  return {
    name: user.name,
    groups: [...user.groups],
    ...(user.extra ? { extra: structuredClone(user.extra) } : {}),
  };
}

export class TokenTable {
  private readonly users = new Map<string, UserInfo>();

  /** Adds (or replaces) a token. Throws on a token that could not travel in a header. */
  add(token: string, user: UserInfo): void {
    if (!TOKEN68.test(token)) {
      throw new Error("TokenTable.add: a token must be non-empty base64/base64url text (RFC 6750 token68)");
    }
    if (user.name === "") throw new Error("TokenTable.add: the user needs a name");
    this.users.set(token, copyUser(user));
  }

  /** Forgets a token; true if it was known. */
  remove(token: string): boolean {
    return this.users.delete(token);
  }

  /** The user a token stands for (a copy), or undefined for an unknown token. */
  authenticate(token: string): UserInfo | undefined {
    const user = this.users.get(token);
    return user ? copyUser(user) : undefined;
  }

  get size(): number {
    return this.users.size;
  }
}
