import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { family, matching, sampleSum } from "../../test/support/exposition.ts";
import {
  compressUsername,
  InflightWatermark,
  inflightEnded,
  inflightKind,
  inflightStarted,
  observeRequest,
  registerApiServerMetrics,
} from "./monitoring.ts";
import { RequestRoutes } from "./request-info.ts";

async function exposition(): Promise<string> {
  const registry = new Registry();
  registerApiServerMetrics(registry);
  registerApiServerMetrics(registry); // idempotent
  return registry.metrics();
}

const routes = new RequestRoutes([
  { group: "metrics.k8s.io", version: "v1beta1", resource: "nodes", namespaced: false },
]);
const listNodes = routes.match({
  method: "GET",
  pathname: "/apis/metrics.k8s.io/v1beta1/nodes",
  query: new URLSearchParams(),
  contentType: undefined,
  responseContentType: "application/json",
})!;
const LIST_NODES = {
  verb: "LIST",
  group: "metrics.k8s.io",
  version: "v1beta1",
  resource: "nodes",
  subresource: "",
  scope: "cluster",
  component: "apiserver",
};

test("every family has upstream's name, type and stability-prefixed help", async () => {
  const text = await exposition();
  const want: [string, string, string][] = [
    ["apiserver_request_total", "counter", "[STABLE]"],
    ["apiserver_request_duration_seconds", "histogram", "[STABLE]"],
    ["apiserver_request_sli_duration_seconds", "histogram", "[ALPHA]"],
    ["apiserver_response_sizes", "histogram", "[STABLE]"],
    ["apiserver_current_inflight_requests", "gauge", "[STABLE]"],
    ["apiserver_tls_handshake_errors_total", "counter", "[ALPHA]"],
    ["apiserver_dropped_requests_total", "counter", "[ALPHA]"],
    ["authenticated_user_requests", "counter", "[ALPHA]"],
    ["authentication_attempts", "counter", "[ALPHA]"],
    ["authentication_duration_seconds", "histogram", "[ALPHA]"],
    ["authorization_attempts_total", "counter", "[ALPHA]"],
    ["authorization_duration_seconds", "histogram", "[ALPHA]"],
    ["apiserver_delegated_authn_request_total", "counter", "[ALPHA]"],
    ["apiserver_delegated_authn_request_duration_seconds", "histogram", "[ALPHA]"],
    ["apiserver_delegated_authz_request_total", "counter", "[ALPHA]"],
    ["apiserver_delegated_authz_request_duration_seconds", "histogram", "[ALPHA]"],
  ];
  for (const [name, type, stability] of want) {
    const f = family(text, name);
    assert.equal(f?.type, type, name);
    assert.ok(f.help.startsWith(`${stability} `), `${name}: ${f.help}`);
  }
  assert.ok(!/^# TYPE metrics_server_/m.test(text), "no metrics_server_* family of ours");
});

test("one request: counted by code, its latency and size in upstream's buckets", async () => {
  const before = await exposition();
  observeRequest(listNodes, 200, 2_500, 0.03);
  observeRequest(listNodes, 404, 200, 0.001);
  const text = await exposition();
  const delta = (name: string, labels: Record<string, string>) =>
    sampleSum(text, name, labels) - sampleSum(before, name, labels);
  assert.equal(delta("apiserver_request_total", { ...LIST_NODES, dry_run: "", code: "200" }), 1);
  assert.equal(delta("apiserver_request_total", { ...LIST_NODES, dry_run: "", code: "404" }), 1);

  const buckets = matching(text, "apiserver_request_duration_seconds_bucket", { ...LIST_NODES, dry_run: "" });
  assert.deepEqual(
    buckets.map((b) => (b.labels.le === "+Inf" ? b.labels.le : Number(b.labels.le))),
    [
      0.005,
      0.025,
      0.05,
      0.1,
      0.2,
      0.4,
      0.6,
      0.8,
      1,
      1.25,
      1.5,
      2,
      3,
      4,
      5,
      6,
      8,
      10,
      15,
      20,
      30,
      45,
      60,
      "+Inf",
    ],
  );
  assert.equal(delta("apiserver_request_duration_seconds_bucket", { ...LIST_NODES, le: "0.005" }), 1);
  assert.equal(delta("apiserver_request_duration_seconds_bucket", { ...LIST_NODES, le: "0.05" }), 2);
  const sli = matching(text, "apiserver_request_sli_duration_seconds_bucket", LIST_NODES);
  assert.equal(Number(sli[0]!.labels.le), 0.05);
  assert.equal("dry_run" in sli[0]!.labels, false);

  const sizes = matching(text, "apiserver_response_sizes_bucket", LIST_NODES);
  assert.deepEqual(
    sizes.map((b) => (b.labels.le === "+Inf" ? b.labels.le : Number(b.labels.le))),
    [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, "+Inf"],
  );
  assert.equal(delta("apiserver_response_sizes_bucket", { ...LIST_NODES, le: "1000" }), 1);
  assert.equal(delta("apiserver_response_sizes_bucket", { ...LIST_NODES, le: "10000" }), 2);
});

test("in flight: the most at once during the last whole second, held while nothing changes", () => {
  const w = new InflightWatermark();
  w.change(1, 10_100);
  w.change(1, 10_200);
  w.change(-1, 10_300);
  w.change(-1, 10_400);
  assert.equal(w.lastSecondMax(10_900), 0, "the second before saw none");
  assert.equal(w.lastSecondMax(11_100), 2);
  assert.equal(w.lastSecondMax(12_500), 0);
  w.change(1, 12_600);
  assert.equal(w.lastSecondMax(13_000), 1);
  assert.equal(w.lastSecondMax(20_000), 1, "one request in flight throughout");
  w.change(-1, 20_100);
  assert.equal(w.lastSecondMax(21_000), 1, "it ended during the last second");
  assert.equal(w.lastSecondMax(22_000), 0);
});

test("in flight by kind, as maxinflight.go classifies RequestInfo's verbs", async () => {
  assert.equal(inflightKind("GET", "/healthz"), "readOnly");
  assert.equal(inflightKind("GET", "/apis/metrics.k8s.io/v1beta1/nodes"), "readOnly");
  assert.equal(inflightKind("HEAD", "/apis/metrics.k8s.io/v1beta1/nodes"), "readOnly");
  assert.equal(inflightKind("HEAD", "/healthz"), "mutating");
  assert.equal(inflightKind("POST", "/apis/metrics.k8s.io/v1beta1/nodes"), "mutating");
  inflightStarted("readOnly");
  inflightEnded("readOnly");
  const text = await exposition();
  assert.equal(matching(text, "apiserver_current_inflight_requests", { request_kind: "readOnly" }).length, 1);
  assert.equal(matching(text, "apiserver_current_inflight_requests", { request_kind: "mutating" }).length, 1);
});

test("user names are reduced to a few values, as upstream's compressUsername", () => {
  assert.equal(compressUsername("admin"), "admin");
  assert.equal(compressUsername("kubelet"), "kubelet");
  assert.equal(
    compressUsername("system:serviceaccount:kube-system:default"),
    "system:serviceaccount:kube-system:default",
  );
  assert.equal(compressUsername("jane@example.com"), "email_id");
  assert.equal(compressUsername("system:anonymous"), "other");
  assert.equal(compressUsername("system:serviceaccount:kube-system:horizontal-pod-autoscaler"), "other");
});
