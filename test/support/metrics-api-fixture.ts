// A MetricsApi over fixed caches, metrics and clock, with request helpers and the exact JSON of its
// objects, for the api's handler, node and pod tests.
import assert from "node:assert/strict";
import { MetricsApi } from "../../src/api/index.ts";
import type { ApiRequest } from "../../src/apiserver/index.ts";
import { parseLabelSelector } from "../../src/kube/index.ts";
import { FakeMetrics, FakeStore, node, pod } from "./fake-stores.ts";
import { responseText } from "./response-body.ts";

export const NOW = Date.UTC(2025, 4, 1, 10, 0, 7, 500);
export const CREATED = "2025-05-01T10:00:07Z";
export const T1 = Date.UTC(2025, 4, 1, 10, 0, 1, 400);
export const V = "/apis/metrics.k8s.io/v1beta1";
export const KUBECTL_TOP_ACCEPT = "application/vnd.kubernetes.protobuf, */*";

export function fixture(overrides: Partial<ConstructorParameters<typeof MetricsApi>[0]> = {}) {
  const nodes = new FakeStore([
    node("kind-worker", { "kubernetes.io/hostname": "kind-worker" }),
    node("kind-worker2", { "kubernetes.io/hostname": "kind-worker2" }),
    node("kind-control-plane", { role: "cp" }),
    node("skipped", { skip: "true" }),
  ]);
  const pods = new FakeStore([
    pod("default", "web", { app: "web" }),
    pod("default", "cpu-consumer", { app: "x" }),
    pod("kube-system", "coredns", { "k8s-app": "kube-dns" }),
    pod("default", "no-metrics"),
    pod("default", "all-skipped"),
  ]);
  const metrics = new FakeMetrics();
  metrics.nodes.set("kind-worker", {
    timestampMs: T1,
    windowMs: 15006,
    cpuNanocores: 123456789,
    memoryBytes: 1578392 * 1024,
  });
  metrics.nodes.set("kind-control-plane", {
    timestampMs: T1,
    windowMs: 15000,
    cpuNanocores: 50000000,
    memoryBytes: 1048576,
  });
  metrics.nodes.set("skipped", { timestampMs: T1, windowMs: 10000, cpuNanocores: 1e9, memoryBytes: 500 });
  metrics.pods.set("default/cpu-consumer", {
    timestampMs: T1,
    windowMs: 14987,
    containers: [{ name: "cpu-consumer", cpuNanocores: 50000000, memoryBytes: 1236 * 1024 }],
  });
  metrics.pods.set("default/web", {
    timestampMs: T1,
    windowMs: 60500,
    containers: [
      { name: "nginx", cpuNanocores: 2500000000, memoryBytes: 1000 },
      { name: "sidecar", cpuNanocores: 0, memoryBytes: 12533761 },
    ],
  });
  metrics.pods.set("kube-system/coredns", {
    timestampMs: T1,
    windowMs: 15000,
    containers: [{ name: "coredns", cpuNanocores: 1000, memoryBytes: 1024 }],
  });
  metrics.pods.set("default/all-skipped", { timestampMs: 0, windowMs: 0, containers: [] });
  // Still in storage, but the pod left the Running cache: never served.
  metrics.pods.set("default/gone", {
    timestampMs: T1,
    windowMs: 15000,
    containers: [{ name: "c", cpuNanocores: 1, memoryBytes: 1 }],
  });
  const api = new MetricsApi({
    nodes,
    pods,
    metrics,
    nodeSelector: parseLabelSelector("skip!=true"),
    serverAddress: "127.1.0.2:4443",
    now: () => NOW,
    ...overrides,
  });
  return { api, nodes, pods, metrics };
}

export function request(
  path: string,
  init: Partial<Omit<ApiRequest, "path">> & { search?: string } = {},
): ApiRequest {
  return {
    method: init.method ?? "GET",
    path,
    query: init.query ?? new URLSearchParams(init.search ?? ""),
    accept: "accept" in init ? init.accept : KUBECTL_TOP_ACCEPT,
  };
}

export function get(api: MetricsApi, path: string, init?: Parameters<typeof request>[1]) {
  const res = api.handle(request(path, init));
  assert.ok(res, `expected ${path} to be handled`);
  assert.equal(typeof res.body, "string", `expected a text body from ${path}`);
  return { ...res, body: responseText(res) };
}

export function items(body: string): { metadata: { name: string; namespace?: string } }[] {
  return JSON.parse(body).items;
}

export const NODE_KIND_WORKER =
  `{"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"kind-worker",` +
  `"creationTimestamp":"${CREATED}","labels":{"kubernetes.io/hostname":"kind-worker"}},` +
  `"timestamp":"2025-05-01T10:00:01Z","window":"15.006s","usage":{"cpu":"123456789n","memory":"1578392Ki"}}`;
export const NODE_CONTROL_PLANE =
  `{"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"kind-control-plane",` +
  `"creationTimestamp":"${CREATED}","labels":{"role":"cp"}},` +
  `"timestamp":"2025-05-01T10:00:01Z","window":"15s","usage":{"cpu":"50m","memory":"1Mi"}}`;
export const POD_CPU_CONSUMER =
  `{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"cpu-consumer",` +
  `"namespace":"default","creationTimestamp":"${CREATED}","labels":{"app":"x"}},` +
  `"timestamp":"2025-05-01T10:00:01Z","window":"14.987s",` +
  `"containers":[{"name":"cpu-consumer","usage":{"cpu":"50m","memory":"1236Ki"}}]}`;
export const POD_ALL_SKIPPED =
  `{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"all-skipped",` +
  `"namespace":"default","creationTimestamp":"${CREATED}"},"timestamp":null,"window":"0s","containers":[]}`;
export const POD_WEB =
  `{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"web",` +
  `"namespace":"default","creationTimestamp":"${CREATED}","labels":{"app":"web"}},` +
  `"timestamp":"2025-05-01T10:00:01Z","window":"1m0.5s","containers":[` +
  `{"name":"nginx","usage":{"cpu":"2500m","memory":"1k"}},` +
  `{"name":"sidecar","usage":{"cpu":"0","memory":"12533761"}}]}`;
export const POD_COREDNS =
  `{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"coredns",` +
  `"namespace":"kube-system","creationTimestamp":"${CREATED}","labels":{"k8s-app":"kube-dns"}},` +
  `"timestamp":"2025-05-01T10:00:01Z","window":"15s","containers":[` +
  `{"name":"coredns","usage":{"cpu":"1u","memory":"1Ki"}}]}`;
