// NodeMetrics list and get, through MetricsApi.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fixture,
  get,
  items,
  NODE_CONTROL_PLANE,
  NODE_KIND_WORKER,
  V,
} from "../../test/support/metrics-api-fixture.ts";

describe("node metrics", () => {
  it("lists nodes with metrics, sorted by name, with --node-selector applied", () => {
    const { api } = fixture();
    const res = get(api, `${V}/nodes`);
    assert.equal(res.status, 200);
    assert.equal(res.contentType, "application/json");
    assert.equal(
      res.body,
      `{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[` +
        `${NODE_CONTROL_PLANE},${NODE_KIND_WORKER}]}\n`,
    );
  });

  it("lists without a node selector when none is configured", () => {
    const { api } = fixture({ nodeSelector: undefined });
    const names = items(get(api, `${V}/nodes`).body).map((i) => i.metadata.name);
    assert.deepEqual(names, ["kind-control-plane", "kind-worker", "skipped"]);
  });

  it("gets one node; the node selector does not apply to GET", () => {
    const { api } = fixture();
    assert.equal(get(api, `${V}/nodes/kind-worker`).body, NODE_KIND_WORKER + "\n");
    const skipped = get(api, `${V}/nodes/skipped`);
    assert.equal(skipped.status, 200);
    assert.equal(JSON.parse(skipped.body).usage.memory, "500");
  });

  it("filters by label selector and field selector", () => {
    const { api } = fixture();
    const names = (search: string) =>
      items(get(api, `${V}/nodes`, { search }).body).map((i) => i.metadata.name);
    assert.deepEqual(names("labelSelector=role%3Dcp"), ["kind-control-plane"]);
    assert.deepEqual(names("labelSelector=role"), ["kind-control-plane"]);
    assert.deepEqual(names("labelSelector=!role"), ["kind-worker"]);
    assert.deepEqual(names("labelSelector=role%20in%20(cp,x)"), ["kind-control-plane"]);
    assert.deepEqual(names("labelSelector=skip%3Dtrue"), []); // AND-ed with --node-selector
    assert.deepEqual(names("fieldSelector=metadata.name%3Dkind-worker"), ["kind-worker"]);
    assert.deepEqual(names("fieldSelector=metadata.name%3D%3Dkind-worker"), ["kind-worker"]);
    assert.deepEqual(names("fieldSelector=metadata.name!%3Dkind-worker"), ["kind-control-plane"]);
    assert.deepEqual(names("fieldSelector=metadata.name%3Dkind-worker2"), []); // no metrics
    assert.deepEqual(names("fieldSelector=metadata.name%3Dnope"), []);
    // Nodes have no namespace: the field reads as "".
    assert.deepEqual(names("fieldSelector=metadata.namespace%3D"), ["kind-control-plane", "kind-worker"]);
    assert.deepEqual(names("fieldSelector=metadata.namespace%3Ddefault"), []);
    assert.deepEqual(names("labelSelector=&fieldSelector="), ["kind-control-plane", "kind-worker"]);
  });

  it("ignores limit, continue, resourceVersion and timeout", () => {
    const { api } = fixture();
    const res = get(api, `${V}/nodes`, { search: "limit=1&continue=abc&resourceVersion=0&timeout=32s" });
    assert.equal(items(res.body).length, 2);
  });

  it("returns an empty list as items []", () => {
    const { api } = fixture();
    const res = get(api, `${V}/nodes`, { search: "labelSelector=role%3Dnone" });
    assert.equal(
      res.body,
      `{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}\n`,
    );
  });

  it("404s a node unknown to the cache", () => {
    const { api } = fixture();
    const res = get(api, `${V}/nodes/foo`);
    assert.equal(res.status, 404);
    assert.equal(
      res.body,
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"node \\"foo\\" not found",` +
        `"reason":"NotFound","details":{"name":"foo","kind":"node"},"code":404}\n`,
    );
  });

  it("404s a node without metrics", () => {
    const { api } = fixture();
    const res = get(api, `${V}/nodes/kind-worker2`);
    assert.equal(res.status, 404);
    assert.equal(
      res.body,
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
        `"message":"nodemetrics.metrics.k8s.io \\"kind-worker2\\" not found","reason":"NotFound",` +
        `"details":{"name":"kind-worker2","group":"metrics.k8s.io","kind":"nodemetrics"},"code":404}\n`,
    );
  });

  it("decodes percent-encoded names and escapes them like Go", () => {
    const { api } = fixture();
    const res = get(api, `${V}/nodes/%3Cx%3E`);
    assert.match(res.body, /"message":"node \\"\\u003cx\\u003e\\" not found"/);
  });
});
