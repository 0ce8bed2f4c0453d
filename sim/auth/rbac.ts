// A small RBAC model for the simulated cluster: ClusterRoles, Roles and their bindings as data, and
// an authorizer that answers the way kube-apiserver's RBAC authorizer does (allow on the first
// matching rule, otherwise "no opinion", which the API server turns into 403). Also the request
// attributes kube-apiserver derives from a URL, and its forbidden messages.

import type { UserInfo } from "../types.ts";

/** The four RBAC resources, as the API names them. */
export type RbacResource = "clusterroles" | "roles" | "clusterrolebindings" | "rolebindings";

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  /** "pods", "nodes/metrics" (resource/subresource), "*", "*\/metrics", "nodes/*". */
  resources?: string[];
  resourceNames?: string[];
  /** Exact paths, or a prefix ending in "*". */
  nonResourceURLs?: string[];
}

export interface Role {
  name: string;
  /** undefined = a ClusterRole. */
  namespace?: string;
  rules: PolicyRule[];
}

export type SubjectKind = "User" | "Group" | "ServiceAccount";

export interface Subject {
  kind: SubjectKind;
  name: string;
  /** ServiceAccount subjects only. */
  namespace?: string;
}

export interface RoleRef {
  kind: "ClusterRole" | "Role";
  name: string;
}

export interface Binding {
  name: string;
  /** undefined = a ClusterRoleBinding. */
  namespace?: string;
  roleRef: RoleRef;
  subjects: Subject[];
}

export interface ResourceAttributes {
  verb: string;
  /** "" = the core group. */
  group: string;
  version?: string;
  resource: string;
  subresource?: string;
  /** undefined or "" = cluster scope. */
  namespace?: string;
  name?: string;
}

export interface NonResourceAttributes {
  verb: string;
  path: string;
}

export type Attributes =
  | ({ kind: "resource" } & ResourceAttributes)
  | ({ kind: "nonResource" } & NonResourceAttributes);

export interface Decision {
  allowed: boolean;
  /** RBAC's reason on allow ("RBAC: allowed by ..."); "" when no rule matched. */
  reason: string;
}

export const ANONYMOUS: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };

/** The user a service account token stands for, with the groups kube-apiserver gives it. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
  };
}

function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user.name;
    case "Group":
      return user.groups.includes(s.name);
    case "ServiceAccount": {
      // A RoleBinding's ServiceAccount subject defaults to the binding's namespace.
      const ns = s.namespace || bindingNamespace || "";
      return user.name === `system:serviceaccount:${ns}:${s.name}`;
    }
  }
}

function describeSubject(s: Subject, bindingNamespace: string | undefined): string {
  if (s.kind === "ServiceAccount") return `ServiceAccount "${s.name}/${s.namespace || bindingNamespace}"`;
  return `${s.kind} "${s.name}"`;
}

const has = (list: readonly string[] | undefined, value: string) =>
  list !== undefined && (list.includes("*") || list.includes(value));

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const rs = rule.resources ?? [];
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rs) {
    if (r === "*" || r === combined) return true;
    // "*/metrics" grants a subresource of every resource; "nodes/*" every subresource of nodes.
    if (subresource && r === `*/${subresource}`) return true;
    if (subresource && r === `${resource}/*`) return true;
  }
  return false;
}

/** kube's rbac.RuleAllows for resource requests. */
export function ruleAllowsResource(rule: PolicyRule, a: ResourceAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!has(rule.apiGroups, a.group)) return false;
  if (!resourceMatches(rule, a.resource, a.subresource)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== undefined && a.name !== "" && names.includes(a.name));
}

/** kube's rbac.RuleAllows for non-resource requests: exact path or a "*"-suffixed prefix. */
export function ruleAllowsNonResource(rule: PolicyRule, a: NonResourceAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === "*" || u === a.path) return true;
    if (u.endsWith("*") && a.path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (a.kind === "nonResource") return rule.nonResourceURLs !== undefined && ruleAllowsNonResource(rule, a);
  return rule.nonResourceURLs === undefined && ruleAllowsResource(rule, a);
}

const roleKey = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name);

export class Rbac {
  private readonly roles = new Map<string, Role>();
  private readonly bindings = new Map<string, Binding>();

