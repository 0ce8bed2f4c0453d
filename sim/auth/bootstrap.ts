// The RBAC objects the simulated cluster starts with, as kube-apiserver's bootstrap policy creates
// them (the parts that matter here; see https://kubernetes.io/docs/reference/access-authn-authz/rbac/
// "Default roles and role bindings"), the demo users' bindings, and unless the cluster is bare,
// upstream metrics-server's RBAC (kubernetes-sigs/metrics-server manifests/base/rbac.yaml) plus the
// read of its own APIServices that this project's manifests add.

import { type PolicyRule, Rbac, type RbacResource, type Subject } from "./rbac.ts";

export const METRICS_SERVER_SA = { namespace: "kube-system", name: "metrics-server" } as const;

export interface PolicyObject {
  resource: RbacResource;
  object: Record<string, unknown>;
}

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const RBAC_V1 = "rbac.authorization.k8s.io/v1";
const AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-";

const meta = (name: string, namespace?: string, labels?: Record<string, string>) => ({
  name,
  ...(namespace ? { namespace } : {}),
  labels: { "kubernetes.io/bootstrapping": "rbac-defaults", ...labels },
  annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" },
});

function clusterRole(name: string, rules: PolicyRule[], labels?: Record<string, string>): PolicyObject {
  return {
    resource: "clusterroles",
    object: { apiVersion: RBAC_V1, kind: "ClusterRole", metadata: meta(name, undefined, labels), rules },
  };
}

/** A ClusterRole whose rules are those of every ClusterRole labelled aggregate-to-<to>. */
function aggregated(name: string, to: string, labels?: Record<string, string>): PolicyObject {
  return {
    resource: "clusterroles",
    object: {
      apiVersion: RBAC_V1,
      kind: "ClusterRole",
      metadata: meta(name, undefined, labels),
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`${AGGREGATE}${to}`]: "true" } }] },
      rules: [],
    },
  };
}

function binding(
  name: string,
  roleRef: { kind: "ClusterRole" | "Role"; name: string },
  subjects: Subject[],
  namespace?: string,
): PolicyObject {
  return {
    resource: namespace ? "rolebindings" : "clusterrolebindings",
    object: {
      apiVersion: RBAC_V1,
      kind: namespace ? "RoleBinding" : "ClusterRoleBinding",
      metadata: meta(name, namespace),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", ...roleRef },
      subjects: subjects.map((s) => ({
        ...(s.kind === "ServiceAccount" ? {} : { apiGroup: "rbac.authorization.k8s.io" }),
        ...s,
      })),
    },
  };
}

const group = (name: string): Subject => ({ kind: "Group", name });
const user = (name: string): Subject => ({ kind: "User", name });

/** What users may read and (edit) change, split the way kube's system:aggregate-to-* roles split it. */
const WORKLOADS: PolicyRule[] = [
  {
    apiGroups: [""],
    resources: ["configmaps", "endpoints", "pods", "services", "serviceaccounts"],
    verbs: [],
  },
  { apiGroups: ["apps"], resources: ["deployments"], verbs: [] },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: [] },
];

