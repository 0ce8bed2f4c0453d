import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { forbiddenBody, PathAllowList, requestAttributes, subjectAccessReviewSpec } from "./authorization.ts";
import type { UserInfo } from "./types.ts";

const nobody: UserInfo = { name: "nobody", groups: ["system:authenticated"], extra: {} };
const q = (s = "") => new URLSearchParams(s);

test("metrics.k8s.io object paths are resource requests with kube-apiserver's verbs", () => {
  const list = requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/nodes", q(), nobody);
  assert.deepEqual(subjectAccessReviewSpec(list), {
    resourceAttributes: { verb: "list", group: "metrics.k8s.io", version: "v1beta1", resource: "nodes" },
    user: "nobody",
    groups: ["system:authenticated"],
  });
  const get = requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/ns1/pods/p1", q(), nobody);
  assert.deepEqual(subjectAccessReviewSpec(get).resourceAttributes, {
    namespace: "ns1",
    verb: "get",
    group: "metrics.k8s.io",
    version: "v1beta1",
    resource: "pods",
    name: "p1",
  });
  assert.equal(
    requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/pods", q("watch=1"), nobody).verb,
    "watch",
  );
  assert.equal(
    requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/pods", q("watch="), nobody).verb,
    "watch",
  );
  assert.equal(
    requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/pods", q("watch=False"), nobody).verb,
    "list",
  );
  const byField = requestAttributes(
    "GET",
    "/apis/metrics.k8s.io/v1beta1/nodes",
    q("fieldSelector=metadata.name%3Dn1"),
    nobody,
  );
  assert.equal(byField.name, "n1");
  assert.equal(byField.verb, "list");
});

test("discovery and other paths are non-resource requests with the lower-case method", () => {
  for (const p of [
    "/apis/metrics.k8s.io/v1beta1",
    "/apis/metrics.k8s.io",
    "/apis",
    "/metrics",
    "/readyz/ping",
    "/openapi/v2",
  ]) {
    const a = requestAttributes("GET", p, q(), nobody);
    assert.equal(a.isResourceRequest, false, p);
    assert.deepEqual(subjectAccessReviewSpec(a).nonResourceAttributes, { path: p, verb: "get" });
  }
  assert.equal(requestAttributes("POST", "/metrics", q(), nobody).verb, "post");
});

test("403 bodies carry kube-apiserver's messages and details", () => {
  assert.equal(
    forbiddenBody(requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/nodes", q(), nobody), ""),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes.metrics.k8s.io is forbidden: User \\"nobody\\" cannot list resource \\"nodes\\" in API group \\"metrics.k8s.io\\" at the cluster scope","reason":"Forbidden","details":{"group":"metrics.k8s.io","kind":"nodes"},"code":403}\n',
  );
  assert.equal(
    JSON.parse(
      forbiddenBody(
        requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/x/pods", q(), nobody),
        "no RBAC",
      ),
    ).message,
    'pods.metrics.k8s.io is forbidden: User "nobody" cannot list resource "pods" in API group "metrics.k8s.io" in the namespace "x": no RBAC',
  );
  const named = JSON.parse(
    forbiddenBody(requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1", q(), nobody), ""),
  );
  assert.equal(
    named.message,
    'nodes.metrics.k8s.io "n1" is forbidden: User "nobody" cannot get resource "nodes" in API group "metrics.k8s.io" at the cluster scope',
  );
  assert.deepEqual(named.details, { name: "n1", group: "metrics.k8s.io", kind: "nodes" });
  const anon: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"], extra: {} };
  assert.equal(
    forbiddenBody(requestAttributes("GET", "/metrics", q(), anon), ""),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \\"system:anonymous\\" cannot get path \\"/metrics\\"","reason":"Forbidden","details":{},"code":403}\n',
  );
});

test("always-allow paths: exact entries and trailing-* prefixes", () => {
  const allow = new PathAllowList(["/healthz", "/readyz", "/livez", "/debug/*"]);
  assert.ok(allow.allows("/healthz"));
  assert.ok(!allow.allows("/healthz/ping"));
  assert.ok(!allow.allows("/readyz/metric-storage-ready"));
  assert.ok(allow.allows("/debug/pprof/heap"));
  assert.ok(!allow.allows("/metrics"));
  assert.throws(() => new PathAllowList(["/a*b"]), /only trailing \*/);
});

test("request attributes never throw and always yield a verb for any path", () => {
  fc.assert(
    fc.property(
      fc.string(),
      fc.constantFrom("GET", "POST", "HEAD", "BREW"),
      fc.string(),
      (path, method, query) => {
        const a = requestAttributes(method, `/${path}`, new URLSearchParams(query), nobody);
        assert.equal(typeof a.verb, "string");
        JSON.parse(forbiddenBody(a, ""));
      },
    ),
  );
});
