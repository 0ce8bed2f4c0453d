// Request authorization as a delegated kube-apiserver does it: kube-apiserver's request attributes
// (RequestInfo), always-allowed paths, the privileged group, and SubjectAccessReview with separate
// caches for allowed and denied answers; and the exact 403 bodies kube-apiserver writes.

import { goQuote } from "../../go/index.ts";
import {
  createSubjectAccessReview,
  type KubeClient,
  parseFieldSelector,
  type SubjectAccessReviewSpec,
} from "../../kube/index.ts";
import { subjectAccessReviewCall } from "../monitoring.ts";
import { watchRequested } from "../request-info.ts";
import { statusJSON } from "../status.ts";
import { TtlCache } from "./config.ts";
import type { UserInfo } from "./types.ts";

export const PRIVILEGED_GROUP = "system:masters";

/** kube-apiserver's authorizer.Attributes for one request. */
export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  isResourceRequest: boolean;
  /** The URL path (non-resource requests are authorized by it). */
  path: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const API_PREFIXES = new Set(["api", "apis"]);
const GROUPLESS_PREFIXES = new Set(["api"]);
const SPECIAL_VERBS = new Set(["proxy", "watch"]);
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

function verbOfMethod(method: string): string {
  switch (method.toUpperCase()) {
    case "POST":
      return "create";
    case "GET":
    case "HEAD":
      return "get";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return "";
  }
}

// A list narrowed to one object by `fieldSelector=metadata.name=<n>` is authorized as that object.
function nameFromFieldSelector(query: URLSearchParams): string {
  const selector = query.get("fieldSelector");
  if (!selector) return "";
  let reqs: ReturnType<typeof parseFieldSelector>;
  try {
    reqs = parseFieldSelector(selector);
  } catch {
    return "";
  }
  const exact = reqs.find((r) => r.field === "metadata.name" && (r.operator === "=" || r.operator === "=="));
  if (!exact) return "";
  const n = exact.value;
  // path.IsValidPathSegmentName: not "." or "..", no "/" or "%".
  if (n === "" || n === "." || n === ".." || n.includes("/") || n.includes("%")) return "";
  return n;
}

/**
 * kube-apiserver's RequestInfo: `/api/<v>/…` and `/apis/<group>/<v>/…` with at least a resource are
 * resource requests (verb from the method, list/watch for collection GETs); everything else is a
 * non-resource request whose verb is the lower-case method.
 */
export function requestAttributes(
  method: string,
  path: string,
  query: URLSearchParams,
  user: UserInfo,
): RequestAttributes {
  const attrs: RequestAttributes = {
    user,
    verb: method.toLowerCase(),
    isResourceRequest: false,
    path,
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
  };
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "");
  let parts = trimmed === "" ? [] : trimmed.split("/");
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return attrs;
  const prefix = parts[0]!;
  parts = parts.slice(1);
  let apiGroup = "";
  if (!GROUPLESS_PREFIXES.has(prefix)) {
    if (parts.length < 3) return attrs;
    apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  const apiVersion = parts[0]!;
  parts = parts.slice(1);
  let verb: string;
  if (SPECIAL_VERBS.has(parts[0]!)) {
    // `/watch` or `/proxy` with nothing after it does not name a resource: kube-apiserver fails
    // to classify it; treat it as a non-resource request so it is authorized by path.
    if (parts.length < 2) return attrs;
    verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    verb = verbOfMethod(method);
  }
  let namespace = "";
  if (parts[0] === "namespaces" && parts.length > 1) {
    namespace = parts[1]!;
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
  }
  let resource = "";
  let name = "";
  let subresource = "";
  if (parts.length >= 3 && verb !== "proxy") subresource = parts[2]!;
  if (parts.length >= 2) name = parts[1]!;
  if (parts.length >= 1) resource = parts[0]!;
  if (name === "" && verb === "get") {
    verb = watchRequested(query) ? "watch" : "list";
    name = nameFromFieldSelector(query);
  }
  if (name === "" && verb === "delete") verb = "deletecollection";
  return {
    ...attrs,
    verb,
    isResourceRequest: true,
    apiGroup,
    apiVersion,
    namespace,
    resource,
    subresource,
    name,
  };
}

