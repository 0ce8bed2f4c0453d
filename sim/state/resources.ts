// The resources the simulated API server serves and the shape of their objects.

export type Resource =
  | "nodes"
  | "pods"
  | "services"
  | "endpoints"
  | "apiservices"
  | "configmaps"
  | "namespaces"
  | "serviceaccounts"
  | "secrets"
  | "clusterroles"
  | "clusterrolebindings"
  | "roles"
  | "rolebindings"
  | "deployments"
  | "poddisruptionbudgets";

export const RESOURCES: readonly Resource[] = [
  "nodes",
  "pods",
  "services",
  "endpoints",
  "apiservices",
  "configmaps",
  "namespaces",
  "serviceaccounts",
  "secrets",
  "clusterroles",
  "clusterrolebindings",
  "roles",
  "rolebindings",
  "deployments",
  "poddisruptionbudgets",
];

export interface ResourceInfo {
  kind: string;
  apiVersion: string;
  /** "" for the core group. */
  group: string;
  namespaced: boolean;
}

function rbac(kind: string, namespaced: boolean): ResourceInfo {
  return { kind, apiVersion: "rbac.authorization.k8s.io/v1", group: "rbac.authorization.k8s.io", namespaced };
}

export const RESOURCE_INFO: Readonly<Record<Resource, ResourceInfo>> = {
  nodes: { kind: "Node", apiVersion: "v1", group: "", namespaced: false },
  pods: { kind: "Pod", apiVersion: "v1", group: "", namespaced: true },
  services: { kind: "Service", apiVersion: "v1", group: "", namespaced: true },
  endpoints: { kind: "Endpoints", apiVersion: "v1", group: "", namespaced: true },
  configmaps: { kind: "ConfigMap", apiVersion: "v1", group: "", namespaced: true },
  namespaces: { kind: "Namespace", apiVersion: "v1", group: "", namespaced: false },
  serviceaccounts: { kind: "ServiceAccount", apiVersion: "v1", group: "", namespaced: true },
  secrets: { kind: "Secret", apiVersion: "v1", group: "", namespaced: true },
  clusterroles: rbac("ClusterRole", false),
  clusterrolebindings: rbac("ClusterRoleBinding", false),
  roles: rbac("Role", true),
  rolebindings: rbac("RoleBinding", true),
  deployments: { kind: "Deployment", apiVersion: "apps/v1", group: "apps", namespaced: true },
  poddisruptionbudgets: {
    kind: "PodDisruptionBudget",
    apiVersion: "policy/v1",
    group: "policy",
    namespaced: true,
  },
  apiservices: {
    kind: "APIService",
    apiVersion: "apiregistration.k8s.io/v1",
    group: "apiregistration.k8s.io",
    namespaced: false,
  },
};

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** What kube-apiserver calls the resource in messages: `nodes`, `apiservices.apiregistration.k8s.io`. */
export function qualifiedResource(resource: Resource): string {
  const g = RESOURCE_INFO[resource].group;
  return g ? `${resource}.${g}` : resource;
}