/** The policy objects to store at start; `metricsServer` adds upstream metrics-server's RBAC. */
export function bootstrapPolicy(options: { metricsServer: boolean }): PolicyObject[] {
  const sa: Subject = { kind: "ServiceAccount", ...METRICS_SERVER_SA };
  const out: PolicyObject[] = [
    clusterRole("cluster-admin", [
      { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
      { nonResourceURLs: ["*"], verbs: ["*"] },
    ]),
    binding("cluster-admin", { kind: "ClusterRole", name: "cluster-admin" }, [group("system:masters")]),
    // Health and version for everyone, API discovery only for authenticated users (since 1.14).
    clusterRole("system:public-info-viewer", [
      { nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"], verbs: ["get"] },
    ]),
    binding("system:public-info-viewer", { kind: "ClusterRole", name: "system:public-info-viewer" }, [
      group("system:authenticated"),
      group("system:unauthenticated"),
    ]),
    clusterRole("system:discovery", [
      {
        nonResourceURLs: [
          "/api",
          "/api/*",
          "/apis",
          "/apis/*",
          "/healthz",
          "/livez",
          "/openapi",
          "/openapi/*",
          "/readyz",
          "/version",
          "/version/",
        ],
        verbs: ["get"],
      },
    ]),
    binding("system:discovery", { kind: "ClusterRole", name: "system:discovery" }, [
      group("system:authenticated"),
    ]),
    // Every authenticated user may ask what they may do (kubectl auth can-i).
    clusterRole("system:basic-user", [
      {
        apiGroups: ["authorization.k8s.io"],
        resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        verbs: ["create"],
      },
    ]),
    binding("system:basic-user", { kind: "ClusterRole", name: "system:basic-user" }, [
      group("system:authenticated"),
    ]),
    clusterRole("system:auth-delegator", [
      { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    ]),
    {
      resource: "roles",
      object: {
        apiVersion: RBAC_V1,
        kind: "Role",
        metadata: meta("extension-apiserver-authentication-reader", "kube-system"),
        rules: [
          {
            apiGroups: [""],
            resources: ["configmaps"],
            resourceNames: ["extension-apiserver-authentication"],
            verbs: READ,
          },
        ],
      },
    },
    // The user-facing roles are aggregated (kube's clusterrole-aggregation controller fills them in).
    aggregated("admin", "admin"),
    aggregated("edit", "edit", { [`${AGGREGATE}admin`]: "true" }),
    aggregated("view", "view", { [`${AGGREGATE}edit`]: "true" }),
    clusterRole(
      "system:aggregate-to-view",
      WORKLOADS.map((r) => ({ ...r, verbs: READ })),
      { [`${AGGREGATE}view`]: "true" },
    ),
    clusterRole(
      "system:aggregate-to-edit",
      [
        ...WORKLOADS.map((r) => ({ ...r, verbs: WRITE })),
        { apiGroups: [""], resources: ["secrets"], verbs: [...READ, ...WRITE] },
      ],
      { [`${AGGREGATE}edit`]: "true" },
    ),
    clusterRole(
      "system:aggregate-to-admin",
      [
        {
          apiGroups: ["rbac.authorization.k8s.io"],
          resources: ["roles", "rolebindings"],
          verbs: [...READ, ...WRITE],
        },
      ],
      { [`${AGGREGATE}admin`]: "true" },
    ),
    // The simulator's truth is a debugging aid any authenticated user may read.
    clusterRole("sim:truth-reader", [{ nonResourceURLs: ["/sim/truth"], verbs: ["get"] }]),
    binding("sim:truth-reader", { kind: "ClusterRole", name: "sim:truth-reader" }, [
      group("system:authenticated"),
    ]),
  ];
  if (options.metricsServer) {
    out.push(
      clusterRole(
        "system:aggregated-metrics-reader",
        [{ apiGroups: ["metrics.k8s.io"], resources: ["pods", "nodes"], verbs: READ }],
        { [`${AGGREGATE}view`]: "true", [`${AGGREGATE}edit`]: "true", [`${AGGREGATE}admin`]: "true" },
      ),
      clusterRole("system:metrics-server", [
        { apiGroups: [""], resources: ["nodes/metrics", "nodes/stats"], verbs: ["get"] },
        { apiGroups: [""], resources: ["pods", "nodes"], verbs: READ },
        // Ours, not upstream's: the self-check reads whether its APIServices are Available.
        {
          apiGroups: ["apiregistration.k8s.io"],
          resources: ["apiservices"],
          resourceNames: ["v1beta1.metrics.k8s.io", "v1alpha1.diagnostics.metrics-server.x-k8s.io"],
          verbs: ["get"],
        },
      ]),
      binding("system:metrics-server", { kind: "ClusterRole", name: "system:metrics-server" }, [sa]),
      binding(
        "metrics-server:system:auth-delegator",
        { kind: "ClusterRole", name: "system:auth-delegator" },
        [sa],
      ),
      binding(
        "metrics-server-auth-reader",
        { kind: "Role", name: "extension-apiserver-authentication-reader" },
        [sa],
        "kube-system",
      ),
    );
  }
  // The demo users: viewer (and the user of a rotated client CA) may read metrics; nobody may not.
  // Under --bare the role comes from the applied manifests; until then the binding grants nothing.
  out.push(
    binding("sim:metrics-viewers", { kind: "ClusterRole", name: "system:aggregated-metrics-reader" }, [
      user("viewer"),
      user("rotated"),
    ]),
  );
  return out;
}

/** An authorizer holding the full start policy, without a cluster (for tests of the RBAC model). */
export function builtinRbac(): Rbac {
  const rbac = new Rbac();
  for (const p of bootstrapPolicy({ metricsServer: true })) {
    const problem = rbac.putObject(p.resource, p.object);
    if (problem) throw new Error(`bootstrap policy: ${problem}`);
  }
  return rbac;
}