  /** Adds or replaces a ClusterRole (no namespace) or Role. */
  putRole(role: Role): void {
    if (!role.name) throw new Error("Rbac.putRole: a role needs a name");
    for (const rule of role.rules) {
      if (!Array.isArray(rule.verbs) || rule.verbs.length === 0) {
        throw new Error(`Rbac.putRole: role ${role.name}: every rule needs verbs`);
      }
      if (rule.nonResourceURLs !== undefined && (rule.resources !== undefined || role.namespace)) {
        throw new Error(
          `Rbac.putRole: role ${role.name}: nonResourceURLs only belong in ClusterRole rules without resources`,
        );
      }
    }
    this.roles.set(roleKey(role.namespace, role.name), structuredClone(role));
  }

  /** Adds or replaces a ClusterRoleBinding (no namespace) or RoleBinding. */
  putBinding(binding: Binding): void {
    if (!binding.name) throw new Error("Rbac.putBinding: a binding needs a name");
    if (binding.roleRef.kind === "Role" && !binding.namespace) {
      throw new Error(`Rbac.putBinding: ClusterRoleBinding ${binding.name} cannot refer to a Role`);
    }
    this.bindings.set(roleKey(binding.namespace, binding.name), structuredClone(binding));
  }

  deleteRole(namespace: string | undefined, name: string): boolean {
    return this.roles.delete(roleKey(namespace, name));
  }

  deleteBinding(namespace: string | undefined, name: string): boolean {
    return this.bindings.delete(roleKey(namespace, name));
  }

  role(namespace: string | undefined, name: string): Role | undefined {
    const r = this.roles.get(roleKey(namespace, name));
    return r ? structuredClone(r) : undefined;
  }

  binding(namespace: string | undefined, name: string): Binding | undefined {
    const b = this.bindings.get(roleKey(namespace, name));
    return b ? structuredClone(b) : undefined;
  }

  /**
   * Adds or replaces a role or binding from its API object (JSON as stored). Returns a problem
   * instead of throwing: an object that cannot take part in decisions is left out.
   */
  putObject(resource: RbacResource, obj: Record<string, unknown>): string | undefined {
    const meta = rec(obj.metadata);
    const name = typeof meta.name === "string" ? meta.name : "";
    const namespace =
      resource === "roles" || resource === "rolebindings" ? String(meta.namespace ?? "") : undefined;
    try {
      if (resource === "clusterroles" || resource === "roles") {
        const rules = Array.isArray(obj.rules) ? obj.rules.map(rec) : [];
        this.putRole({
          name,
          ...(namespace ? { namespace } : {}),
          rules: rules.map((r) => ({
            verbs: strings(r.verbs) ?? [],
            ...optional("apiGroups", strings(r.apiGroups)),
            ...optional("resources", strings(r.resources)),
            ...optional("resourceNames", strings(r.resourceNames)),
            ...optional("nonResourceURLs", strings(r.nonResourceURLs)),
          })),
        });
      } else {
        const ref = rec(obj.roleRef);
        const subjects = Array.isArray(obj.subjects) ? obj.subjects.map(rec) : [];
        this.putBinding({
          name,
          ...(namespace ? { namespace } : {}),
          roleRef: { kind: ref.kind === "Role" ? "Role" : "ClusterRole", name: String(ref.name ?? "") },
          subjects: subjects
            .filter((x) => x.kind === "User" || x.kind === "Group" || x.kind === "ServiceAccount")
            .map((x) => ({
              kind: x.kind as SubjectKind,
              name: String(x.name ?? ""),
              ...(typeof x.namespace === "string" ? { namespace: x.namespace } : {}),
            })),
        });
      }
      return undefined;
    } catch (err) {
      this.deleteObject(resource, namespace, name);
      return (err as Error).message;
    }
  }

  deleteObject(resource: RbacResource, namespace: string | undefined, name: string): void {
    if (resource === "clusterroles" || resource === "roles") this.deleteRole(namespace, name);
    else this.deleteBinding(namespace, name);
  }

