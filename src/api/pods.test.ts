// PodMetrics list and get, through MetricsApi.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeMetrics, FakeStore, type pod } from "../../test/support/fake-stores.ts";
import {
  fixture,
  get,
  items,
  NOW,
  POD_ALL_SKIPPED,
  POD_COREDNS,
  POD_CPU_CONSUMER,
  POD_WEB,
  T1,
  V,
} from "../../test/support/metrics-api-fixture.ts";
import { MetricsApi } from "./handler.ts";
import { ITEMS_PER_CHUNK } from "./stream.ts";

describe("pod metrics", () => {
  it("lists all namespaces sorted by namespace then name, only Running pods with metrics", () => {
    const { api } = fixture();
    const res = get(api, `${V}/pods`);
    assert.equal(res.status, 200);
    assert.equal(
      res.body,
      `{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[` +
        `${POD_ALL_SKIPPED},${POD_CPU_CONSUMER},${POD_WEB},${POD_COREDNS}]}\n`,
    );
  });

  it("lists one namespace through listNamespace, never the whole cache", () => {
    const { api, pods } = fixture();
    const res = get(api, `${V}/namespaces/kube-system/pods`);
    assert.equal(
      res.body,
      `{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[${POD_COREDNS}]}\n`,
    );
    assert.equal(pods.listCalls, 0);
    assert.equal(pods.listNamespaceCalls, 1);
  });

  it("uses a namespace pinned by the field selector to avoid a full scan", () => {
    const { api, pods } = fixture();
    const res = get(api, `${V}/pods`, { search: "fieldSelector=metadata.namespace%3Dkube-system" });
    assert.deepEqual(
      items(res.body).map((i) => i.metadata.name),
      ["coredns"],
    );
    assert.equal(pods.listCalls, 0);
  });

  it("filters by set-based label selectors (the HPA's form) and field selectors", () => {
    const { api } = fixture();
    const names = (path: string, search: string) =>
      items(get(api, path, { search }).body).map((i) => `${i.metadata.namespace}/${i.metadata.name}`);
    const ns = `${V}/namespaces/default/pods`;
    assert.deepEqual(names(ns, "labelSelector=app%20in%20(x,web),!canary"), [
      "default/cpu-consumer",
      "default/web",
    ]);
    assert.deepEqual(names(ns, "labelSelector=app%3Dweb"), ["default/web"]);
    assert.deepEqual(names(ns, "labelSelector=app%20notin%20(web)"), [
      "default/all-skipped",
      "default/cpu-consumer",
    ]);
    assert.deepEqual(names(ns, "fieldSelector=metadata.name%3Dweb"), ["default/web"]);
    assert.deepEqual(names(ns, "fieldSelector=metadata.namespace%3Dkube-system"), []);
    assert.deepEqual(names(`${V}/pods`, "fieldSelector=metadata.namespace!%3Ddefault"), [
      "kube-system/coredns",
    ]);
    assert.deepEqual(names(`${V}/pods`, "fieldSelector=metadata.name%3Dcoredns"), ["kube-system/coredns"]);
    assert.deepEqual(names(`${V}/pods`, "fieldSelector=metadata.name%3Dgone"), []);
    assert.deepEqual(names(`${V}/namespaces/empty/pods`, ""), []);
  });

  it("returns an empty pod list as items []", () => {
    const { api } = fixture();
    assert.equal(
      get(api, `${V}/namespaces/nothing-here/pods`).body,
      `{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}\n`,
    );
  });

  it("gets one pod", () => {
    const { api } = fixture();
    const res = get(api, `${V}/namespaces/default/pods/cpu-consumer`);
    assert.deepEqual(res, { status: 200, contentType: "application/json", body: POD_CPU_CONSUMER + "\n" });
  });

  it("404s a pod that is not in the Running cache", () => {
    const { api } = fixture();
    for (const name of ["foo", "gone"]) {
      const res = get(api, `${V}/namespaces/default/pods/${name}`);
      assert.equal(res.status, 404);
      assert.equal(
        res.body,
        `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"${name}\\" not found",` +
          `"reason":"NotFound","details":{"name":"${name}","kind":"pods"},"code":404}\n`,
      );
    }
  });

  it("404s a pod without metrics", () => {
    const { api } = fixture();
    const res = get(api, `${V}/namespaces/default/pods/no-metrics`);
    assert.equal(res.status, 404);
    assert.equal(
      res.body,
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
        `"message":"podmetrics.metrics.k8s.io \\"default/no-metrics\\" not found","reason":"NotFound",` +
        `"details":{"name":"default/no-metrics","group":"metrics.k8s.io","kind":"podmetrics"},"code":404}\n`,
    );
  });
});

describe("scale", () => {
  it("lists 150,000 pods in one response, sorted and complete", () => {
    const pods = new FakeStore<ReturnType<typeof pod>>();
    const metrics = new FakeMetrics();
    const shared = { app: "load" };
    const count = 150_000;
    for (let i = count - 1; i >= 0; i--) {
      const ns = `ns-${i % 100}`;
      const name = `pod-${String(i).padStart(6, "0")}`;
      pods.add({ metadata: { name, namespace: ns, labels: shared } });
      metrics.pods.set(`${ns}/${name}`, {
        timestampMs: T1,
        windowMs: 15000,
        containers: [{ name: "app", cpuNanocores: i * 1000, memoryBytes: i * 1024 }],
      });
    }
    const api = new MetricsApi({
      nodes: new FakeStore(),
      pods,
      metrics,
      serverAddress: "x:1",
      now: () => NOW,
    });
    const list = items(get(api, `${V}/pods`).body);
    assert.equal(list.length, count);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1].metadata;
      const b = list[i].metadata;
      assert.ok(
        a.namespace! < b.namespace! || (a.namespace === b.namespace && a.name < b.name),
        `${a.namespace}/${a.name} before ${b.namespace}/${b.name}`,
      );
    }
    // Streamed: storage is read chunk by chunk, each pod exactly once.
    assert.ok(metrics.podRequests.length > 1);
    assert.ok(metrics.podRequests.every((batch) => batch.length <= ITEMS_PER_CHUNK));
    assert.equal(new Set(metrics.podRequests.flat().map((r) => `${r.namespace}/${r.name}`)).size, count);
    assert.equal(metrics.podRequests.flat().length, count);
  });
});
