import assert from "node:assert/strict";
import { test } from "node:test";
import { Rbac } from "../auth/index.ts";
import { Cluster } from "../state/index.ts";
import { storeBootstrapPolicy, syncRbac } from "./rbacsync.ts";

const sa = {
  name: "system:serviceaccount:kube-system:ms",
  groups: ["system:serviceaccounts", "system:authenticated"],
};
const listNodes = { kind: "resource" as const, verb: "list", group: "", resource: "nodes" };

test("the authorizer follows the stored RBAC objects; --bare stores none of metrics-server's", async () => {
  const cluster = new Cluster({ nodes: [], pods: [] });
  await storeBootstrapPolicy(cluster, true);
  assert.equal(cluster.get("clusterroles", undefined, "system:metrics-server"), undefined);
  assert.ok(cluster.get("clusterroles", undefined, "cluster-admin"));
  assert.ok(cluster.get("roles", "kube-system", "extension-apiserver-authentication-reader"));
  const rbac = new Rbac();
  const stop = syncRbac(cluster, rbac, () => {});
  assert.equal(rbac.authorize(sa, listNodes).allowed, false);

  await cluster.create("clusterroles", undefined, {
    metadata: { name: "lister" },
    rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["list"] }],
  });
  await cluster.create("clusterrolebindings", undefined, {
    metadata: { name: "lister" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "lister" },
    subjects: [{ kind: "ServiceAccount", name: "ms", namespace: "kube-system" }],
  });
  assert.equal(rbac.authorize(sa, listNodes).allowed, true);
  cluster.patch("clusterroles", undefined, "lister", "application/merge-patch+json", {
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }],
  });
  assert.equal(rbac.authorize(sa, listNodes).allowed, false);
  await cluster.delete("clusterroles", undefined, "lister");
  assert.equal(rbac.authorize(sa, { ...listNodes, resource: "pods" }).allowed, false);
  stop();
});

test("ClusterRole aggregation: labelled roles' rules land in view, edit and admin", async () => {
  const cluster = new Cluster({ nodes: [], pods: [] });
  await storeBootstrapPolicy(cluster, true);
  const rbac = new Rbac();
  const stop = syncRbac(cluster, rbac, () => {});
  const metricsRule = {
    apiGroups: ["metrics.k8s.io"],
    resources: ["pods", "nodes"],
    verbs: ["get", "list", "watch"],
  };
  const has = (role: string) =>
    (cluster.mustGet("clusterroles", undefined, role).rules as unknown[]).some(
      (r) => JSON.stringify(r) === JSON.stringify(metricsRule),
    );
  assert.equal(has("view"), false);
  assert.ok(
    (cluster.mustGet("clusterroles", undefined, "view").rules as unknown[]).length > 0,
    "view aggregates the system role",
  );
  await cluster.create("clusterroles", undefined, {
    metadata: {
      name: "system:aggregated-metrics-reader",
      labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
    },
    rules: [metricsRule],
  });
  // view has it, and so do edit and admin, which aggregate view and edit (as kube's roles do).
  assert.equal(has("view"), true);
  assert.equal(has("edit"), true);
  assert.equal(has("admin"), true);
  await cluster.delete("clusterroles", undefined, "system:aggregated-metrics-reader");
  assert.equal(has("view"), false);
  assert.equal(has("admin"), false);
  stop();
});
