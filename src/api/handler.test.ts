// Routing, discovery, request errors, Accept negotiation, protobuf and --swap-usage, through MetricsApi.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeMetrics, FakeStore, type node, type pod } from "../../test/support/fake-stores.ts";
import { fixture, get, KUBECTL_TOP_ACCEPT, request, T1, V } from "../../test/support/metrics-api-fixture.ts";
import { parseLabelSelector } from "../kube/index.ts";
import * as log from "../log/index.ts";
import { MetricsApi } from "./handler.ts";

describe("discovery", () => {
  const groupList =
    `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"metrics.k8s.io","versions":[` +
    `{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":` +
    `{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"},"serverAddressByClientCIDRs":` +
    `[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.1.0.2:4443"}]}]}\n`;
  const group =
    `{"kind":"APIGroup","apiVersion":"v1","name":"metrics.k8s.io","versions":[` +
    `{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":` +
    `{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}}\n`;
  const resourceList =
    `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"metrics.k8s.io/v1beta1","resources":[` +
    `{"name":"nodes","singularName":"","namespaced":false,"kind":"NodeMetrics","verbs":["get","list"]},` +
    `{"name":"pods","singularName":"","namespaced":true,"kind":"PodMetrics","verbs":["get","list"]}]}\n`;

  it("serves the three legacy documents byte for byte", () => {
    const { api } = fixture();
    for (const [path, body] of [
      ["/apis", groupList],
      ["/apis/metrics.k8s.io", group],
      [V, resourceList],
    ]) {
      const res = get(api, path, { accept: "application/json" });
      assert.deepEqual(res, { status: 200, contentType: "application/json", body }, path);
    }
  });

  it("works before any metrics or objects exist", () => {
    const api = new MetricsApi({
      nodes: new FakeStore(),
      pods: new FakeStore(),
      metrics: new FakeMetrics(),
      serverAddress: "127.1.0.2:4443",
    });
    assert.equal(get(api, V, { accept: undefined }).body, resourceList);
  });

  it("answers aggregated-discovery Accept headers on /apis with an APIGroupDiscoveryList", () => {
    const { api } = fixture();
    const kubectl =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," +
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    const aggregator =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," +
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
    const kubectl127 =
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    for (const [accept, version] of [
      [kubectl, "v2"],
      [aggregator, "v2"],
      [kubectl127, "v2beta1"],
    ]) {
      const res = get(api, "/apis", { accept });
      assert.equal(res.status, 200);
      assert.equal(
        res.contentType,
        `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`,
      );
      const doc = JSON.parse(res.body);
      assert.equal(doc.apiVersion, `apidiscovery.k8s.io/${version}`);
      assert.deepEqual(
        doc.items[0].versions[0].resources.map((r: { resource: string; scope: string }) => [
          r.resource,
          r.scope,
        ]),
        [
          ["nodes", "Cluster"],
          ["pods", "Namespaced"],
        ],
      );
    }
    // Below the root the generic server has only the legacy documents: it skips the aggregated entry.
    const group = get(api, V, { accept: kubectl });
    assert.deepEqual(group, { status: 200, contentType: "application/json", body: resourceList });
    assert.equal(get(api, V, { accept: aggregator }).status, 406);
  });

  it("rejects protobuf-only discovery requests with 406", () => {
    const { api } = fixture();
    assert.equal(get(api, "/apis", { accept: "application/vnd.kubernetes.protobuf" }).status, 406);
  });
});

