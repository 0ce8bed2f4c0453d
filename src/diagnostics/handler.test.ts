// The diagnostics group through DiagnosticsApi: routing, discovery, objects (states and list order),
// Table, Status errors, and /apis listing both groups through the metrics API.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeMetrics, FakeStore } from "../../test/support/fake-stores.ts";
import { MetricsApi } from "../api/index.ts";
import type { ApiRequest } from "../apiserver/index.ts";
import { type Node, parseLabelSelector } from "../kube/index.ts";
import type { NodeScrapeReport, NodeScrapeStatus, ScrapeStatusReader } from "../storage/index.ts";
import { DIAGNOSTICS_GROUP, DiagnosticsApi, type DiagnosticsApiDeps } from "./handler.ts";
import type { SelfCheckResult } from "./types.ts";

const G = "/apis/diagnostics.metrics-server.x-k8s.io";
const V = `${G}/v1alpha1`;
const NOW = Date.UTC(2026, 11, 8, 3, 20, 25);
const TABLE_ACCEPT =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

function node(name: string, ready = true, labels?: Record<string, string>): Node {
  return {
    metadata: labels ? { name, labels } : { name },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

function report(node: string, r: Partial<NodeScrapeReport> = {}): NodeScrapeReport {
  return {
    node,
    outcome: "Succeeded",
    startMs: NOW - 5000,
    durationMs: 12.4,
    endpoint: "resource",
    url: `https://10.0.0.1:10250/metrics/resource`,
    bytes: 2048,
    nodePoint: true,
    pods: 3,
    containers: 4,
    ...r,
  };
}

class Book implements ScrapeStatusReader {
  readonly map = new Map<string, NodeScrapeStatus>();
  set(s: NodeScrapeStatus): this {
    this.map.set(s.latest.node, s);
    return this;
  }
  status(node: string): NodeScrapeStatus | undefined {
    return this.map.get(node);
  }
  all(): Iterable<NodeScrapeStatus> {
    return this.map.values();
  }
}

const failing: NodeScrapeStatus = {
  latest: report("node-3", {
    outcome: "Failed",
    startMs: NOW - 14_000,
    durationMs: 10_000,
    bytes: 0,
    nodePoint: false,
    pods: 0,
    containers: 0,
    error: { kind: "Timeout", message: "timeout after 10s" },
  }),
  consecutiveFailures: 3,
  failingSinceMs: NOW - 44_000,
  lastSuccessMs: NOW - 59_000,
};

function cluster(overrides: Partial<DiagnosticsApiDeps> = {}) {
  const nodes = new FakeStore<Node>([
    node("node-1"),
    node("node-2"),
    node("node-3"),
    node("node-4", false),
    node("node-5"),
    node("infra-1", true, { role: "infra" }),
    node("node-0"),
  ]);
  const book = new Book()
    .set({ latest: report("node-1"), consecutiveFailures: 0, lastSuccessMs: NOW - 5000 })
    .set({ latest: report("node-2", { leftOut: [], leftOutCount: 0 }), consecutiveFailures: 0 })
    .set(failing)
    .set({
      latest: report("node-5", { outcome: "NotReady", durationMs: 0, bytes: 0 }),
      consecutiveFailures: 0,
    })
    .set({ latest: report("infra-1"), consecutiveFailures: 0 });
  const checks: SelfCheckResult[] = [
    { name: "front-proxy-ca", status: "Passed", message: "present", sinceMs: NOW - 60_000 },
    {
      name: "first-scrape",
      status: "Failed",
      message: "no node scraped",
      action: "look at the nodescrapes",
      sinceMs: NOW - 30_000,
    },
  ];
  const api = new DiagnosticsApi({
    nodes,
    nodeSelector: parseLabelSelector("role!=infra"),
    scrapeStatus: book,
    selfCheck: { results: () => checks },
    server: {
      name: "metrics-server-abc",
      startedAtMs: NOW - 120_000,
      version: "v0.1.0",
      resolutionMs: 15_000,
    },
    lastTick: () => ({ startMs: NOW - 15_000, durationMs: 10_012.7 }),
    now: () => NOW,
    ...overrides,
  });
  return { api, nodes, book };
}

function request(path: string, init: Partial<ApiRequest> = {}): ApiRequest {
  const [p, q] = path.split("?");
  return { method: "GET", path: p!, query: new URLSearchParams(q), accept: "application/json", ...init };
}

function get(api: DiagnosticsApi, path: string, init: Partial<ApiRequest> = {}) {
  const res = api.handle(request(path, init));
  assert.ok(res, `expected ${path} to be handled`);
  return { status: res.status, contentType: res.contentType, body: String(res.body) };
}

describe("routing and discovery", () => {
  it("answers only its own group's paths", () => {
    const { api } = cluster();
    for (const p of [
      "/apis",
      "/apis/metrics.k8s.io/v1beta1",
      "/healthz",
      "/apis/diagnostics.metrics-server.x-k8s.iox",
    ]) {
      assert.equal(api.handle(request(p)), undefined, p);
    }
  });

  it("serves the group and its resource list", () => {
    const { api } = cluster();
    const group = JSON.parse(get(api, G).body);
    assert.equal(group.kind, "APIGroup");
    assert.deepEqual(group.preferredVersion, {
      groupVersion: "diagnostics.metrics-server.x-k8s.io/v1alpha1",
      version: "v1alpha1",
    });
    const list = JSON.parse(get(api, V, { accept: undefined }).body);
    assert.equal(list.kind, "APIResourceList");
    assert.deepEqual(
      list.resources.map((r: { name: string; namespaced: boolean; kind: string; verbs: string[] }) => [
        r.name,
        r.namespaced,
        r.kind,
        r.verbs.join(","),
      ]),
      [
        ["nodescrapes", false, "NodeScrape", "get,list"],
        ["serverstatuses", false, "ServerStatus", "get,list"],
      ],
    );
  });

  it("lists both groups in /apis when the metrics API is told of this one, leaving its own documents as they were", () => {
    const deps = {
      nodes: new FakeStore<Node>(),
      pods: new FakeStore(),
      metrics: new FakeMetrics(),
      serverAddress: "",
    };
    const alone = new MetricsApi(deps);
    const both = new MetricsApi({ ...deps, otherGroups: [DIAGNOSTICS_GROUP] });
    const names = (body: string) => JSON.parse(body).groups.map((g: { name: string }) => g.name);
    assert.deepEqual(names(String(both.handle(request("/apis"))?.body)), [
      "metrics.k8s.io",
      "diagnostics.metrics-server.x-k8s.io",
    ]);
    const aggregated = both.handle(
      request("/apis", { accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" }),
    );
    const items = JSON.parse(String(aggregated?.body)).items;
    assert.deepEqual(
      items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["metrics.k8s.io", "diagnostics.metrics-server.x-k8s.io"],
    );
    assert.deepEqual(items[1].versions[0].resources[0].responseKind, {
      group: "diagnostics.metrics-server.x-k8s.io",
      version: "v1alpha1",
      kind: "NodeScrape",
    });
    for (const p of ["/apis/metrics.k8s.io", "/apis/metrics.k8s.io/v1beta1"]) {
      assert.equal(both.handle(request(p))?.body, alone.handle(request(p))?.body, p);
    }
  });

  it("answers bad paths, methods and Accepts with the metrics API's Statuses", () => {
    const { api } = cluster();
    for (const p of [`${G}/v1`, `${V}/pods`, `${V}/nodescrapes/node-1/status`, `${V}//nodescrapes`]) {
      const r = get(api, p);
      assert.equal(r.status, 404, p);
      assert.equal(JSON.parse(r.body).message, "the server could not find the requested resource");
    }
    for (const p of [G, V, `${V}/nodescrapes`, `${V}/serverstatuses/metrics-server-abc`]) {
      assert.equal(get(api, p, { method: "POST" }).status, 405, p);
    }
    const protobufOnly = get(api, `${V}/nodescrapes`, { accept: "application/vnd.kubernetes.protobuf" });
    assert.equal(protobufOnly.status, 406);
    assert.match(
      JSON.parse(protobufOnly.body).message,
      /only the following media types are accepted: application\/json$/,
    );
    // kubectl's protobuf-first Accept falls back to JSON.
    const protobufFirst = get(api, `${V}/nodescrapes`, {
      accept: "application/vnd.kubernetes.protobuf, */*",
    });
    assert.equal(protobufFirst.contentType, "application/json");
    assert.equal(JSON.parse(protobufFirst.body).kind, "NodeScrapeList");
    const watch = get(api, `${V}/nodescrapes?watch=true`);
    assert.equal(watch.status, 405);
    assert.equal(
      JSON.parse(watch.body).message,
      'watch is not supported on resources of kind "nodescrapes.diagnostics.metrics-server.x-k8s.io"',
    );
    assert.equal(get(api, `${V}/nodescrapes?includeObject=All`).status, 400);
  });
});

describe("nodescrapes", () => {
  it("lists every cached node, failing first, then NotReady, Pending, Excluded, Scraped", () => {
    const { api } = cluster();
    const list = JSON.parse(get(api, `${V}/nodescrapes`).body);
    assert.equal(list.kind, "NodeScrapeList");
    assert.equal(list.apiVersion, "diagnostics.metrics-server.x-k8s.io/v1alpha1");
    assert.deepEqual(list.metadata, {});
    assert.deepEqual(
      list.items.map((i: { metadata: { name: string }; status: { state: string } }) => [
        i.metadata.name,
        i.status.state,
      ]),
      [
        ["node-3", "Failing"],
        ["node-4", "NotReady"],
        ["node-5", "NotReady"],
        ["node-0", "Pending"],
        ["infra-1", "Excluded"],
        ["node-1", "Scraped"],
        ["node-2", "Scraped"],
      ],
    );
  });

  it("writes a failing node's last attempt, error and failure run, omitting what it lacks", () => {
    const { api } = cluster();
    const r = get(api, `${V}/nodescrapes/node-3`);
    assert.equal(r.status, 200);
    assert.equal(
      r.body,
      JSON.stringify({
        kind: "NodeScrape",
        apiVersion: "diagnostics.metrics-server.x-k8s.io/v1alpha1",
        metadata: { name: "node-3" },
        status: {
          state: "Failing",
          lastAttempt: "2026-12-08T03:20:11Z",
          duration: "10s",
          endpoint: "resource",
          url: "https://10.0.0.1:10250/metrics/resource",
          bytes: 0,
          nodePoint: false,
          pods: 0,
          containers: 0,
          consecutiveFailures: 3,
          failingSince: "2026-12-08T03:19:41Z",
          lastSuccess: "2026-12-08T03:19:26Z",
          error: { kind: "Timeout", message: "timeout after 10s" },
        },
      }) + "\n",
    );
    assert.doesNotMatch(get(api, `${V}/nodescrapes`).body, /null|"leftOut":\[\]|"leftOutCount":0/);
  });

  it("gives nodes without a report a state from the node cache and the selector", () => {
    const { api } = cluster({ scrapeStatus: undefined });
    const state = (name: string) => JSON.parse(get(api, `${V}/nodescrapes/${name}`).body).status;
    assert.deepEqual(state("node-1"), { state: "Pending" });
    assert.deepEqual(state("node-4"), { state: "NotReady" });
    assert.deepEqual(state("infra-1"), { state: "Excluded" });
  });

  it("answers 404 for a node not in the cache and 503 before the cache has synced", () => {
    const { api, nodes } = cluster();
    const missing = get(api, `${V}/nodescrapes/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body).details, {
      name: "nope",
      group: "diagnostics.metrics-server.x-k8s.io",
      kind: "nodescrapes",
    });
    assert.equal(
      JSON.parse(missing.body).message,
      'nodescrapes.diagnostics.metrics-server.x-k8s.io "nope" not found',
    );
    nodes.synced = false;
    assert.equal(get(api, `${V}/nodescrapes`).status, 503);
    assert.equal(get(api, `${V}/serverstatuses`).status, 200);
  });

  it("renders a Table: state, age of the last attempt, duration, endpoint, pods, failures, error", () => {
    const { api } = cluster();
    const table = JSON.parse(get(api, `${V}/nodescrapes`, { accept: TABLE_ACCEPT }).body);
    assert.equal(table.kind, "Table");
    assert.equal(table.apiVersion, "meta.k8s.io/v1");
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string }) => c.name),
      ["Name", "State", "Last Attempt", "Duration", "Endpoint", "Pods", "Failures", "Error"],
    );
    assert.deepEqual(table.rows[0].cells, [
      "node-3",
      "Failing",
      "14s",
      "10s",
      "resource",
      0,
      3,
      "Timeout: timeout after 10s",
    ]);
    assert.deepEqual(table.rows[3].cells, [
      "node-0",
      "Pending",
      "<none>",
      "<none>",
      "<none>",
      0,
      0,
      "<none>",
    ]);
    assert.deepEqual(table.rows[5].cells, ["node-1", "Scraped", "5s", "12ms", "resource", 3, 0, "<none>"]);
    assert.deepEqual(table.rows[0].object, {
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: { name: "node-3" },
    });
    const none = JSON.parse(
      get(api, `${V}/nodescrapes/node-1?includeObject=None`, { accept: TABLE_ACCEPT }).body,
    );
    assert.equal(none.rows.length, 1);
    assert.equal(none.rows[0].object, null);
    const whole = JSON.parse(
      get(api, `${V}/nodescrapes/node-1?includeObject=Object`, { accept: TABLE_ACCEPT }).body,
    );
    assert.equal(whole.rows[0].object.kind, "NodeScrape");
  });
});

describe("serverstatuses", () => {
  it("serves this replica's one object: version, resolution, last tick, node totals, checks", () => {
    const { api } = cluster();
    const list = JSON.parse(get(api, `${V}/serverstatuses`).body);
    assert.equal(list.kind, "ServerStatusList");
    assert.equal(list.items.length, 1);
    const one = JSON.parse(get(api, `${V}/serverstatuses/metrics-server-abc`).body);
    assert.deepEqual(one, list.items[0]);
    assert.deepEqual(one.metadata, { name: "metrics-server-abc", creationTimestamp: "2026-12-08T03:18:25Z" });
    assert.deepEqual(one.status, {
      version: "v0.1.0",
      resolution: "15s",
      lastTick: { start: "2026-12-08T03:20:10Z", duration: "10.013s" },
      nodes: { total: 7, scraped: 2, failing: 1, notReady: 2, excluded: 1, pending: 1 },
      pods: 6,
      containers: 8,
      checks: [
        { name: "front-proxy-ca", status: "Passed", message: "present", since: "2026-12-08T03:19:25Z" },
        {
          name: "first-scrape",
          status: "Failed",
          message: "no node scraped",
          action: "look at the nodescrapes",
          since: "2026-12-08T03:19:55Z",
        },
      ],
    });
    assert.equal(get(api, `${V}/serverstatuses/other`).status, 404);
  });

  it("omits the last tick and the checks it does not have", () => {
    const { api } = cluster({ lastTick: () => undefined, selfCheck: undefined });
    const status = JSON.parse(get(api, `${V}/serverstatuses/metrics-server-abc`).body).status;
    assert.equal("lastTick" in status, false);
    assert.equal("checks" in status, false);
    const table = JSON.parse(get(api, `${V}/serverstatuses`, { accept: TABLE_ACCEPT }).body);
    assert.deepEqual(table.rows[0].cells, ["metrics-server-abc", 7, 1, 6, "<none>", "<none>"]);
  });

  it("renders a Table with the failing checks named", () => {
    const { api } = cluster();
    const table = JSON.parse(get(api, `${V}/serverstatuses`, { accept: TABLE_ACCEPT }).body);
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string }) => c.name),
      ["Name", "Nodes", "Failing", "Pods", "Last Tick", "Checks"],
    );
    assert.deepEqual(table.rows[0].cells, ["metrics-server-abc", 7, 1, 6, "15s", "Failed: first-scrape"]);
  });
});
