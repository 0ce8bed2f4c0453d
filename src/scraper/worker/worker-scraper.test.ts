import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { Registry } from "prom-client";
import {
  type FakeKubelet,
  selfSignedCert,
  startFakeKubelet,
  type TestCert,
} from "../../../test/support/fake-kubelet.ts";
import { captureLogs } from "../../../test/support/logs.ts";
import type { Node } from "../../kube/index.ts";
import * as log from "../../log/index.ts";
import { KubeletClient } from "../kubelet/index.ts";
import { kubeletNodeFamilies, registerScraperMetrics } from "../monitoring.ts";
import { Scraper } from "../scraper.ts";
import type { WorkerScraperOptions } from "./options.ts";
import { WorkerScraper } from "./worker-scraper.ts";

const summary = readFileSync(new URL("../testdata/summary-cpu-memory.json", import.meta.url));

interface PodSpec {
  namespace: string;
  pod: string;
  containers: { name: string; cpu: number; memory: number; swap?: number }[];
}

/** /metrics/resource text for the given pods (cpu 0 makes a pod incomplete, as upstream sees it). */
function resourceText(pods: PodSpec[]): string {
  let out = "node_cpu_usage_seconds_total 1457.392812 1732741801205\n";
  out += "node_memory_working_set_bytes 1.113243648e+09 1732741801205\n";
  for (const p of pods) {
    for (const c of p.containers) {
      const labels = `{container="${c.name}",namespace="${p.namespace}",pod="${p.pod}"}`;
      out += `container_cpu_usage_seconds_total${labels} ${c.cpu} 1732741798478\n`;
      out += `container_memory_working_set_bytes${labels} ${c.memory} 1732741798478\n`;
      if (c.swap !== undefined) out += `container_swap_usage_bytes${labels} ${c.swap} 1732741798478\n`;
    }
  }
  return out;
}

type Behaviour =
  | { kind: "ok"; pods: PodSpec[] }
  | { kind: "summary" }
  | { kind: "hang" }
  | { kind: "500" }
  | { kind: "garbage" }
  | { kind: "huge" };