describe("request errors", () => {
  it("rejects an unknown field selector with 400", () => {
    const { api } = fixture();
    for (const path of [`${V}/nodes`, `${V}/pods`]) {
      const res = get(api, path, { search: "fieldSelector=spec.nodeName%3Dkind-worker" });
      assert.equal(res.status, 400);
      assert.equal(
        res.body,
        `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
          `"message":"\\"spec.nodeName\\" is not a known field selector: only \\"metadata.name\\", \\"metadata.namespace\\"",` +
          `"reason":"BadRequest","code":400}\n`,
      );
    }
  });

  it("rejects malformed selectors with 400 and the parser's message", () => {
    const { api } = fixture();
    for (const [param, text] of [
      ["labelSelector", "app in (a"],
      ["labelSelector", "a=b=c"],
      ["fieldSelector", "metadata.name"],
    ]) {
      const query = new URLSearchParams({ [param]: text });
      const res = get(api, `${V}/namespaces/default/pods`, { query });
      assert.equal(res.status, 400, text);
      const status = JSON.parse(res.body);
      assert.equal(status.reason, "BadRequest");
      assert.equal(status.code, 400);
      assert.ok(status.message.length > 0);
      if (param === "labelSelector") {
        assert.throws(() => parseLabelSelector(text), { message: status.message });
      }
    }
  });

  it("answers watch with 405 unless watch is 0 or false", () => {
    const { api } = fixture();
    const nodesBody =
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
      `"message":"watch is not supported on resources of kind \\"nodes.metrics.k8s.io\\"",` +
      `"reason":"MethodNotAllowed","details":{"group":"metrics.k8s.io","kind":"nodes"},"code":405}\n`;
    for (const value of ["true", "1", "yes", ""]) {
      const res = get(api, `${V}/nodes`, { query: new URLSearchParams({ watch: value }) });
      assert.deepEqual(res, { status: 405, contentType: "application/json", body: nodesBody }, value);
    }
    const pods = get(api, `${V}/namespaces/default/pods`, { search: "watch=true" });
    assert.equal(pods.status, 405);
    assert.match(
      pods.body,
      /kind \\"pods\.metrics\.k8s\.io\\"","reason":"MethodNotAllowed","details":\{"group":"metrics\.k8s\.io","kind":"pods"\}/,
    );
    for (const value of ["0", "false", "FALSE"]) {
      assert.equal(
        get(api, `${V}/nodes`, { query: new URLSearchParams({ watch: value }) }).status,
        200,
        value,
      );
    }
  });

  it("404s unknown paths under /apis with a Status", () => {
    const { api } = fixture();
    const body =
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
      `"message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}\n`;
    for (const path of [
      "/apis/apps",
      "/apis/metrics.k8s.io/v1alpha1",
      "/apis/metrics.k8s.io/v1/nodes",
      `${V}/nodes/kind-worker/status`,
      `${V}/pods/web`,
      `${V}/namespaces/default`,
      `${V}/namespaces/default/pods/web/x`,
      `${V}/namespaces/default/services`,
      `${V}/watch/nodes`,
      `${V}/nodes/`,
      `${V}/nodes/%E0%A4%A`,
      "/apis/",
    ]) {
      assert.deepEqual(get(api, path), { status: 404, contentType: "application/json", body }, path);
    }
  });

  it("leaves paths outside /apis to the server", () => {
    const { api } = fixture();
    for (const path of ["/healthz", "/metrics", "/apisx", "/api/v1", "/"]) {
      assert.equal(api.handle(request(path)), undefined, path);
    }
  });

  it("405s methods other than GET on served paths", () => {
    const { api } = fixture();
    const body =
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
      `"message":"the server does not allow this method on the requested resource","reason":"MethodNotAllowed",` +
      `"details":{},"code":405}\n`;
    for (const [method, path] of [
      ["POST", `${V}/nodes`],
      ["DELETE", `${V}/nodes/kind-worker`],
      ["PUT", `${V}/namespaces/default/pods/web`],
      ["PATCH", `${V}/pods`],
      ["POST", V],
      ["POST", "/apis"],
    ]) {
      assert.deepEqual(
        get(api, path, { method }),
        { status: 405, contentType: "application/json", body },
        method,
      );
    }
  });

  it("500s with upstream's message when a cache fails, logging the cause", (t) => {
    const lines: string[] = [];
    const previous = log.setSink((line) => lines.push(line));
    t.after(() => log.setSink(previous));
    const { api, nodes, pods } = fixture();
    nodes.failWith = new Error("cache exploded");
    pods.failWith = new Error("cache exploded");
    const res = get(api, `${V}/nodes`);
    assert.equal(res.status, 500);
    assert.equal(
      res.body,
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
        `"message":"failed listing nodes: cache exploded","code":500}\n`,
    );
    assert.match(get(api, `${V}/pods`).body, /"message":"failed listing pods: cache exploded"/);
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^E.*"Failed listing objects for the metrics API" err="cache exploded"/);
  });

  it("500s instead of throwing when the metrics reader fails", (t) => {
    const previous = log.setSink(() => {});
    t.after(() => log.setSink(previous));
    const metrics = new FakeMetrics();
    metrics.getNodeMetrics = () => {
      throw new Error("storage broke");
    };
    const { api } = fixture({ metrics });
    const res = get(api, `${V}/nodes/kind-worker`);
    assert.equal(res.status, 500);
    assert.match(res.body, /"message":"storage broke"/);
  });
});

