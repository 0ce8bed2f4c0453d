// Which resource, namespace and name a request path addresses.

import { RESOURCE_INFO, type Resource } from "../state/index.ts";

export interface ResourceRoute {
  resource: Resource;
  namespace: string | undefined;
  name: string | undefined;
}

const CORE_RESOURCES: readonly Resource[] = ["nodes", "pods", "services", "endpoints", "configmaps"];

export function routeResource(path: string): ResourceRoute | undefined {
  const s = path.split("/").filter((x) => x !== "");
  const decode = (x: string) => decodeURIComponent(x);
  if (s[0] === "apis" && s[1] === "apiregistration.k8s.io" && s[2] === "v1" && s[3] === "apiservices") {
    if (s.length === 4) return { resource: "apiservices", namespace: undefined, name: undefined };
    if (s.length === 5) return { resource: "apiservices", namespace: undefined, name: decode(s[4]) };
    return undefined;
  }
  if (s[0] !== "api" || s[1] !== "v1") return undefined;
  const rest = s.slice(2);
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const resource = rest[2] as Resource;
    if (!CORE_RESOURCES.includes(resource) || !RESOURCE_INFO[resource].namespaced) return undefined;
    if (rest.length === 3) return { resource, namespace: decode(rest[1]), name: undefined };
    if (rest.length === 4) return { resource, namespace: decode(rest[1]), name: decode(rest[3]) };
    return undefined;
  }
  const resource = rest[0] as Resource;
  if (!CORE_RESOURCES.includes(resource)) return undefined;
  if (rest.length === 1) return { resource, namespace: undefined, name: undefined };
  if (rest.length === 2 && !RESOURCE_INFO[resource].namespaced)
    return { resource, namespace: undefined, name: decode(rest[1]) };
  return undefined;
}
