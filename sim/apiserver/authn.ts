// Authentication as kube-apiserver does it (client certificate, then bearer token, then anonymous),
// the TokenReview and SubjectAccessReview APIs answered from the token table and the RBAC model,
// and the data of ConfigMap kube-system/extension-apiserver-authentication.

import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import {
  ANONYMOUS,
  type Attributes,
  bearerToken,
  certUser,
  presentedCert,
  type Rbac,
  type TokenTable,
} from "../auth/index.ts";
import { ApiError } from "../state/index.ts";
import type { UserInfo } from "../types.ts";
import { rec } from "./http.ts";

export const AUTH_CONFIGMAP = {
  namespace: "kube-system",
  name: "extension-apiserver-authentication",
} as const;

export const unauthorized = () => new ApiError(401, "Unauthorized", "Unauthorized");

/**
 * kube-apiserver's union authenticator: a verified client certificate first, then a bearer token.
 * A request with no credentials at all is system:anonymous (anonymous auth is on by default); a
 * rejected credential (an unknown token, a certificate from another CA) is 401 Unauthorized.
 */
export function authenticate(req: IncomingMessage, tokens: TokenTable | undefined): UserInfo {
  const socket = req.socket as TLSSocket;
  const fromCert = certUser(socket);
  if (fromCert) return fromCert;
  const header = req.headers.authorization;
  const token = bearerToken(header);
  if (token !== undefined) {
    const fromToken = tokens?.authenticate(token);
    if (fromToken) return withAuthenticated(fromToken);
    throw unauthorized();
  }
  if (header !== undefined || presentedCert(socket)) throw unauthorized();
  return { name: ANONYMOUS.name, groups: [...ANONYMOUS.groups] };
}

function withAuthenticated(user: UserInfo): UserInfo {
  return user.groups.includes("system:authenticated")
    ? user
    : { ...user, groups: [...user.groups, "system:authenticated"] };
}