describe("Accept negotiation", () => {
  it("serves JSON to protobuf-first clients, wildcards, plain JSON and absent headers", () => {
    const { api } = fixture();
    for (const accept of [
      KUBECTL_TOP_ACCEPT,
      "application/vnd.kubernetes.protobuf,application/json",
      "application/json, */*",
      "application/json",
      "application/*",
      "*/*",
      "application/json;q=0.5",
      "application/json;as=Table;v=v2;g=meta.k8s.io,application/json",
      undefined,
      "",
    ]) {
      const res = get(api, `${V}/nodes/kind-worker`, { accept });
      assert.equal(res.status, 200, String(accept));
      assert.equal(res.contentType, "application/json");
    }
  });

  it("406s Accept headers with nothing we produce", () => {
    const { api } = fixture();
    const body =
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
      `"message":"only the following media types are accepted: application/json","reason":"NotAcceptable","code":406}\n`;
    for (const accept of [
      "application/vnd.kubernetes.protobuf",
      "application/yaml",
      "text/html",
      "application/json;q=0",
      "application/json;as=Table;v=v2;g=meta.k8s.io",
      "application/json;as=PartialObjectMetadata;v=v1;g=example.com",
      "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
      "application/json;as=Table;v=v1;g=meta.k8s.io;stream=other, application/vnd.kubernetes.protobuf",
    ]) {
      for (const path of [`${V}/nodes`, `${V}/namespaces/default/pods/web`]) {
        assert.deepEqual(
          get(api, path, { accept }),
          { status: 406, contentType: "application/json", body },
          accept,
        );
      }
    }
  });

  it("negotiates before looking at list options", () => {
    const { api } = fixture();
    const res = get(api, `${V}/nodes`, { accept: "application/yaml", search: "fieldSelector=spec.x%3D1" });
    assert.equal(res.status, 406);
  });
});

describe("protobuf", () => {
  it("hands the encoder the same objects the JSON response carries, and serves its bytes", () => {
    const seen: unknown[] = [];
    const record = (byte: number) => (o: unknown) => {
      seen.push(o);
      return new Uint8Array([byte]);
    };
    const encoder = {
      encodeNodeMetrics: record(1),
      encodeNodeMetricsList: record(2),
      encodePodMetrics: record(3),
      encodePodMetricsList: record(4),
    };
    const { api: jsonApi } = fixture();
    const { api } = fixture({ protobuf: encoder });
    const paths = [`${V}/nodes/kind-worker`, `${V}/nodes`, `${V}/namespaces/default/pods/web`, `${V}/pods`];
    paths.forEach((path, i) => {
      const res = api.handle(request(path, { accept: KUBECTL_TOP_ACCEPT }));
      assert.ok(res);
      assert.equal(res.contentType, "application/vnd.kubernetes.protobuf");
      assert.deepEqual([...(res.body as Buffer)], [i + 1]);
      assert.deepEqual(seen[i], JSON.parse(get(jsonApi, path, { accept: "application/json" }).body), path);
    });
    // Errors stay JSON Status bodies.
    assert.equal(
      api.handle(request(`${V}/nodes/nope`, { accept: KUBECTL_TOP_ACCEPT }))?.contentType,
      "application/json",
    );
  });
});

