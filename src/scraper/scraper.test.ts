import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { before, describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  type FakeKubelet,
  selfSignedCert,
  startFakeKubelet,
  type TestCert,
} from "../../test/support/fake-kubelet.ts";
import { captureLogs } from "../../test/support/logs.ts";
import type { Node } from "../kube/index.ts";
import * as log from "../log/index.ts";
import { KubeletClient } from "./kubelet/index.ts";
import { kubeletNodeFamilies, registerScraperMetrics } from "./monitoring.ts";
import { Scraper, type ScraperOptions } from "./scraper.ts";

const payload = readFileSync(new URL("./testdata/resource-1.33.txt", import.meta.url));

type Behaviour = "ok" | "hang" | "500" | "garbage" | "huge";

function respond(behaviour: Behaviour, res: ServerResponse): void {
  switch (behaviour) {
    case "ok":
      res.end(payload);
      return;
    case "hang":
      return;
    case "500":
      res.writeHead(500);
      res.end("internal");
      return;
    case "garbage":
      res.end("this is { not prometheus");
      return;
    case "huge":
      res.writeHead(200, { "content-length": 2 * 1024 * 1024 });
      res.end(Buffer.alloc(2 * 1024 * 1024, "#"));
  }
}

function nodeFor(name: string, port: number, ready = true, ip = "127.0.0.1"): Node {
  return {
    metadata: { name },
    status: {
      addresses: [{ type: "InternalIP", address: ip }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

describe("Scraper", () => {
  let cert: TestCert;
  before(async () => {
    cert = await selfSignedCert(["127.0.0.1"]);
  });

  async function kubelet(
    t: { after(fn: () => Promise<void>): void },
    behaviour: Behaviour,
  ): Promise<FakeKubelet> {
    const k = await startFakeKubelet(cert, (_req, res) => respond(behaviour, res));
    t.after(() => k.close());
    return k;
  }

  function scraper(t: { after(fn: () => Promise<void>): void }, opts: Partial<ScraperOptions> = {}) {
    const client = new KubeletClient({ ca: Buffer.from(cert.certPem), maxBodyBytes: 1024 * 1024 });
    t.after(() => client.close());
    return new Scraper({
      client,
      addressTypes: ["InternalIP"],
      port: 1,
      useNodeStatusPort: true,
      scheme: "https",
      requestTimeoutMs: 10_000,
      random: () => 0,
      ...opts,
    });
  }

  const tick = (): AbortSignal => AbortSignal.timeout(30_000);

  it("scrapes Ready nodes and returns their decoded batches in node order", async (t) => {
    const lines = captureLogs(t, 2);
    const a = await kubelet(t, "ok");
    const b = await kubelet(t, "ok");
    const batch = await scraper(t).scrape([nodeFor("a", a.port), nodeFor("b", b.port)], tick());
    assert.deepEqual(
      batch.map((s) => s.node),
      ["a", "b"],
    );
    assert.equal(batch[0].nodeCpuNs, 1457392812000);
    assert.equal(batch[0].containerCount, 4);
    assert.equal(a.requests[0].path, "/metrics/resource");
    assert.equal(lines.filter((l) => l.includes('"Scraping node"')).length, 2);
    assert.ok(lines.some((l) => l.includes('"Scraping metrics from nodes" nodeCount=2')));
    // Both nodes carry the same pods, so the second node's copies are dropped as duplicates.
    assert.ok(lines.some((l) => l.includes('"Scrape finished"') && / nodeCount=2 podCount=3\n$/.test(l)));
    assert.equal(batch[1].containerCount, 0);
    assert.equal(lines.filter((l) => l.includes('"Got duplicate pod point"')).length, 3);
  });

  it("tells each node's outcome as it comes: answers and failures before a hanging node's end", async (t) => {
    captureLogs(t);
    const [fast, stuck, broken] = [await kubelet(t, "ok"), await kubelet(t, "hang"), await kubelet(t, "500")];
    const deadline = new AbortController();
    const heard: [string, string | undefined][] = [];
    const done = scraper(t).scrape(
      [nodeFor("fast", fast.port), nodeFor("stuck", stuck.port), nodeFor("broken", broken.port)],
      deadline.signal,
      (node, scrape) => heard.push([node, scrape?.node]),
    );
    for (let i = 0; i < 3000 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual([...heard].sort(), [
      ["broken", undefined],
      ["fast", "fast"],
    ]);
    deadline.abort();
    assert.deepEqual(
      (await done).map((s) => s.node),
      ["fast"],
    );
    assert.deepEqual(heard[2], ["stuck", undefined]);
  });

  it("drops a duplicate pod from every column, swap included, so the kept pods keep their values", async (t) => {
    captureLogs(t);
    const line = (family: string, pod: string, value: number) =>
      `${family}{container="c",namespace="ns",pod="${pod}"} ${value} 1700000000000\n`;
    const pod = (name: string, swap: number) =>
      line("container_cpu_usage_seconds_total", name, 1) +
      line("container_memory_working_set_bytes", name, 1000) +
      line("container_swap_usage_bytes", name, swap);
    const node =
      "node_cpu_usage_seconds_total 1 1700000000000\nnode_memory_working_set_bytes 1000 1700000000000\n";
    const first = await startFakeKubelet(cert, (_req, res) => res.end(node + pod("dup", 111)));
    t.after(() => first.close());
    // The second node reports the duplicate first: dropping it shifts every column by one.
    const second = await startFakeKubelet(cert, (_req, res) =>
      res.end(node + pod("dup", 111) + pod("own", 222)),
    );
    t.after(() => second.close());
    const batch = await scraper(t).scrape([nodeFor("a", first.port), nodeFor("b", second.port)], tick());
    const b = batch.find((x) => x.node === "b");
    assert.ok(b);
    assert.equal(b.containerCount, 1);
    assert.deepEqual(b.pods, ["own"]);
    assert.deepEqual(Array.from(b.swapBytes ?? []), [222]);
    assert.deepEqual(Array.from(b.memoryBytes), [1000]);
  });

  it("gives the same names from tick to tick, with or without the cross-scrape name table", async (t) => {
    // Whether two equal strings are one instance cannot be seen from JavaScript (Object.is compares
    // strings by value), so only the names themselves are checked here; the table's instance sharing
    // is measured, not tested (heap snapshots, bench/micro/scraper-tick.ts).
    captureLogs(t);
    const a = await kubelet(t, "ok");
    for (const internAcrossScrapes of [true, false]) {
      const s = scraper(t, { internAcrossScrapes });
      const [first] = await s.scrape([nodeFor("a", a.port)], tick());
      const [second] = await s.scrape([nodeFor("a", a.port)], tick());
      assert.ok(first && first.containerCount > 0);
      assert.deepEqual(second.pods, first.pods);
      assert.deepEqual(second.namespaces, first.namespaces);
      assert.deepEqual(second.containers, first.containers);
    }
  });

  it("logs exactly one line for a failed node and keeps the others", async (t) => {
    const cases: [Behaviour, RegExp][] = [
      [
        "500",
        /"Failed to scrape node" err="request failed, status: \\"500 Internal Server Error\\"" node="bad"\n$/,
      ],
      [
        "garbage",
        /"Failed to scrape node" err="failed parsing metrics: invalid value \\"is\\" at line 1" node="bad"\n$/,
      ],
      ["huge", /"Failed to scrape node" err="response from kubelet exceeds 1 MiB limit" node="bad"\n$/],
    ];
    for (const [behaviour, expected] of cases) {
      const lines: string[] = [];
      const prev = log.setSink((l) => lines.push(l));
      try {
        const good = await kubelet(t, "ok");
        const bad = await kubelet(t, behaviour);
        const batch = await scraper(t).scrape([nodeFor("bad", bad.port), nodeFor("good", good.port)], tick());
        assert.deepEqual(
          batch.map((s) => s.node),
          ["good"],
          behaviour,
        );
        assert.equal(lines.length, 1, `${behaviour}: ${lines.join("")}`);
        assert.match(lines[0], /^E\d{4} /);
        assert.match(lines[0], expected);
      } finally {
        log.setSink(prev);
      }
    }
  });

  it("times out a hanging kubelet without affecting another node", async (t) => {
    const lines = captureLogs(t);
    const good = await kubelet(t, "ok");
    const hang = await kubelet(t, "hang");
    const batch = await scraper(t, { requestTimeoutMs: 300 }).scrape(
      [nodeFor("hang", hang.port), nodeFor("good", good.port)],
      tick(),
    );
    assert.deepEqual(
      batch.map((s) => s.node),
      ["good"],
    );
    assert.equal(lines.length, 1, lines.join(""));
    assert.match(
      lines[0],
      /"Failed to scrape node, timeout to access kubelet" node="hang" timeout="300ms"\n$/,
    );
  });

  it("names the URL when the kubelet cannot be reached", async (t) => {
    const lines = captureLogs(t);
    const closed = await kubelet(t, "ok");
    const port = closed.port;
    await closed.close();
    const batch = await scraper(t).scrape([nodeFor("gone", port)], tick());
    assert.deepEqual(batch, []);
    assert.equal(lines.length, 1);
    const url = `https://127.0.0.1:${port}/metrics/resource`;
    assert.ok(
      lines[0].includes(`err="Get \\"${url}\\": connect ECONNREFUSED 127.0.0.1:${port}" node="gone"`),
      lines[0],
    );
  });

  it("reports a node without a usable address", async (t) => {
    const lines = captureLogs(t);
    const n = nodeFor("noaddr", 1);
    n.status!.addresses = [{ type: "Hostname", address: "x" }];
    assert.deepEqual(await scraper(t).scrape([n], tick()), []);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /"Failed to scrape node" err="no address matched types \[InternalIP\]" node="noaddr"/,
    );
  });

  it("skips nodes that are not Ready quietly (V(4) only)", async (t) => {
    const lines = captureLogs(t, 4);
    const a = await kubelet(t, "ok");
    const batch = await scraper(t).scrape([nodeFor("down", a.port, false)], tick());
    assert.deepEqual(batch, []);
    assert.equal(a.requests.length, 0);
    assert.equal(
      lines.filter((l) => l.includes('"Failed to scrape node, node is not ready" node="down"')).length,
      1,
    );
    assert.ok(lines.every((l) => l.startsWith("I")));
  });

  it("keeps the first of duplicate node names", async (t) => {
    const lines = captureLogs(t);
    const a = await kubelet(t, "ok");
    const b = await kubelet(t, "ok");
    const batch = await scraper(t).scrape([nodeFor("same", a.port), nodeFor("same", b.port)], tick());
    assert.equal(batch.length, 1);
    assert.equal(a.requests.length, 1);
    assert.equal(b.requests.length, 0);
    assert.equal(lines.filter((l) => l.includes('"Got duplicate node point" node="same"')).length, 1);
  });

  it("gives up every node when the tick deadline has passed, without throwing", async (t) => {
    const lines = captureLogs(t);
    const a = await kubelet(t, "hang");
    const b = await kubelet(t, "hang");
    const deadline = new AbortController();
    const pending = scraper(t, { random: () => 0.99 }).scrape(
      [nodeFor("a", a.port), nodeFor("b", b.port)],
      deadline.signal,
    );
    deadline.abort(new Error("tick deadline"));
    assert.deepEqual(await pending, []);
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.includes('"Failed to scrape node, timeout to access kubelet"')));
  });

  it("keeps one listener on the tick deadline however many nodes wait on it", async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const k = await startFakeKubelet(cert, (_req, res) => {
      void gate.then(() => res.end(payload));
    });
    t.after(() => k.close());
    const controller = new AbortController();
    const s = scraper(t, { maxConcurrency: 2, random: () => 0.5 });
    const nodes = Array.from({ length: 40 }, (_, i) => nodeFor(`n${i}`, k.port));
    const done = s.scrape(nodes, controller.signal);
    // While nodes sleep their jitter, queue for a permit and wait for a response.
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(getEventListeners(controller.signal, "abort").length, 1);
    }
    release();
    const batch = await done;
    assert.equal(batch.length, 40);
    assert.equal(getEventListeners(controller.signal, "abort").length, 0, "removed when the tick ends");
  });

  it("reuses each kubelet's TLS connection from one tick to the next", async (t) => {
    const kubelets = await Promise.all(Array.from({ length: 6 }, () => kubelet(t, "ok")));
    const accepted = kubelets.map(() => 0);
    for (const [i, k] of kubelets.entries()) {
      k.server.on("secureConnection", () => {
        accepted[i]++;
      });
    }
    const s = scraper(t);
    const nodes = kubelets.map((k, i) => nodeFor(`n${i}`, k.port));
    for (let tickNo = 0; tickNo < 3; tickNo++) assert.equal((await s.scrape(nodes, tick())).length, 6);
    assert.deepEqual(accepted, [1, 1, 1, 1, 1, 1], "one TLS connection per kubelet over 3 ticks");
    for (const k of kubelets) {
      assert.equal(k.requests.length, 3);
      assert.equal(new Set(k.requests.map((r) => r.remotePort)).size, 1);
    }
  });

  it("bounds the requests in flight", async (t) => {
    captureLogs(t);
    let inFlight = 0;
    let maxInFlight = 0;
    const kubelets: FakeKubelet[] = [];
    for (let i = 0; i < 4; i++) {
      const k = await startFakeKubelet(cert, (_req, res) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          res.end(payload);
        }, 20);
      });
      t.after(() => k.close());
      kubelets.push(k);
    }
    const batch = await scraper(t, { maxConcurrency: 2 }).scrape(
      kubelets.map((k, i) => nodeFor(`n${i}`, k.port)),
      tick(),
    );
    assert.equal(batch.length, 4);
    assert.equal(maxInFlight, 2);
  });

  it("staggers requests with the jitter from random()", async (t) => {
    captureLogs(t);
    const a = await kubelet(t, "ok");
    const draws: number[] = [];
    const s = scraper(t, {
      random: () => {
        draws.push(1);
        return 0.5;
      },
    });
    await s.scrape([nodeFor("a", a.port), nodeFor("down", a.port, false)], tick());
    assert.equal(draws.length, 1, "one draw per Ready node");
  });

  it("records the three self-metrics and forgets vanished nodes", async (t) => {
    captureLogs(t);
    const registry = new Registry();
    registerScraperMetrics(registry);
    registerScraperMetrics(registry); // idempotent
    const ok = await kubelet(t, "ok");
    const bad = await kubelet(t, "500");
    const s = scraper(t);
    const total = async (success: string): Promise<number> => {
      const m = await registry.getSingleMetric("metrics_server_kubelet_request_total")!.get();
      return m.values.find((v) => v.labels.success === success)?.value ?? 0;
    };
    const [t0, f0] = [await total("true"), await total("false")];
    await s.scrape([nodeFor("metrics-ok", ok.port), nodeFor("metrics-bad", bad.port)], tick());
    assert.equal((await total("true")) - t0, 1);
    assert.equal((await total("false")) - f0, 1);
    // What /metrics serves: the registry, then the per-node families.
    const exposition = async (): Promise<string> =>
      (await registry.metrics()) + "\n" + [...kubeletNodeFamilies()].join("");
    let text = await exposition();
    assert.match(
      text,
      /# HELP metrics_server_kubelet_request_duration_seconds \[ALPHA\] Duration of requests/,
    );
    assert.match(
      text,
      /metrics_server_kubelet_request_duration_seconds_bucket\{le="0.005",node="metrics-ok"\}/,
    );
    assert.match(
      text,
      /metrics_server_kubelet_request_duration_seconds_bucket\{le="10",node="metrics-bad"\}/,
    );
    assert.match(
      text,
      /# HELP metrics_server_kubelet_request_total \[ALPHA\] Number of requests sent to Kubelet API/,
    );
    const last = /metrics_server_kubelet_last_request_time_seconds\{node="metrics-ok"\} (\S+)/.exec(text);
    assert.ok(last && Math.abs(Number(last[1]) - Date.now() / 1000) < 600);

    await s.scrape([nodeFor("metrics-ok", ok.port)], tick());
    text = await exposition();
    assert.ok(!text.includes('node="metrics-bad"'));
    assert.ok(text.includes('node="metrics-ok"'));
  });
});
