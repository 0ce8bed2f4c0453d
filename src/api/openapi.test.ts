import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { FakeMetrics, FakeStore } from "../../test/support/fake-stores.ts";
import { MetricsApi } from "./handler.ts";

function api() {
  return new MetricsApi({
    nodes: new FakeStore(),
    pods: new FakeStore(),
    metrics: new FakeMetrics(),
    serverAddress: "",
  });
}

function get(path: string) {
  const res = api().handle({ method: "GET", path, query: new URLSearchParams(), accept: "application/json" });
  assert.ok(res);
  return { ...res, json: JSON.parse(String(res.body)) };
}

describe("OpenAPI documents", () => {
  it("/openapi/v2 describes both kinds, their lists and the GET routes", () => {
    const { status, json } = get("/openapi/v2");
    assert.equal(status, 200);
    assert.equal(json.swagger, "2.0");
    assert.equal(json.info.title, "Kubernetes metrics-server");
    const node = json.definitions["io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics"];
    assert.deepEqual(node["x-kubernetes-group-version-kind"], [
      { group: "metrics.k8s.io", kind: "NodeMetrics", version: "v1beta1" },
    ]);
    assert.ok(json.definitions["io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetricsList"]);
    assert.ok(json.definitions["io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics"]);
    assert.equal(
      json.paths["/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}"].get[
        "x-kubernetes-action"
      ],
      "get",
    );
    // Every $ref resolves.
    for (const ref of JSON.stringify(json).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)) {
      assert.ok(json.definitions[ref[1]], ref[1]);
    }
  });

  it("/openapi/v3 indexes the group-version document by its SHA-512", () => {
    const index = get("/openapi/v3").json;
    const url: string = index.paths["apis/metrics.k8s.io/v1beta1"].serverRelativeURL;
    const [path, query] = url.split("?");
    const doc = api().handle({ method: "GET", path, query: new URLSearchParams(query), accept: undefined });
    assert.ok(doc && doc.status === 200);
    const hash = createHash("sha512").update(String(doc.body)).digest("hex").toUpperCase();
    assert.equal(query, `hash=${hash}`);
    const v3 = JSON.parse(String(doc.body));
    assert.equal(v3.openapi, "3.0.0");
    assert.ok(v3.components.schemas["io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics"]);
    for (const ref of String(doc.body).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(v3.components.schemas[ref[1]], ref[1]);
    }
  });

  it("404s other /openapi paths and 405s non-GET", () => {
    assert.equal(get("/openapi/v3/apis/apps/v1").status, 404);
    const res = api().handle({
      method: "POST",
      path: "/openapi/v2",
      query: new URLSearchParams(),
      accept: undefined,
    });
    assert.equal(res?.status, 405);
  });
});