describe("--swap-usage", () => {
  function swapFixture(swapUsage: boolean) {
    const f = fixture({ swapUsage });
    f.metrics.nodes.set("kind-worker", {
      ...f.metrics.nodes.get("kind-worker")!,
      swapBytes: 10 * 1024 * 1024,
    });
    f.metrics.pods.set("default/web", {
      timestampMs: T1,
      windowMs: 15000,
      containers: [
        { name: "nginx", cpuNanocores: 1e6, memoryBytes: 1024, swapBytes: 2048 },
        { name: "sidecar", cpuNanocores: 2e6, memoryBytes: 1024, swapBytes: 1024 },
      ],
    });
    return f;
  }

  it("adds swap to usage where the kubelet reported it, after cpu and memory", () => {
    const { api } = swapFixture(true);
    const nodeBody = get(api, `${V}/nodes/kind-worker`).body;
    assert.match(nodeBody, /"usage":\{"cpu":"123456789n","memory":"1578392Ki","swap":"10Mi"\}/);
    // A node without a swap sample has no swap key (unknown is not zero).
    assert.doesNotMatch(get(api, `${V}/nodes/kind-control-plane`).body, /swap/);
    const pod = JSON.parse(get(api, `${V}/namespaces/default/pods/web`).body);
    assert.deepEqual(
      pod.containers.map((c: { usage: Record<string, string> }) => c.usage.swap),
      ["2Ki", "1Ki"],
    );
  });

  it("sums swap in Table rows and adds a swap column", () => {
    const { api } = swapFixture(true);
    const table = JSON.parse(
      get(api, `${V}/namespaces/default/pods/web`, {
        accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
      }).body,
    );
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string }) => c.name),
      ["Name", "cpu", "memory", "swap", "Window"],
    );
    assert.deepEqual(table.rows[0].cells, ["web", "3m", "2Ki", "3Ki", "15s"]);
  });

  it("is off by default: upstream's bytes, no swap anywhere", () => {
    const { api } = swapFixture(false);
    assert.doesNotMatch(get(api, `${V}/nodes`).body, /swap/);
    assert.doesNotMatch(get(api, `${V}/pods`).body, /swap/);
  });
});

describe("discovery before the first scrape", () => {
  it("answers every discovery document with an empty store (the aggregator's availability check)", () => {
    const api = new MetricsApi({
      nodes: new FakeStore<ReturnType<typeof node>>([]),
      pods: new FakeStore<ReturnType<typeof pod>>([]),
      metrics: new FakeMetrics(),
      serverAddress: "10.96.0.10:443",
    });
    for (const path of ["/apis", "/apis/metrics.k8s.io", V]) {
      const res = get(api, path, { accept: "application/json" });
      assert.equal(res.status, 200, path);
    }
    const aggregated = get(api, "/apis", {
      accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    });
    assert.equal(aggregated.status, 200);
    assert.equal(JSON.parse(aggregated.body).kind, "APIGroupDiscoveryList");
  });
});

describe("before the caches have synced", () => {
  it("answers 503 ServiceUnavailable for every resource, never an empty list; discovery still works", () => {
    const nodes = new FakeStore<ReturnType<typeof node>>([]);
    const pods = new FakeStore<ReturnType<typeof pod>>([]);
    const api = new MetricsApi({ nodes, pods, metrics: new FakeMetrics(), serverAddress: "10.96.0.10:443" });
    const paths = [
      `${V}/nodes`,
      `${V}/nodes/n1`,
      `${V}/pods`,
      `${V}/namespaces/ns/pods`,
      `${V}/namespaces/ns/pods/p`,
    ];
    for (const synced of [
      [false, true],
      [true, false],
    ]) {
      nodes.synced = synced[0]!;
      pods.synced = synced[1]!;
      for (const path of paths) {
        const res = get(api, path, { accept: "application/json" });
        assert.equal(res.status, 503, path);
        const status = JSON.parse(res.body);
        assert.equal(status.kind, "Status");
        assert.equal(status.reason, "ServiceUnavailable");
      }
      assert.equal(get(api, V, { accept: "application/json" }).status, 200);
    }
    nodes.synced = true;
    pods.synced = true;
    assert.equal(get(api, `${V}/nodes`, { accept: "application/json" }).status, 200);
  });
});
