import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { builtinRbac } from "./bootstrap.ts";
import {
  forbiddenStatus,
  Rbac,
  requestAttributes,
  ruleAllowsNonResource,
  serviceAccountUser,
} from "./rbac.ts";

const user = (name: string, ...groups: string[]) => ({ name, groups: [...groups, "system:authenticated"] });
const sa = serviceAccountUser("kube-system", "metrics-server");
const res = (verb: string, group: string, resource: string, extra: Record<string, string> = {}) =>
  ({ kind: "resource", verb, group, resource, ...extra }) as const;

describe("the built-in policy", () => {
  const rbac = builtinRbac();

  test("system:masters may do anything, through cluster-admin", () => {
    const d = rbac.authorize(user("kubernetes-admin", "system:masters"), res("delete", "", "nodes"));
    assert.equal(d.allowed, true);
    assert.equal(
      d.reason,
      'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"',
    );
    assert.equal(
      rbac.authorize(user("x", "system:masters"), { kind: "nonResource", verb: "post", path: "/sim/compact" })
        .allowed,
      true,
    );
  });

  test("viewer reads metrics.k8s.io and nothing else; nobody reads nothing", () => {
    const viewer = user("viewer");
    for (const verb of ["get", "list", "watch"]) {
      assert.equal(
        rbac.authorize(viewer, res(verb, "metrics.k8s.io", "pods", { namespace: "default" })).allowed,
        true,
      );
      assert.equal(rbac.authorize(viewer, res(verb, "metrics.k8s.io", "nodes")).allowed, true);
    }
    assert.equal(rbac.authorize(viewer, res("create", "metrics.k8s.io", "pods")).allowed, false);
    assert.equal(rbac.authorize(viewer, res("list", "", "pods")).allowed, false);
    assert.equal(rbac.authorize(user("nobody"), res("list", "metrics.k8s.io", "pods")).allowed, false);
  });

  test("the metrics-server service account gets what upstream's manifests give it, and reads its APIServices", () => {
    const allow = (a: Parameters<Rbac["authorize"]>[1]) => rbac.authorize(sa, a).allowed;
    assert.equal(allow(res("get", "", "nodes", { subresource: "metrics", name: "node-1" })), true);
    assert.equal(allow(res("get", "", "nodes", { subresource: "stats", name: "node-1" })), true);
    assert.equal(allow(res("get", "", "nodes", { subresource: "proxy", name: "node-1" })), false);
    assert.equal(allow(res("watch", "", "pods")), true);
    assert.equal(allow(res("list", "", "nodes")), true);
    assert.equal(allow(res("delete", "", "pods", { namespace: "default", name: "p" })), false);
    assert.equal(allow(res("create", "authentication.k8s.io", "tokenreviews")), true);
    assert.equal(allow(res("create", "authorization.k8s.io", "subjectaccessreviews")), true);
    const cm = { namespace: "kube-system", name: "extension-apiserver-authentication" };
    assert.equal(allow(res("get", "", "configmaps", cm)), true);
    const apiService = (name: string) => res("get", "apiregistration.k8s.io", "apiservices", { name });
    assert.equal(allow(apiService("v1beta1.metrics.k8s.io")), true);
    assert.equal(allow(apiService("v1alpha1.diagnostics.metrics-server.x-k8s.io")), true);
    assert.equal(allow(apiService("v1.apps")), false);
    assert.equal(allow(res("list", "apiregistration.k8s.io", "apiservices")), false);
    assert.equal(allow(res("watch", "", "configmaps", cm)), true);
    // The Role names one ConfigMap, in kube-system only.
    assert.equal(allow(res("list", "", "configmaps", { namespace: "kube-system" })), false);
    assert.equal(allow(res("get", "", "configmaps", { ...cm, namespace: "default" })), false);
    assert.equal(allow(res("get", "", "configmaps", { namespace: "kube-system", name: "other" })), false);
    assert.equal(
      rbac.authorize(sa, res("get", "", "configmaps", cm)).reason,
      'RBAC: allowed by RoleBinding "metrics-server-auth-reader/kube-system" of Role "extension-apiserver-authentication-reader" to ServiceAccount "metrics-server/kube-system"',
    );
    // Another service account with the same name elsewhere gets nothing.
    assert.equal(
      rbac.authorize(serviceAccountUser("default", "metrics-server"), res("list", "", "pods")).allowed,
      false,
    );
  });

  test("discovery for authenticated users, health and version for everyone", () => {
    const anon = { name: "system:anonymous", groups: ["system:unauthenticated"] };
    const get = (path: string) => ({ kind: "nonResource", verb: "get", path }) as const;
    for (const p of ["/healthz", "/readyz", "/livez", "/version"])
      assert.equal(rbac.authorize(anon, get(p)).allowed, true);
    assert.equal(rbac.authorize(anon, get("/apis")).allowed, false);
    for (const p of ["/api", "/api/v1", "/apis", "/apis/metrics.k8s.io/v1beta1", "/openapi/v2"]) {
      assert.equal(rbac.authorize(user("nobody"), get(p)).allowed, true, p);
    }
    assert.equal(rbac.authorize(user("nobody"), get("/metrics")).allowed, false);
    assert.equal(
      rbac.authorize(user("nobody"), { kind: "nonResource", verb: "post", path: "/api" }).allowed,
      false,
    );
  });
});

