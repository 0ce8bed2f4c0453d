// Discovery documents (/api, /apis, resource lists) and /version.

import { RESOURCE_INFO, RESOURCES, type Resource } from "../state/index.ts";

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

const READ_WRITE = ["create", "delete", "get", "list", "patch", "update", "watch"];
/** Nodes and pods are the scenario's: created and deleted through the API, never updated. */
const CREATE_DELETE = ["create", "delete", "get", "list", "watch"];

/** Discovery facts kube-apiserver publishes for each resource (kubectl reads shortNames from here). */
const DISCOVERY: Record<
  Resource,
  { singular: string; shortNames?: string[]; verbs: string[]; status?: boolean }
> = {
  nodes: { singular: "node", shortNames: ["no"], verbs: CREATE_DELETE },
  pods: { singular: "pod", shortNames: ["po"], verbs: CREATE_DELETE, status: true },
  services: { singular: "service", shortNames: ["svc"], verbs: READ_WRITE, status: true },
  endpoints: { singular: "endpoints", shortNames: ["ep"], verbs: READ_WRITE },
  configmaps: { singular: "configmap", shortNames: ["cm"], verbs: READ_WRITE },
  namespaces: { singular: "namespace", shortNames: ["ns"], verbs: READ_WRITE, status: true },
  serviceaccounts: { singular: "serviceaccount", shortNames: ["sa"], verbs: READ_WRITE },
  secrets: { singular: "secret", verbs: READ_WRITE },
  clusterroles: { singular: "clusterrole", verbs: READ_WRITE },
  clusterrolebindings: { singular: "clusterrolebinding", verbs: READ_WRITE },
  roles: { singular: "role", verbs: READ_WRITE },
  rolebindings: { singular: "rolebinding", verbs: READ_WRITE },
  deployments: { singular: "deployment", shortNames: ["deploy"], verbs: READ_WRITE, status: true },
  poddisruptionbudgets: {
    singular: "poddisruptionbudget",
    shortNames: ["pdb"],
    verbs: READ_WRITE,
    status: true,
  },
  apiservices: { singular: "apiservice", verbs: READ_WRITE, status: true },
};

/** The APIResourceList of a group/version the simulator serves itself ("v1" = core). */
export function resourceList(groupVersion: string, resources: readonly Resource[]): Record<string, unknown> {
  const docs: Record<string, unknown>[] = [];
  for (const r of [...resources].sort()) {
    const d = DISCOVERY[r];
    const info = RESOURCE_INFO[r];
    docs.push(resourceDoc(r, d.singular, info.namespaced, info.kind, d.verbs, d.shortNames));
    if (d.status)
      docs.push(resourceDoc(`${r}/status`, "", info.namespaced, info.kind, ["get", "patch", "update"]));
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources: docs };
}

/** The named API groups the simulator serves itself (not the aggregated ones). */
export function ownGroups(): ReturnType<typeof v1Group>[] {
  const names = new Set<string>();
  for (const r of RESOURCES) if (RESOURCE_INFO[r].group) names.add(RESOURCE_INFO[r].group);
  return [...names].sort().map(v1Group);
}

export const v1Group = (name: string) => ({
  name,
  versions: [{ groupVersion: `${name}/v1`, version: "v1" }],
  preferredVersion: { groupVersion: `${name}/v1`, version: "v1" },
});

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
    resources: [
      resourceDoc(r.resource, r.singular, false, r.kind, ["create"]),
      // Every user may ask about themselves (kubectl auth can-i).
      ...(r.kind === "SubjectAccessReview"
        ? [
            resourceDoc(
              "selfsubjectaccessreviews",
              "selfsubjectaccessreview",
              false,
              "SelfSubjectAccessReview",
              ["create"],
            ),
          ]
        : []),
    ],
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