function checkKind(body: Record<string, unknown>, kind: string, apiVersion: string): void {
  if (body.kind !== undefined && body.kind !== kind) {
    throw new ApiError(400, "BadRequest", `expected kind ${kind}, got ${JSON.stringify(body.kind)}`);
  }
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
    throw new ApiError(
      400,
      "BadRequest",
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
}

function invalid(kind: string, message: string): ApiError {
  return new ApiError(
    422,
    "Invalid",
    `${kind}.${kind.includes("Token") ? "authentication" : "authorization"}.k8s.io is invalid: ${message}`,
    {
      kind,
      group: kind.includes("Token") ? "authentication.k8s.io" : "authorization.k8s.io",
    },
  );
}

/** POST /apis/authentication.k8s.io/v1/tokenreviews: what the token table says about spec.token. */
export function tokenReview(body: unknown, tokens: TokenTable | undefined): Record<string, unknown> {
  const b = rec(body);
  checkKind(b, "TokenReview", "authentication.k8s.io/v1");
  const spec = rec(b.spec);
  if (typeof spec.token !== "string" || spec.token === "")
    throw invalid("TokenReview", "spec.token: Required value");
  const audiences = Array.isArray(spec.audiences) ? spec.audiences.filter((a) => typeof a === "string") : [];
  const user = tokens?.authenticate(spec.token);
  const status: Record<string, unknown> = user
    ? {
        authenticated: true,
        user: {
          username: user.name,
          groups: withAuthenticated(user).groups,
          ...(user.extra ? { extra: user.extra } : {}),
        },
        // The simulator's tokens are valid for every audience asked about.
        ...(audiences.length > 0 ? { audiences } : {}),
      }
    : { user: {}, error: "invalid bearer token" };
  return {
    kind: "TokenReview",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec: { token: spec.token, ...(audiences.length > 0 ? { audiences } : {}) },
    status,
  };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** POST /apis/authorization.k8s.io/v1/subjectaccessreviews: the RBAC model's decision. */
export function subjectAccessReview(body: unknown, rbac: Rbac): Record<string, unknown> {
  const b = rec(body);
  checkKind(b, "SubjectAccessReview", "authorization.k8s.io/v1");
  const spec = rec(b.spec);
  const ra = spec.resourceAttributes === undefined ? undefined : rec(spec.resourceAttributes);
  const nra = spec.nonResourceAttributes === undefined ? undefined : rec(spec.nonResourceAttributes);
  if ((ra === undefined) === (nra === undefined)) {
    throw invalid(
      "SubjectAccessReview",
      "spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
    );
  }
  const userName = typeof spec.user === "string" ? spec.user : "";
  const groups = strings(spec.groups);
  if (userName === "" && groups.length === 0) {
    throw invalid(
      "SubjectAccessReview",
      'spec.user: Invalid value: "": at least one of user or group must be specified',
    );
  }
  const str = (o: Record<string, unknown>, k: string) => (typeof o[k] === "string" ? (o[k] as string) : "");
  const attrs: Attributes = ra
    ? {
        kind: "resource",
        verb: str(ra, "verb"),
        group: str(ra, "group"),
        version: str(ra, "version"),
        resource: str(ra, "resource"),
        ...(str(ra, "subresource") ? { subresource: str(ra, "subresource") } : {}),
        ...(str(ra, "namespace") ? { namespace: str(ra, "namespace") } : {}),
        ...(str(ra, "name") ? { name: str(ra, "name") } : {}),
      }
    : { kind: "nonResource", verb: str(nra!, "verb"), path: str(nra!, "path") };
  const decision = rbac.authorize({ name: userName, groups }, attrs);
  return {
    kind: "SubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
  };
}

/** The ConfigMap's data, key for key as kube-apiserver publishes it (lists as JSON text). */
export function authConfigMapData(
  clientCAPems: readonly string[],
  frontProxyCAPem: string | undefined,
): Record<string, string> {
  const bundle = (pems: readonly string[]) => pems.map((p) => (p.endsWith("\n") ? p : `${p}\n`)).join("");
  const data: Record<string, string> = { "client-ca-file": bundle(clientCAPems) };
  if (frontProxyCAPem) {
    data["requestheader-allowed-names"] = JSON.stringify(["front-proxy-client"]);
    data["requestheader-client-ca-file"] = bundle([frontProxyCAPem]);
    data["requestheader-extra-headers-prefix"] = JSON.stringify(["X-Remote-Extra-"]);
    data["requestheader-group-headers"] = JSON.stringify(["X-Remote-Group"]);
    data["requestheader-username-headers"] = JSON.stringify(["X-Remote-User"]);
  }
  return data;
}

/**
 * kube-apiserver's impersonation (kubectl --as/--as-group): with Impersonate-User (and optionally
 * Impersonate-Group) headers the request runs as that user, if the requester may "impersonate"
 * users (or that service account) and each group. Returns the user the request runs as.
 */
export function impersonate(
  req: IncomingMessage,
  user: UserInfo,
  authorize: (user: UserInfo, attrs: Attributes) => void,
): UserInfo {
  const header = req.headers["impersonate-user"];
  const groupHeader = req.headers["impersonate-group"];
  const groups = groupHeader === undefined ? [] : Array.isArray(groupHeader) ? groupHeader : [groupHeader];
  if (header === undefined) {
    if (groups.length > 0) {
      throw new ApiError(
        500,
        "InternalError",
        "Internal error occurred: requested [Impersonate-Group] without impersonating a user",
      );
    }
    return user;
  }
  const name = Array.isArray(header) ? header[0] : header;
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(name);
  authorize(
    user,
    sa
      ? {
          kind: "resource",
          verb: "impersonate",
          group: "",
          resource: "serviceaccounts",
          namespace: sa[1],
          name: sa[2],
        }
      : { kind: "resource", verb: "impersonate", group: "", resource: "users", name },
  );
  for (const g of groups)
    authorize(user, { kind: "resource", verb: "impersonate", group: "", resource: "groups", name: g });
  const implied = sa ? ["system:serviceaccounts", `system:serviceaccounts:${sa[1]}`] : [];
  const all = [...new Set([...groups, ...implied])];
  if (name !== ANONYMOUS.name && !all.includes("system:authenticated")) all.push("system:authenticated");
  return { name, groups: all };
}

/** POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews (kubectl auth can-i): the requester's own decision. */
export function selfSubjectAccessReview(body: unknown, user: UserInfo, rbac: Rbac): Record<string, unknown> {
  const b = rec(body);
  checkKind(b, "SelfSubjectAccessReview", "authorization.k8s.io/v1");
  const spec = rec(b.spec);
  const review = subjectAccessReview({ spec: { ...spec, user: user.name, groups: user.groups } }, rbac);
  return {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    status: review.status,
  };
}