describe("rules", () => {
  test("subresource wildcards and resourceNames", () => {
    const rbac = new Rbac();
    rbac.putRole({
      name: "r",
      rules: [{ verbs: ["get"], apiGroups: [""], resources: ["*/metrics"], resourceNames: ["a"] }],
    });
    rbac.putBinding({
      name: "b",
      roleRef: { kind: "ClusterRole", name: "r" },
      subjects: [{ kind: "User", name: "u" }],
    });
    const u = user("u");
    assert.equal(
      rbac.authorize(u, res("get", "", "nodes", { subresource: "metrics", name: "a" })).allowed,
      true,
    );
    assert.equal(
      rbac.authorize(u, res("get", "", "nodes", { subresource: "metrics", name: "b" })).allowed,
      false,
    );
    assert.equal(rbac.authorize(u, res("get", "", "nodes", { name: "a" })).allowed, false);
    assert.equal(rbac.deleteBinding(undefined, "b"), true);
    assert.equal(
      rbac.authorize(u, res("get", "", "nodes", { subresource: "metrics", name: "a" })).allowed,
      false,
    );
  });

  test("a RoleBinding to a ClusterRole grants only in its namespace", () => {
    const rbac = new Rbac();
    rbac.putRole({ name: "reader", rules: [{ verbs: ["list"], apiGroups: [""], resources: ["pods"] }] });
    rbac.putBinding({
      name: "b",
      namespace: "team",
      roleRef: { kind: "ClusterRole", name: "reader" },
      subjects: [{ kind: "Group", name: "devs" }],
    });
    const dev = user("d", "devs");
    assert.equal(rbac.authorize(dev, res("list", "", "pods", { namespace: "team" })).allowed, true);
    assert.equal(rbac.authorize(dev, res("list", "", "pods", { namespace: "other" })).allowed, false);
    assert.equal(rbac.authorize(dev, res("list", "", "pods")).allowed, false);
  });

  test("bad roles and bindings are refused", () => {
    const rbac = new Rbac();
    assert.throws(() => rbac.putRole({ name: "x", rules: [{ verbs: [] }] }), /every rule needs verbs/);
    assert.throws(
      () => rbac.putBinding({ name: "x", roleRef: { kind: "Role", name: "r" }, subjects: [] }),
      /cannot refer to a Role/,
    );
  });

  test("a non-resource URL ending in * matches exactly its prefix (property)", () => {
    fc.assert(
      fc.property(fc.webPath(), fc.webPath(), (prefix, path) => {
        const allowed = ruleAllowsNonResource(
          { verbs: ["get"], nonResourceURLs: [`${prefix}*`] },
          { verb: "get", path },
        );
        assert.equal(allowed, path.startsWith(prefix));
      }),
    );
  });
});

describe("request attributes and forbidden messages", () => {
  const q = (s = "") => new URLSearchParams(s);

  test("resource requests as kube-apiserver's RequestInfo reads them", () => {
    assert.deepEqual(
      requestAttributes(
        "GET",
        "/api/v1/namespaces/kube-system/configmaps",
        q("watch=true&fieldSelector=metadata.name%3Dextension-apiserver-authentication"),
      ),
      {
        kind: "resource",
        verb: "watch",
        group: "",
        version: "v1",
        resource: "configmaps",
        namespace: "kube-system",
        name: "extension-apiserver-authentication",
      },
    );
    assert.deepEqual(requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/pods", q()), {
      kind: "resource",
      verb: "list",
      group: "metrics.k8s.io",
      version: "v1beta1",
      resource: "pods",
    });
    const sub = requestAttributes("GET", "/api/v1/nodes/n1/proxy", q());
    assert.equal(
      sub.kind === "resource" && `${sub.verb} ${sub.resource}/${sub.subresource} ${sub.name}`,
      "get nodes/proxy n1",
    );
    const del = requestAttributes("DELETE", "/api/v1/namespaces/default/pods", q());
    assert.equal(del.verb, "deletecollection");
    assert.deepEqual(requestAttributes("POST", "/sim/compact", q()), {
      kind: "nonResource",
      verb: "post",
      path: "/sim/compact",
    });
    assert.deepEqual(requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1", q()), {
      kind: "nonResource",
      verb: "get",
      path: "/apis/metrics.k8s.io/v1beta1",
    });
  });

  test("forbidden messages read like kube-apiserver's", () => {
    const nobody = user("nobody");
    assert.deepEqual(forbiddenStatus(nobody, res("list", "metrics.k8s.io", "pods")), {
      message:
        'pods.metrics.k8s.io is forbidden: User "nobody" cannot list resource "pods" in API group "metrics.k8s.io" at the cluster scope',
      details: { group: "metrics.k8s.io", kind: "pods" },
    });
    assert.equal(
      forbiddenStatus(nobody, res("get", "", "nodes", { name: "n1", subresource: "metrics" })).message,
      'nodes "n1" is forbidden: User "nobody" cannot get resource "nodes/metrics" in API group "" at the cluster scope',
    );
    assert.equal(
      forbiddenStatus(nobody, res("get", "", "pods", { namespace: "ns", name: "p" })).message,
      'pods "p" is forbidden: User "nobody" cannot get resource "pods" in API group "" in the namespace "ns"',
    );
    assert.equal(
      forbiddenStatus(nobody, { kind: "nonResource", verb: "get", path: "/metrics" }).message,
      'forbidden: User "nobody" cannot get path "/metrics"',
    );
  });
});
