// Bearer tokens the simulated kube-apiserver accepts, like its --token-auth-file: a table from
// token to user. TokenReview and the kubelets look tokens up here too.

import { randomBytes } from "node:crypto";
import type { UserInfo } from "../types.ts";
import { serviceAccountUser } from "./rbac.ts";

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
  /** Tokens valid only while their check holds (bound service account tokens). */
  private readonly checks = new Map<string, () => boolean>();

  /** Adds (or replaces) a token. Throws on a token that could not travel in a header. */
  add(token: string, user: UserInfo): void {
    if (!TOKEN68.test(token)) {
      throw new Error("TokenTable.add: a token must be non-empty base64/base64url text (RFC 6750 token68)");
    }
    if (user.name === "") throw new Error("TokenTable.add: the user needs a name");
    this.users.set(token, copyUser(user));
  }

  /** Adds a token that stands for `user` only while `valid()` holds; once it fails, the token is gone. */
  addBound(token: string, user: UserInfo, valid: () => boolean): void {
    this.add(token, user);
    this.checks.set(token, valid);
  }

  /** Forgets a token; true if it was known. */
  remove(token: string): boolean {
    this.checks.delete(token);
    return this.users.delete(token);
  }

  /** The user a token stands for (a copy), or undefined for an unknown (or no longer valid) token. */
  authenticate(token: string): UserInfo | undefined {
    const user = this.users.get(token);
    if (!user) return undefined;
    const valid = this.checks.get(token);
    if (valid && !valid()) {
      this.remove(token);
      return undefined;
    }
    return copyUser(user);
  }

  get size(): number {
    return this.users.size;
  }
}

/** How the token issuer sees the objects a token is bound to: their uids, undefined when absent. */
export interface BoundObjects {
  serviceAccountUid(namespace: string, name: string): string | undefined;
  podUid(namespace: string, name: string): string | undefined;
}

/**
 * Issues service account tokens for pods, like the kubelet's projected token volumes: a token
 * authenticates as system:serviceaccount:<ns>:<name> only while that ServiceAccount and the pod it
 * was issued for (same uids) exist, as a bound service account token does
 * (https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens).
 */
export class ServiceAccountTokens {
  private readonly tokens: TokenTable;
  private readonly objects: BoundObjects;

  constructor(tokens: TokenTable, objects: BoundObjects) {
    this.tokens = tokens;
    this.objects = objects;
  }

  /**
   * A new token for `pod` running as `serviceAccount`; throws if either does not exist. With
   * `expiresAtMs` it also stops working then (TokenRequest's expirationSeconds).
   */
  issueServiceAccountToken(
    namespace: string,
    serviceAccount: string,
    pod: { name: string; uid: string },
    expiresAtMs = Number.POSITIVE_INFINITY,
  ): string {
    const saUid = this.objects.serviceAccountUid(namespace, serviceAccount);
    if (saUid === undefined)
      throw new Error(`serviceaccounts "${serviceAccount}" not found in namespace ${namespace}`);
    if (this.objects.podUid(namespace, pod.name) !== pod.uid) {
      throw new Error(`pods "${pod.name}" with uid ${pod.uid} not found in namespace ${namespace}`);
    }
    const token = randomToken();
    const user: UserInfo = {
      ...serviceAccountUser(namespace, serviceAccount),
      extra: {
        "authentication.kubernetes.io/pod-name": [pod.name],
        "authentication.kubernetes.io/pod-uid": [pod.uid],
      },
    };
    this.tokens.addBound(
      token,
      user,
      () =>
        Date.now() < expiresAtMs &&
        this.objects.serviceAccountUid(namespace, serviceAccount) === saUid &&
        this.objects.podUid(namespace, pod.name) === pod.uid,
    );
    return token;
  }
}
