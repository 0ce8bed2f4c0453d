// Which resource, namespace, name and subresource a request path addresses.

import { RESOURCE_INFO, RESOURCES, type Resource } from "../state/index.ts";

export interface ResourceRoute {
  resource: Resource;
  namespace: string | undefined;
  name: string | undefined;
  /** "status" or (service accounts) "token"; undefined for the object itself. */
  subresource?: string;
}

/** The resources served under each group/version path ("v1" for the core group). */
const BY_GROUP_VERSION = new Map<string, Resource[]>();
for (const r of RESOURCES) {
  const gv = RESOURCE_INFO[r].apiVersion;
  const list = BY_GROUP_VERSION.get(gv) ?? [];
  list.push(r);
  BY_GROUP_VERSION.set(gv, list);
}

/** The resources a group/version serves, in discovery order; undefined for a group the sim does not own. */
export function resourcesOf(groupVersion: string): readonly Resource[] | undefined {
  return BY_GROUP_VERSION.get(groupVersion);
}

export function routeResource(path: string): ResourceRoute | undefined {
  const s = path.split("/").filter((x) => x !== "");
  let gv: string;
  let rest: string[];
  if (s[0] === "api" && s[1] === "v1") {
    gv = "v1";
    rest = s.slice(2);
  } else if (s[0] === "apis" && s.length >= 4) {
    gv = `${s[1]}/${s[2]}`;
    rest = s.slice(3);
  } else return undefined;
  const served = BY_GROUP_VERSION.get(gv);
  if (!served) return undefined;
  let decoded: string[];
  try {
    decoded = rest.map((x) => decodeURIComponent(x));
  } catch {
    return undefined;
  }
  let namespace: string | undefined;
  // /namespaces/<ns>/<resource>...: a namespaced resource; /namespaces[/<ns>[/status]] is the Namespace.
  if (
    decoded[0] === "namespaces" &&
    decoded.length >= 3 &&
    decoded[2] !== "status" &&
    decoded[2] !== "finalize"
  ) {
    namespace = decoded[1];
    decoded = decoded.slice(2);
  }
  const resource = decoded[0] as Resource;
  if (!served.includes(resource)) return undefined;
  const namespaced = RESOURCE_INFO[resource].namespaced;
  if (namespaced !== (namespace !== undefined) && decoded.length > 1) return undefined;
  if (decoded.length === 1) return { resource, namespace, name: undefined };
  if (decoded.length === 2) return { resource, namespace, name: decoded[1] };
  if (decoded.length === 3 && decoded[2] === "status")
    return { resource, namespace, name: decoded[1], subresource: "status" };
  if (decoded.length === 3 && decoded[2] === "token" && resource === "serviceaccounts")
    return { resource, namespace, name: decoded[1], subresource: "token" };
  return undefined;
}
