// Discovery documents (/api, /apis, resource lists) and /version.

export const SIM_VERSION = "v1.33.0-sim";

const resourceDoc = (
  name: string,
  singular: string,
  namespaced: boolean,
  kind: string,
  verbs: string[],
  shortNames?: string[],
) => ({
  name,
  singularName: singular,
  namespaced,
  kind,
  verbs,
  ...(shortNames ? { shortNames } : {}),
});

export const CORE_V1_RESOURCES = {
  kind: "APIResourceList",
  groupVersion: "v1",
  resources: [
    resourceDoc("configmaps", "configmap", true, "ConfigMap", ["get", "list", "watch"], ["cm"]),
    resourceDoc(
      "endpoints",
      "endpoints",
      true,
      "Endpoints",
      ["create", "delete", "get", "list", "watch"],
      ["ep"],
    ),
    resourceDoc("nodes", "node", false, "Node", ["create", "delete", "get", "list", "watch"], ["no"]),
    resourceDoc("pods", "pod", true, "Pod", ["create", "delete", "get", "list", "watch"], ["po"]),
    resourceDoc(
      "services",
      "service",
      true,
      "Service",
      ["create", "delete", "get", "list", "watch"],
      ["svc"],
    ),
  ],
};

export const APIREG_V1_RESOURCES = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: "apiregistration.k8s.io/v1",
  resources: [
    resourceDoc("apiservices", "apiservice", false, "APIService", [
      "create",
      "delete",
      "get",
      "list",
      "watch",
    ]),
  ],
};

export const v1Group = (name: string) => ({
  name,
  versions: [{ groupVersion: `${name}/v1`, version: "v1" }],
  preferredVersion: { groupVersion: `${name}/v1`, version: "v1" },
});

export const APIREG_GROUP = v1Group("apiregistration.k8s.io");

/** The review APIs: create-only, cluster-scoped, served at /apis/<group>/v1/<resource>. */
export const REVIEW_GROUPS: Record<string, { resource: string; singular: string; kind: string }> = {
  "authentication.k8s.io": { resource: "tokenreviews", singular: "tokenreview", kind: "TokenReview" },
  "authorization.k8s.io": {
    resource: "subjectaccessreviews",
    singular: "subjectaccessreview",
    kind: "SubjectAccessReview",
  },
};

export function reviewResources(group: string): Record<string, unknown> {
  const r = REVIEW_GROUPS[group];
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: `${group}/v1`,
    resources: [resourceDoc(r.resource, r.singular, false, r.kind, ["create"])],
  };
}

export function versionInfo(): Record<string, string> {
  return {
    major: "1",
    minor: "33",
    emulationMajor: "1",
    emulationMinor: "33",
    gitVersion: SIM_VERSION,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-01-01T00:00:00Z",
    goVersion: "go1.24.0",
    compiler: "gc",
    platform: `linux/${process.arch === "arm64" ? "arm64" : "amd64"}`,
  };
}