/** The SubjectAccessReview spec kube-apiserver's webhook authorizer sends for these attributes. */
export function subjectAccessReviewSpec(a: RequestAttributes): SubjectAccessReviewSpec {
  const spec: SubjectAccessReviewSpec = {};
  if (a.isResourceRequest) {
    // Empty strings are omitted, as Go's omitempty does.
    const ra: Record<string, string> = {};
    const fields: [string, string][] = [
      ["namespace", a.namespace],
      ["verb", a.verb],
      ["group", a.apiGroup],
      ["version", a.apiVersion],
      ["resource", a.resource],
      ["subresource", a.subresource],
      ["name", a.name],
    ];
    for (const [k, v] of fields) if (v) ra[k] = v;
    spec.resourceAttributes = ra;
  } else {
    spec.nonResourceAttributes = { path: a.path, verb: a.verb };
  }
  if (a.user.name) spec.user = a.user.name;
  if (a.user.groups.length > 0) spec.groups = [...a.user.groups];
  if (Object.keys(a.user.extra).length > 0) spec.extra = a.user.extra;
  if (a.user.uid) spec.uid = a.user.uid;
  return spec;
}

// kube-apiserver avoids error text that looks like HTML.
function sanitize(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The message part kube-apiserver's Forbidden writer builds from the attributes. */
export function forbiddenMessage(a: RequestAttributes): string {
  const user = goQuote(a.user.name);
  if (!a.isResourceRequest) return `User ${user} cannot ${a.verb} path ${goQuote(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace ${goQuote(a.namespace)}` : "at the cluster scope";
  return `User ${user} cannot ${a.verb} resource ${goQuote(resource)} in API group ${goQuote(a.apiGroup)} ${where}`;
}

/** The complete 403 Status body (apierrors.NewForbidden over the group/resource and name). */
export function forbiddenBody(a: RequestAttributes, reason: string): string {
  const msg = sanitize(forbiddenMessage(a));
  const detail = reason ? `${msg}: ${reason}` : msg;
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  let message: string;
  if (a.apiGroup === "" && a.resource === "") message = `forbidden: ${detail}`;
  else if (a.name === "") message = `${qualified} is forbidden: ${detail}`;
  else message = `${qualified} ${goQuote(a.name)} is forbidden: ${detail}`;
  return statusJSON(403, "Forbidden", message, { name: a.name, group: a.apiGroup, kind: a.resource });
}

/**
 * `--authorization-always-allow-paths`: exact paths, or prefixes when an entry ends in `*`
 * (compared without the leading slash, as kube-apiserver's path authorizer does).
 */
export class PathAllowList {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];

  constructor(paths: readonly string[]) {
    for (const raw of paths) {
      const p = raw.trim().replace(/^\//, "");
      if (p.endsWith("*")) {
        const prefix = p.slice(0, -1);
        if (prefix.includes("*"))
          throw new Error(
            `only trailing * allowed in --authorization-always-allow-paths: ${JSON.stringify(raw)}`,
          );
        this.prefixes.push(prefix);
      } else {
        if (p.includes("*"))
          throw new Error(
            `only trailing * allowed in --authorization-always-allow-paths: ${JSON.stringify(raw)}`,
          );
        this.exact.add(p);
      }
    }
  }

  allows(path: string): boolean {
    const p = path.replace(/^\//, "");
    return this.exact.has(p) || this.prefixes.some((prefix) => p.startsWith(prefix));
  }
}

export type AuthzDecision = { decision: "allow" | "deny" | "no-opinion"; reason: string };

/** SubjectAccessReview authorization with separate TTLs for allowed and not-allowed answers. */
export class SubjectAccessReviewAuthorizer {
  private readonly client: KubeClient;
  private readonly allowedTtlMs: number;
  private readonly deniedTtlMs: number;
  private readonly cache: TtlCache<AuthzDecision>;
  /** How many reviews were sent (for tests and diagnostics). */
  reviews = 0;

  constructor(client: KubeClient, allowedTtlMs: number, deniedTtlMs: number, now: () => number = Date.now) {
    this.client = client;
    this.allowedTtlMs = allowedTtlMs;
    this.deniedTtlMs = deniedTtlMs;
    this.cache = new TtlCache<AuthzDecision>(8192, now);
  }

  /** Errors talking to the API server reject (and are not cached). */
  authorize(a: RequestAttributes): Promise<AuthzDecision> {
    const spec = subjectAccessReviewSpec(a);
    return this.cache.getOrLoad(
      JSON.stringify(spec),
      async () => {
        this.reviews++;
        const status = await subjectAccessReviewCall((onStatus) =>
          createSubjectAccessReview(this.client, spec, undefined, onStatus),
        );
        const reason = typeof status.reason === "string" ? status.reason : "";
        if (status.allowed === true) return { decision: "allow", reason };
        return { decision: status.denied === true ? "deny" : "no-opinion", reason };
      },
      (d) => (d.decision === "allow" ? this.allowedTtlMs : this.deniedTtlMs),
    );
  }
}
