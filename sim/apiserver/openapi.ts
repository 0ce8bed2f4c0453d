// The OpenAPI v3 documents kubectl reads (GET /openapi/v3 and /openapi/v3/<group-version path>),
// built from the field table in sim/state/schema.ts. kubectl uses them for two things: whether a
// kind's PATCH takes the fieldValidation query parameter (server-side field validation), and the
// strategic-merge-patch metadata of each list (x-kubernetes-patch-merge-key/-strategy). The paths
// carry only what that needs: one operation per verb with its group-version-kind and parameters.

import { createHash } from "node:crypto";
import { type FieldType, RESOURCE_INFO, type Resource, ROOT_TYPE, TYPES } from "../state/index.ts";
import { resourcesOf } from "./routing.ts";

const ref = (name: string) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }], default: {} });

function schemaOf(t: FieldType): Record<string, unknown> {
  if (t === "string") return { type: "string" };
  if (t === "integer") return { type: "integer", format: "int64" };
  if (t === "boolean") return { type: "boolean" };
  if (t === "intOrString" || t === "quantity") return { "x-kubernetes-int-or-string": true };
  if (t === "any") return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  if ("map" in t) return { type: "object", additionalProperties: schemaOf(t.map) };
  if ("object" in t) return ref(t.object);
  const items = schemaOf(t.list);
  const out: Record<string, unknown> = { type: "array", items };
  if (t.mergeKey) {
    out["x-kubernetes-patch-merge-key"] = t.mergeKey;
    out["x-kubernetes-list-type"] = "map";
    out["x-kubernetes-list-map-keys"] = [t.mergeKey];
  } else out["x-kubernetes-list-type"] = "atomic";
  if (t.strategy) out["x-kubernetes-patch-strategy"] = t.strategy;
  if (!t.mergeKey && t.strategy) out["x-kubernetes-list-type"] = "set";
  return out;
}

/** The names of the types `root` reaches, itself included. */
function reachable(root: string, into: Set<string>): void {
  if (into.has(root)) return;
  into.add(root);
  const visit = (t: FieldType): void => {
    if (typeof t === "string") return;
    if ("map" in t) visit(t.map);
    else if ("object" in t) reachable(t.object, into);
    else visit(t.list);
  };
  for (const f of Object.values(TYPES[root] ?? {})) visit(f);
}

const QUERY = (name: string) => ({ name, in: "query", schema: { type: "string", uniqueItems: true } });
const WRITE_PARAMS = [QUERY("dryRun"), QUERY("fieldManager"), QUERY("fieldValidation")];
const PATH = (name: string) => ({ name, in: "path", required: true, schema: { type: "string" } });
const PATCH_BODY = {
  content: Object.fromEntries(
    [
      "application/json-patch+json",
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
      "application/apply-patch+yaml",
    ].map((m) => [m, { schema: { type: "object" } }]),
  ),
  required: true,
};

function operation(action: string, gvk: Record<string, string>, parameters: unknown[], extra = {}) {
  return {
    operationId: `${action}${gvk.kind}`,
    parameters,
    responses: { "200": { description: "OK" } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
    ...extra,
  };
}

/** The paths of one resource: its collection, its objects and (for kinds with one) their status. */
function pathsOf(resource: Resource, prefix: string): Record<string, unknown> {
  const info = RESOURCE_INFO[resource];
  const [group, version] = info.apiVersion.includes("/") ? info.apiVersion.split("/") : ["", info.apiVersion];
  const gvk = { group, version, kind: info.kind };
  const base = info.namespaced ? `${prefix}/namespaces/{namespace}/${resource}` : `${prefix}/${resource}`;
  const scope = info.namespaced ? [PATH("namespace")] : [];
  const one = [...scope, PATH("name")];
  const item = {
    get: operation("get", gvk, one),
    put: operation("put", gvk, [...one, ...WRITE_PARAMS]),
    patch: operation("patch", gvk, [...one, ...WRITE_PARAMS, QUERY("force")], { requestBody: PATCH_BODY }),
    delete: operation("delete", gvk, [...one, QUERY("propagationPolicy")]),
  };
  return {
    [base]: { get: operation("list", gvk, scope), post: operation("post", gvk, [...scope, ...WRITE_PARAMS]) },
    [`${base}/{name}`]: item,
  };
}

/** The OpenAPI v3 document of a group/version the simulator serves ("api/v1", "apis/apps/v1"). */
export function openApiDocument(gvPath: string): Record<string, unknown> | undefined {
  const gv = gvPath === "api/v1" ? "v1" : gvPath.startsWith("apis/") ? gvPath.slice(5) : "";
  const resources = resourcesOf(gv);
  if (!resources) return undefined;
  const paths: Record<string, unknown> = {};
  const names = new Set<string>();
  const kinds = new Map<string, Record<string, string>>();
  for (const r of resources) {
    Object.assign(paths, pathsOf(r, `/${gvPath}`));
    const root = ROOT_TYPE[r];
    if (!root) continue;
    reachable(root, names);
    const [group, version] = gv.includes("/") ? gv.split("/") : ["", gv];
    kinds.set(root, { group, version, kind: RESOURCE_INFO[r].kind });
  }
  const schemas: Record<string, unknown> = {};
  for (const name of [...names].sort()) {
    const properties = Object.fromEntries(Object.entries(TYPES[name]).map(([k, t]) => [k, schemaOf(t)]));
    const gvk = kinds.get(name);
    schemas[name] = {
      type: "object",
      properties,
      ...(gvk ? { "x-kubernetes-group-version-kind": [gvk] } : {}),
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes (simulated)", version: "v1.33.0" },
    paths,
    components: { schemas },
  };
}

/** GET /openapi/v3: every group/version document, addressed with a content hash as kube-apiserver does. */
export function openApiIndex(groupVersions: readonly string[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const gvPath of groupVersions) {
    const doc = openApiDocument(gvPath);
    if (!doc) continue;
    const hash = createHash("sha512").update(JSON.stringify(doc)).digest("hex").slice(0, 64).toUpperCase();
    paths[gvPath] = { serverRelativeURL: `/openapi/v3/${gvPath}?hash=${hash}` };
  }
  return { paths };
}
