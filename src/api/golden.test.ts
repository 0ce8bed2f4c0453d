// Golden responses: each file in testdata/golden is one request and the response upstream gives
// (status, content type, body field for field, key order included), citing the docs/metrics-api.md
// section that describes it. The test replays every request against a MetricsApi with fixed data and
// a fixed clock. `UPDATE_GOLDEN=1` rewrites the files from the current output; review the diff
// against upstream's behaviour before keeping it. test/conformance/wire.test.ts replays them over
// the wire, which is why they stay beside this test rather than under test/.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FakeMetrics, FakeStore, node, pod } from "../../test/support/fake-stores.ts";
import { responseText } from "../../test/support/response-body.ts";
import { MetricsApi } from "./handler.ts";
import { protobufEncoder } from "./protobuf.ts";

const GOLDEN_DIR = join(import.meta.dirname, "testdata", "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

const NOW = Date.UTC(2025, 4, 1, 10, 0, 7, 250);
const SAMPLED = Date.UTC(2025, 4, 1, 10, 0, 1, 900);
const V = "/apis/metrics.k8s.io/v1beta1";
const TABLE_ACCEPT =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const DISCOVERY_ACCEPT =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," +
  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
const RAW_ACCEPT = "application/json, */*";

interface GoldenRequest {
  method: string;
  path: string;
  query: string;
  accept: string | null;
}

interface GoldenCase {
  file: string;
  reference: string;
  request: Partial<GoldenRequest> & { path: string };
}

const CASES: readonly GoldenCase[] = [
  { file: "discovery-apis", reference: "docs/metrics-api.md#discovery", request: { path: "/apis" } },
  {
    file: "discovery-group",
    reference: "docs/metrics-api.md#discovery",
    request: { path: "/apis/metrics.k8s.io", accept: "application/json, */*" },
  },
  {
    file: "discovery-resources",
    reference: "docs/metrics-api.md#discovery (aggregator fallback)",
    request: { path: V, accept: "application/json" },
  },
  {
    file: "discovery-aggregated-v2",
    reference: "docs/metrics-api.md#discovery (aggregated discovery)",
    request: { path: "/apis", accept: DISCOVERY_ACCEPT },
  },
  {
    file: "discovery-aggregated-v2beta1",
    reference: "docs/metrics-api.md#discovery (aggregated discovery, kubectl 1.27-1.29)",
    request: {
      path: "/apis",
      accept: "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
    },
  },
  {
    file: "node-metrics",
    reference: "docs/metrics-api.md#objects",
    request: { path: `${V}/nodes/kind-worker`, accept: RAW_ACCEPT },
  },
  {
    file: "node-metrics-list",
    reference: "docs/metrics-api.md#objects, #lists-and-selectors",
    request: { path: `${V}/nodes`, accept: RAW_ACCEPT },
  },
  {
    file: "node-metrics-list-empty",
    reference: "docs/metrics-api.md#objects (items [] when empty)",
    request: { path: `${V}/nodes`, query: "labelSelector=role%3Dnone", accept: RAW_ACCEPT },
  },
  {
    file: "pod-metrics",
    reference: "docs/metrics-api.md#objects",
    request: { path: `${V}/namespaces/default/pods/cpu-consumer`, accept: RAW_ACCEPT },
  },
  {
    file: "pod-metrics-list",
    reference: "docs/metrics-api.md#objects, #lists-and-selectors",
    request: { path: `${V}/pods`, accept: RAW_ACCEPT },
  },
  {
    file: "error-node-unknown",
    reference: "docs/metrics-api.md#errors",
    request: { path: `${V}/nodes/foo` },
  },
  {
    file: "error-node-no-metrics",
    reference: "docs/metrics-api.md#errors",
    request: { path: `${V}/nodes/kind-worker2` },
  },
  {
    file: "error-pod-unknown",
    reference: "docs/metrics-api.md#errors",
    request: { path: `${V}/namespaces/default/pods/foo` },
  },
  {
    file: "error-pod-no-metrics",
    reference: "docs/metrics-api.md#errors (errors printed)",
    request: { path: `${V}/namespaces/default/pods/starting` },
  },
  {
    file: "error-watch-nodes",
    reference: "docs/metrics-api.md#errors",
    request: { path: `${V}/nodes`, query: "watch=true" },
  },
  {
    file: "error-watch-pods",
    reference: "docs/metrics-api.md#errors",
    request: { path: `${V}/namespaces/default/pods`, query: "watch=1" },
  },
  {
    file: "error-field-selector",
    reference: "docs/metrics-api.md#lists-and-selectors",
    request: { path: `${V}/pods`, query: "fieldSelector=spec.nodeName%3Dkind-worker" },
  },
  {
    file: "error-not-acceptable",
    reference: "docs/metrics-api.md#accept-negotiation (Accept without JSON → 406)",
    request: { path: `${V}/nodes`, accept: "application/yaml" },
  },
  {
    file: "error-unknown-path",
    reference: "docs/metrics-api.md#errors",
    request: { path: `${V}/services` },
  },
  {
    file: "error-include-object",
    reference: "docs/metrics-api.md#table (other includeObject values → 400)",
    request: { path: `${V}/nodes`, query: "includeObject=All", accept: TABLE_ACCEPT },
  },
  {
    file: "table-node-list",
    reference: "docs/metrics-api.md#table (kubectl get nodes.metrics.k8s.io)",
    request: { path: `${V}/nodes`, query: "limit=500", accept: TABLE_ACCEPT },
  },
  {
    file: "table-pod-list",
    reference: "docs/metrics-api.md#table (pods summed over containers; kubectl get podmetrics -A)",
    request: { path: `${V}/pods`, query: "limit=500", accept: TABLE_ACCEPT },
  },
  {
    file: "table-pod-get",
    reference: "docs/metrics-api.md#table (works for get)",
    request: { path: `${V}/namespaces/default/pods/web`, accept: TABLE_ACCEPT },
  },
  {
    file: "table-include-none",
    reference: "docs/metrics-api.md#table (includeObject=None)",
    request: { path: `${V}/nodes/kind-worker`, query: "includeObject=None", accept: TABLE_ACCEPT },
  },
  {
    file: "table-include-object",
    reference: "docs/metrics-api.md#table (includeObject=Object)",
    request: {
      path: `${V}/namespaces/default/pods/cpu-consumer`,
      query: "includeObject=Object",
      accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    },
  },
  {
    file: "table-empty",
    reference: "docs/metrics-api.md#table (empty list → null columns and rows)",
    request: { path: `${V}/namespaces/empty/pods`, accept: TABLE_ACCEPT },
  },
];

function fixtureApi(): MetricsApi {
  const nodes = new FakeStore([
    node("kind-worker", { "kubernetes.io/hostname": "kind-worker" }),
    node("kind-worker2", { "kubernetes.io/hostname": "kind-worker2" }),
    node("kind-control-plane", {
      "kubernetes.io/hostname": "kind-control-plane",
      "node-role.kubernetes.io/control-plane": "",
    }),
  ]);
  const pods = new FakeStore([
    pod("default", "cpu-consumer", { app: "x" }),
    pod("default", "web", { app: "web", tier: "<frontend>" }),
    pod("default", "starting"),
    pod("kube-system", "coredns-5d78c9869d-abcde", { "k8s-app": "kube-dns" }),
  ]);
  const metrics = new FakeMetrics();
  metrics.nodes.set("kind-worker", {
    timestampMs: SAMPLED,
    windowMs: 15006,
    cpuNanocores: 123456789,
    memoryBytes: 1578392 * 1024,
  });
  metrics.nodes.set("kind-control-plane", {
    timestampMs: SAMPLED,
    windowMs: 60500,
    cpuNanocores: 2_500_000_000,
    memoryBytes: 1048576,
  });
  metrics.pods.set("default/cpu-consumer", {
    timestampMs: SAMPLED,
    windowMs: 14987,
    containers: [{ name: "cpu-consumer", cpuNanocores: 50_000_000, memoryBytes: 1236 * 1024 }],
  });
  metrics.pods.set("default/web", {
    timestampMs: SAMPLED,
    windowMs: 15000,
    containers: [
      { name: "nginx", cpuNanocores: 7_000_000, memoryBytes: 3 * 1048576 },
      { name: "sidecar", cpuNanocores: 3_000_000, memoryBytes: 2 * 1048576 },
    ],
  });
  metrics.pods.set("kube-system/coredns-5d78c9869d-abcde", {
    timestampMs: SAMPLED,
    windowMs: 999,
    containers: [{ name: "coredns", cpuNanocores: 1_000_000_000, memoryBytes: 12533760 }],
  });
  // As the server runs it: protobuf enabled, so protobuf-first clients would get protobuf; the object
  // goldens therefore ask for JSON the way `kubectl get --raw` does.
  return new MetricsApi({
    nodes,
    pods,
    metrics,
    serverAddress: "10.96.0.10:443",
    now: () => NOW,
    protobuf: protobufEncoder,
  });
}

function fullRequest(c: GoldenCase): GoldenRequest {
  return { method: "GET", query: "", accept: null, ...c.request };
}

interface GoldenFile {
  reference: string;
  request: GoldenRequest;
  status: number;
  contentType: string;
  body: unknown;
}

function replay(api: MetricsApi, request: GoldenRequest) {
  const res = api.handle({
    method: request.method,
    path: request.path,
    query: new URLSearchParams(request.query),
    accept: request.accept ?? undefined,
  });
  assert.ok(res, `${request.path} was not handled`);
  assert.equal(typeof res.body, "string");
  const text = responseText(res);
  assert.ok(text.endsWith("\n"), "bodies end with a newline, as Go's json.Encoder writes them");
  return { status: res.status, contentType: res.contentType, body: JSON.parse(text) as unknown };
}

describe("golden responses (testdata/golden)", () => {
  it("has exactly one file per case", () => {
    if (UPDATE) return;
    const files = readdirSync(GOLDEN_DIR)
      .filter((f) => f.endsWith(".json"))
      .sort();
    assert.deepEqual(files, CASES.map((c) => `${c.file}.json`).sort());
  });

  for (const c of CASES) {
    it(`${c.file}: ${c.request.path}${c.request.query ? `?${c.request.query}` : ""}`, () => {
      const path = join(GOLDEN_DIR, `${c.file}.json`);
      const request = fullRequest(c);
      const actual = replay(fixtureApi(), request);
      if (UPDATE) {
        const golden: GoldenFile = { reference: c.reference, request, ...actual };
        writeFileSync(path, JSON.stringify(golden, null, 2) + "\n");
        return;
      }
      const golden = JSON.parse(readFileSync(path, "utf8")) as GoldenFile;
      assert.ok(golden.reference.startsWith("docs/metrics-api.md#"), "the file cites what it pins");
      assert.deepEqual(golden.request, request, "the file records the request it was made from");
      assert.equal(actual.status, golden.status);
      assert.equal(actual.contentType, golden.contentType);
      assert.deepEqual(actual.body, golden.body);
      // deepEqual ignores key order; Go's encoder fixes it, and byte-for-byte clients may see it.
      assert.equal(JSON.stringify(actual.body), JSON.stringify(golden.body), "key order");
    });
  }
});