function respond(b: Behaviour, req: IncomingMessage, res: ServerResponse): void {
  switch (b.kind) {
    case "ok":
      res.end(resourceText(b.pods));
      return;
    case "summary":
      if (req.url?.startsWith("/stats/summary")) res.end(summary);
      else {
        res.writeHead(404);
        res.end();
      }
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

function nodeFor(name: string, port: number, ready = true): Node {
  return {
    metadata: { name },
    status: {
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

/** A log line without its wall clock, which differs between two runs. */
const timeless = (line: string): string => line.replace(/^([IWEF]\d{4}) \d\d:\d\d:\d\d\.\d{6} /, "$1 ");

describe("WorkerScraper", () => {
  let cert: TestCert;
  const kubelets: { k: FakeKubelet; behaviour: Behaviour }[] = [];
  before(async () => {
    cert = await selfSignedCert(["127.0.0.1"]);
    for (let i = 0; i < 4; i++) {
      const slot: { k?: FakeKubelet; behaviour: Behaviour } = { behaviour: { kind: "500" } };
      slot.k = await startFakeKubelet(cert, (req, res) => respond(slot.behaviour, req, res));
      kubelets.push(slot as { k: FakeKubelet; behaviour: Behaviour });
    }
  });
  after(async () => {
    await Promise.all(kubelets.map((s) => s.k.close()));
  });

  const base = (): Omit<WorkerScraperOptions, "ca"> => ({
    addressTypes: ["InternalIP"],
    port: 1,
    useNodeStatusPort: true,
    scheme: "https",
    requestTimeoutMs: 10_000,
    maxBodyBytes: 1024 * 1024,
  });

  function workerScraper(
    t: { after(fn: () => Promise<void>): void },
    opts: Partial<WorkerScraperOptions> = {},
  ): WorkerScraper {
    const w = new WorkerScraper({ ...base(), ca: Buffer.from(cert.certPem), ...opts });
    t.after(() => w.close());
    return w;
  }

  const tick = (): AbortSignal => AbortSignal.timeout(30_000);

  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
  const podSpecs = fc.uniqueArray(
    fc.record({
      namespace: fc.constantFrom("default", "kube-system", "team-a"),
      pod: name,
      containers: fc.uniqueArray(
        fc.record({
          name,
          cpu: fc.constantFrom(0, 0.5, 12.847166),
          memory: fc.constantFrom(1024, 1.8239488e7),
          swap: fc.option(fc.constantFrom(0, 4096), { nil: undefined }),
        }),
        { minLength: 1, maxLength: 3, selector: (c) => c.name },
      ),
    }),
    { maxLength: 6, selector: (p) => `${p.namespace}/${p.pod}` },
  );
  const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
    { weight: 4, arbitrary: podSpecs.map((pods) => ({ kind: "ok" as const, pods })) },
    fc.constantFrom<Behaviour>({ kind: "summary" }, { kind: "500" }, { kind: "garbage" }, { kind: "huge" }),
  );

  it("gives the same batches, endpoints and log lines as the in-process Scraper", async (t) => {
    const client = new KubeletClient({ ca: Buffer.from(cert.certPem), maxBodyBytes: 1024 * 1024 });
    t.after(() => client.close());
    const inProcess = new Scraper({ ...base(), client, random: () => 0 });
    const inWorker = workerScraper(t);
    await fc.assert(
      fc.asyncProperty(
        fc.array(behaviour, { minLength: 4, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        async (behaviours, ready) => {
          behaviours.forEach((b, i) => {
            kubelets[i].behaviour = b;
          });
          const nodes = kubelets.map((s, i) => nodeFor(`node-${i}`, s.k.port, ready[i]));
          // An unreachable kubelet and a duplicate node name fail the same way in both.
          nodes.push(nodeFor("node-closed", 1), nodeFor("node-0", kubelets[0].k.port));
          const run = async (s: Scraper | WorkerScraper) => {
            const lines: string[] = [];
            const prev = log.setSink((l) => lines.push(l));
            const prevLevel = log.getVerbosity();
            log.setVerbosity(4);
            try {
              const batch = await s.scrape(nodes, tick());
              return { batch, lines: lines.map(timeless).sort() };
            } finally {
              log.setSink(prev);
              log.setVerbosity(prevLevel);
            }
          };
          const expected = await run(inProcess);
          const actual = await run(inWorker);
          assert.deepEqual(actual.batch, expected.batch);
          // "Scrape finished" carries a duration; everything else, file:line included, is identical.
          const stable = (lines: string[]) => lines.filter((l) => !l.includes('"Scrape finished"'));
          assert.deepEqual(stable(actual.lines), stable(expected.lines));
          for (const n of nodes) {
            assert.equal(inWorker.endpointOf(n.metadata.name), inProcess.endpointOf(n.metadata.name));
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it("follows a node that changed: a replaced node object is sent again, an unchanged one is reused", async (t) => {
    captureLogs(t);
    kubelets[0].behaviour = { kind: "ok", pods: [] };
    kubelets[1].behaviour = { kind: "ok", pods: [] };
    const s = workerScraper(t);
    const before = [kubelets[0].k.requests.length, kubelets[1].k.requests.length];
    const node = nodeFor("moving", kubelets[0].k.port);
    const first = await s.scrape([node], tick());
    assert.deepEqual(
      first.map((b) => b.node),
      ["moving"],
    );
    // The same object again, then its replacement on the other kubelet's port, then one not Ready.
    await s.scrape([node], tick());
    await s.scrape([nodeFor("moving", kubelets[1].k.port)], tick());
    assert.equal(kubelets[0].k.requests.length - before[0]!, 2);
    assert.equal(kubelets[1].k.requests.length - before[1]!, 1);
    assert.deepEqual(await s.scrape([nodeFor("moving", kubelets[1].k.port, false)], tick()), []);
    assert.equal(kubelets[1].k.requests.length - before[1]!, 1, "a node that is not Ready is not scraped");
  });

  it("records the kubelet metrics in the main thread's registry and forgets vanished nodes", async (t) => {
    captureLogs(t);
    const registry = new Registry();
    registerScraperMetrics(registry);
    kubelets[0].behaviour = { kind: "ok", pods: [] };
    kubelets[1].behaviour = { kind: "500" };
    const total = async (success: string): Promise<number> => {
      const m = await registry.getSingleMetric("metrics_server_kubelet_request_total")!.get();
      return m.values.find((v) => v.labels.success === success)?.value ?? 0;
    };
    const [t0, f0] = [await total("true"), await total("false")];
    const s = workerScraper(t);
    await s.scrape([nodeFor("w-ok", kubelets[0].k.port), nodeFor("w-bad", kubelets[1].k.port)], tick());
    assert.equal((await total("true")) - t0, 1);
    assert.equal((await total("false")) - f0, 1);
    // What /metrics serves: the registry, then the per-node families.
    const exposition = async (): Promise<string> =>
      (await registry.metrics()) + "\n" + [...kubeletNodeFamilies()].join("");
    let text = await exposition();
    assert.match(text, /metrics_server_kubelet_request_duration_seconds_bucket\{le="10",node="w-ok"\} 1/);
    assert.match(text, /metrics_server_kubelet_request_duration_seconds_count\{node="w-bad"\} 1/);
    const last = /metrics_server_kubelet_last_request_time_seconds\{node="w-ok"\} (\S+)/.exec(text);
    assert.ok(last && Math.abs(Number(last[1]) - Date.now() / 1000) < 600);
    assert.equal(text.match(/^# TYPE metrics_server_/gm)?.length, 3);

    await s.scrape([nodeFor("w-ok", kubelets[0].k.port)], tick());
    text = await exposition();
    assert.ok(!text.includes('node="w-bad"'));
    assert.ok(text.includes('node="w-ok"'));
  });

  it("passes the token source's current token with each tick, and its failure as in-process", async (t) => {
    const lines = captureLogs(t);
    kubelets[0].behaviour = { kind: "ok", pods: [] };
    let token = "first";
    const s = workerScraper(t, {
      bearerToken: async () => {
        if (token === "broken") throw new Error("exec plugin failed");
        return token;
      },
    });
    const k = kubelets[0].k;
    const seen = (): unknown => k.requests.at(-1)?.headers.authorization;
    assert.equal((await s.scrape([nodeFor("tok", k.port)], tick())).length, 1);
    assert.equal(seen(), "Bearer first");
    token = "rotated";
    await s.scrape([nodeFor("tok", k.port)], tick());
    assert.equal(seen(), "Bearer rotated");
    token = "broken";
    assert.deepEqual(await s.scrape([nodeFor("tok", k.port)], tick()), []);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /"Failed to scrape node" err="Get \\"https:\/\/127\.0\.0\.1:\d+\/metrics\/resource\\": getting credentials: exec plugin failed" node="tok"\n$/,
    );
  });

  it("returns at the tick deadline with the nodes that answered", async (t) => {
    const lines = captureLogs(t);
    kubelets[0].behaviour = { kind: "ok", pods: [] };
    kubelets[1].behaviour = { kind: "hang" };
    const s = workerScraper(t, { requestTimeoutMs: 600_000 });
    // A first tick starts the thread and warms its code, so the deadline below is spent only on the
    // two requests (on a loaded machine a starting thread alone can take longer than the deadline).
    assert.deepEqual(
      (await s.scrape([nodeFor("fast", kubelets[0].k.port)], tick())).map((b) => b.node),
      ["fast"],
    );
    const batch = await s.scrape(
      [nodeFor("fast", kubelets[0].k.port), nodeFor("stuck", kubelets[1].k.port)],
      AbortSignal.timeout(1500),
    );
    assert.deepEqual(
      batch.map((b) => b.node),
      ["fast"],
    );
    assert.equal(lines.length, 1, lines.join(""));
    assert.match(
      lines[0],
      /"Failed to scrape node, timeout to access kubelet" node="stuck" timeout="10m0s"\n$/,
    );
  });

  it("hands each node's result over while the tick runs, before a hanging node's end", async (t) => {
    captureLogs(t);
    kubelets[0].behaviour = { kind: "ok", pods: [] };
    kubelets[1].behaviour = { kind: "hang" };
    kubelets[2].behaviour = { kind: "500" };
    const s = workerScraper(t, { requestTimeoutMs: 600_000 });
    const deadline = new AbortController();
    const heard: [string, string | undefined][] = [];
    const done = s.scrape(
      [
        nodeFor("fast", kubelets[0].k.port),
        nodeFor("stuck", kubelets[1].k.port),
        nodeFor("broken", kubelets[2].k.port),
      ],
      deadline.signal,
      (node, scrape) => heard.push([node, scrape?.node]),
    );
    for (let i = 0; i < 6000 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual([...heard].sort(), [
      ["broken", undefined],
      ["fast", "fast"],
    ]);
    deadline.abort();
    assert.deepEqual(
      (await done).map((b) => b.node),
      ["fast"],
    );
    assert.deepEqual(heard[2], ["stuck", undefined]);
  });

  it("survives a crash of the worker: the tick returns, failed nodes are logged once, the next tick works", async (t) => {
    const lines = captureLogs(t);
    kubelets[0].behaviour = { kind: "ok", pods: [] };
    kubelets[1].behaviour = { kind: "hang" };
    const stuck = kubelets[1].k;
    const before = stuck.requests.length;
    const s = workerScraper(t);
    const nodes = [nodeFor("c-ok", kubelets[0].k.port), nodeFor("c-stuck", stuck.port)];
    const pending = s.scrape(nodes, tick());
    await waitFor(() => stuck.requests.length > before);
    s.crashWorkerForTesting();
    assert.deepEqual(await pending, []);
    const crash = lines.filter((l) => l.includes('"Scraper worker stopped, restarting it"'));
    assert.equal(crash.length, 1);
    assert.match(crash[0], /err="crash requested by a test"/);
    for (const node of ["c-ok", "c-stuck"]) {
      const failures = lines.filter((l) => l.includes(`node="${node}"`));
      assert.equal(failures.length, 1, lines.join(""));
      assert.match(
        failures[0],
        /"Failed to scrape node" err="scraper worker stopped: crash requested by a test"/,
      );
    }
    kubelets[1].behaviour = { kind: "500" };
    const next = await s.scrape(nodes, tick());
    assert.deepEqual(
      next.map((b) => b.node),
      ["c-ok"],
    );
  });

  it("close() ends the worker and its connections; a tick in progress returns, later ones are refused", async (t) => {
    captureLogs(t);
    kubelets[1].behaviour = { kind: "hang" };
    const stuck = kubelets[1].k;
    const closed: Promise<void>[] = [];
    const track = (socket: Socket): void => {
      closed.push(new Promise((resolve) => socket.once("close", () => resolve())));
    };
    stuck.server.on("secureConnection", track);
    t.after(() => {
      stuck.server.off("secureConnection", track);
    });
    const before = stuck.requests.length;
    const s = new WorkerScraper({ ...base(), ca: Buffer.from(cert.certPem) });
    const pending = s.scrape([nodeFor("cl", stuck.port)], tick());
    await waitFor(() => stuck.requests.length > before);
    await s.close();
    assert.deepEqual(await pending, []);
    // The worker's socket to the kubelet goes away with the thread.
    await Promise.all(closed);
    await assert.rejects(s.scrape([nodeFor("cl", stuck.port)], tick()), /WorkerScraper is closed/);
  });

  it("reports the worker's V8 heap while it runs, and nothing once closed", async (t) => {
    const s = new WorkerScraper({ ...base(), ca: Buffer.from(cert.certPem) });
    t.after(() => s.close());
    const h = await s.heapStatistics();
    assert.ok(h, "a running worker has heap statistics");
    assert.ok(h.usedBytes > 0 && h.usedBytes <= h.totalBytes, `used ${h.usedBytes} of ${h.totalBytes}`);
    assert.ok(h.externalBytes >= 0, `external ${h.externalBytes}`);
    await s.close();
    assert.equal(await s.heapStatistics(), undefined);
  });

  it("refuses bad options in the constructor", () => {
    assert.throws(
      () => new WorkerScraper({ ...base(), requestTimeoutMs: 0 }),
      /requestTimeoutMs must be > 0/,
    );
    assert.throws(
      () => new WorkerScraper({ ...base(), cert: Buffer.from("x") }),
      /certificate and key must be given together/,
    );
    assert.throws(
      () => new WorkerScraper({ ...base(), containersPerMessage: 0 }),
      /containersPerMessage must be a positive integer/,
    );
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met within 30s");
    await new Promise((r) => setTimeout(r, 10));
  }
}