  /**
   * RBAC's decision. ClusterRoleBindings apply everywhere; a RoleBinding applies only to requests in
   * its namespace (and never to non-resource URLs), whether it refers to a Role or a ClusterRole.
   */
  authorize(user: UserInfo, a: Attributes): Decision {
    const ns = a.kind === "resource" ? a.namespace || undefined : undefined;
    const ordered = [...this.bindings.values()].sort(
      (x, y) => Number(x.namespace !== undefined) - Number(y.namespace !== undefined),
    );
    for (const b of ordered) {
      if (b.namespace !== undefined && (a.kind === "nonResource" || b.namespace !== ns)) continue;
      const subject = b.subjects.find((s) => subjectMatches(s, user, b.namespace));
      if (!subject) continue;
      const role = this.roles.get(
        roleKey(b.roleRef.kind === "Role" ? b.namespace : undefined, b.roleRef.name),
      );
      if (!role?.rules.some((r) => ruleAllows(r, a))) continue;
      const where = b.namespace ? `RoleBinding "${b.name}/${b.namespace}"` : `ClusterRoleBinding "${b.name}"`;
      return {
        allowed: true,
        reason: `RBAC: allowed by ${where} of ${b.roleRef.kind} "${b.roleRef.name}" to ${describeSubject(subject, b.namespace)}`,
      };
    }
    return { allowed: false, reason: "" };
  }
}

// --- Request attributes and messages --------------------------------------------------------------

const VERB_OF_METHOD: Record<string, string> = {
  GET: "get",
  HEAD: "get",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/**
 * kube-apiserver's RequestInfo: the authorization attributes of a request. /api/v1/... and
 * /apis/<group>/<version>/... are resource requests (list/watch/get, create, delete...); everything
 * else is a non-resource request whose verb is the lower-cased method.
 */
export function requestAttributes(method: string, path: string, query: URLSearchParams): Attributes {
  const nonResource = (): Attributes => ({ kind: "nonResource", verb: method.toLowerCase(), path });
  const parts = path.split("/").filter((s) => s !== "");
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return nonResource();
  }
  let verb = VERB_OF_METHOD[method.toUpperCase()] ?? method.toLowerCase();
  // The deprecated /watch/ prefix.
  if (rest[0] === "watch") {
    verb = "watch";
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // /namespaces/<ns>/<resource>... ; /namespaces and /namespaces/<ns>[/status] are the namespace itself.
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1]);
    rest = rest.slice(2);
  } else if (rest[0] === "namespaces" && rest.length === 2) {
    namespace = decodeURIComponent(rest[1]);
  }
  const decode = (s: string | undefined) => (s === undefined ? undefined : decodeURIComponent(s));
  const resource = rest[0] ?? "";
  let name = decode(rest[1]);
  const subresource = decode(rest[2]);
  if (name === undefined) {
    if (verb === "get") {
      const watch = query.get("watch");
      verb = watch === "true" || watch === "1" ? "watch" : "list";
    } else if (verb === "delete") verb = "deletecollection";
    // A list or watch of exactly one name is authorized as that name (kube reads the field selector).
    if (verb === "list" || verb === "watch") {
      const m = /^metadata\.name==?([^,]+)$/.exec(query.get("fieldSelector") ?? "");
      if (m) name = m[1];
    }
  }
  return {
    kind: "resource",
    verb,
    group,
    version,
    resource,
    ...(subresource !== undefined ? { subresource } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

/** kube-apiserver's forbiddenMessage (without the "<resource> is forbidden: " prefix). */
export function forbiddenReason(user: UserInfo, a: Attributes): string {
  if (a.kind === "nonResource") return `User "${user.name}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}`;
}

/** The full 403 message and details of kube-apiserver's Forbidden Status. */
export function forbiddenStatus(
  user: UserInfo,
  a: Attributes,
  reason = "",
): { message: string; details: Record<string, string> } {
  const why = forbiddenReason(user, a) + (reason ? `: ${reason}` : "");
  if (a.kind === "nonResource") return { message: `forbidden: ${why}`, details: {} };
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name ? `${qualified} "${a.name}"` : qualified;
  return {
    message: `${subject} is forbidden: ${why}`,
    details: {
      ...(a.name ? { name: a.name } : {}),
      ...(a.group ? { group: a.group } : {}),
      kind: a.resource,
    },
  };
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
}

function optional<K extends string>(key: K, v: string[] | undefined): { [k in K]?: string[] } {
  return (v === undefined ? {} : { [key]: v }) as { [k in K]?: string[] };
}
