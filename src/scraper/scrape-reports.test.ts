// Each node's NodeScrapeReport, from the inline Scraper and through the worker thread alike.
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { type FakeKubelet, selfSignedCert, startFakeKubelet } from "../../test/support/fake-kubelet.ts";
import { captureLogs } from "../../test/support/logs.ts";
import type { Node } from "../kube/index.ts";
import type { LeftOutPod, NodeScrapeReport } from "../storage/index.ts";
import { KubeletClient } from "./kubelet/index.ts";
import { Scraper } from "./scraper.ts";
import { WorkerScraper } from "./worker/index.ts";

const TS = 1732741798478;

/** Two complete pods, one with a container whose cpu is 0 and one whose memory series is missing. */
const BODY =
  "node_cpu_usage_seconds_total 1457.39 1732741801205\n" +
  "node_memory_working_set_bytes 1.1e+09 1732741801205\n" +
  `container_cpu_usage_seconds_total{container="a",namespace="ns",pod="ok-1"} 1.5 ${TS}\n` +
  `container_memory_working_set_bytes{container="a",namespace="ns",pod="ok-1"} 1000 ${TS}\n` +
  `container_cpu_usage_seconds_total{container="a",namespace="ns",pod="ok-2"} 2.5 ${TS}\n` +
  `container_memory_working_set_bytes{container="a",namespace="ns",pod="ok-2"} 2000 ${TS}\n` +
  `container_cpu_usage_seconds_total{container="b",namespace="ns",pod="zero"} 0 ${TS}\n` +
  `container_memory_working_set_bytes{container="b",namespace="ns",pod="zero"} 2000 ${TS}\n` +
  `container_cpu_usage_seconds_total{container="c",namespace="ns",pod="nomem"} 3 ${TS}\n`;

type Behaviour = "ok" | "hang" | "403";

function respond(b: Behaviour, res: ServerResponse): void {
  if (b === "hang") return;
  if (b === "403") {
    res.writeHead(403);
    res.end("Forbidden");
    return;
  }
  res.end(BODY);
}

function nodeFor(name: string, port: number, ready = true, address = true): Node {
  return {
    metadata: { name },
    status: {
      addresses: address ? [{ type: "InternalIP", address: "127.0.0.1" }] : [],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

/** The parts of a report that do not depend on timing. */
function stable(r: NodeScrapeReport): object {
  const { startMs, durationMs, ...rest } = r;
  assert.ok(Number.isFinite(startMs) && startMs > 1.7e12, `startMs ${startMs}`);
  assert.ok(durationMs >= 0, `durationMs ${durationMs}`);
  if (rest.url !== undefined) rest.url = rest.url.replace(/:\d+\//, ":PORT/");
  if (rest.error !== undefined)
    rest.error = { ...rest.error, message: rest.error.message.replace(/:\d+\//, ":PORT/") };
  return rest;
}

const LEFT_OUT: LeftOutPod[] = [
  { namespace: "ns", pod: "zero", container: "b", cause: "cpu is 0" },
  { namespace: "ns", pod: "nomem", container: "c", cause: "memory is missing" },
];

describe("scrape reports", () => {
  const kubelets = new Map<Behaviour, FakeKubelet>();
  let ca: Buffer;
  before(async () => {
    const cert = await selfSignedCert(["127.0.0.1"]);
    ca = Buffer.from(cert.certPem);
    for (const b of ["ok", "hang", "403"] as const) {
      kubelets.set(b, await startFakeKubelet(cert, (_req, res) => respond(b, res)));
    }
  });
  after(async () => {
    await Promise.all([...kubelets.values()].map((k) => k.close()));
  });

  const port = (b: Behaviour): number => (kubelets.get(b) as FakeKubelet).port;
  const nodes = (): Node[] => [
    nodeFor("healthy", port("ok")),
    nodeFor("twin", port("ok")), // the same kubelet: its pods were reported by "healthy" first
    nodeFor("hanging", port("hang")),
    nodeFor("forbidden", port("403")),
    nodeFor("not-ready", port("ok"), false),
    nodeFor("no-address", port("ok"), true, false),
  ];
  const options = {
    addressTypes: ["InternalIP"],
    port: 1,
    useNodeStatusPort: true,
    scheme: "https" as const,
    requestTimeoutMs: 500,
    endpoint: "resource" as const,
  };

  function expected(): Map<string, object> {
    const ok = {
      outcome: "Succeeded",
      endpoint: "resource",
      url: "https://127.0.0.1:PORT/metrics/resource",
      bytes: Buffer.byteLength(BODY),
      nodePoint: true,
      pods: 2,
      containers: 2,
      leftOut: LEFT_OUT,
      leftOutCount: 2,
    };
    const nothing = { bytes: 0, nodePoint: false, pods: 0, containers: 0 };
    return new Map<string, object>([
      ["healthy", { node: "healthy", ...ok }],
      ["twin", { node: "twin", ...ok }],
      [
        "hanging",
        {
          node: "hanging",
          outcome: "Failed",
          endpoint: "resource",
          url: "https://127.0.0.1:PORT/metrics/resource",
          ...nothing,
          error: {
            kind: "Timeout",
            message: 'Get "https://127.0.0.1:PORT/metrics/resource": context deadline exceeded',
          },
        },
      ],
      ["not-ready", { node: "not-ready", outcome: "NotReady", ...nothing }],
      [
        "no-address",
        {
          node: "no-address",
          outcome: "Failed",
          ...nothing,
          error: { kind: "NoAddress", message: "no address matched types [InternalIP]" },
        },
      ],
    ]);
  }

  function check(reports: NodeScrapeReport[], duplicates: [string, LeftOutPod[]][]): void {
    const byNode = new Map(reports.map((r) => [r.node, r]));
    assert.equal(reports.length, 6, "one report per node");
    for (const [node, want] of expected())
      assert.deepEqual(stable(byNode.get(node) as NodeScrapeReport), want, node);
    const forbidden = byNode.get("forbidden");
    assert.equal(forbidden?.outcome, "Failed");
    assert.equal(forbidden?.error?.kind, "Forbidden");
    assert.equal(forbidden?.error?.httpStatus, 403);
    assert.match(forbidden?.error?.message ?? "", /403 Forbidden.*nodes\/metrics/);
    assert.deepEqual(duplicates, [
      [
        "twin",
        [
          { namespace: "ns", pod: "ok-1", cause: "reported by two nodes" },
          { namespace: "ns", pod: "ok-2", cause: "reported by two nodes" },
        ],
      ],
    ]);
  }

  it("the inline Scraper reports every node: answered, failed, not Ready", async (t) => {
    captureLogs(t);
    const client = new KubeletClient({ ca });
    t.after(() => client.close());
    const reports: NodeScrapeReport[] = [];
    const duplicates: [string, LeftOutPod[]][] = [];
    const scraper = new Scraper({
      ...options,
      client,
      random: () => 0,
      onReport: (r) => reports.push(r),
      onDuplicatePods: (node, pods) => duplicates.push([node, pods]),
    });
    const batch = await scraper.scrape(nodes(), AbortSignal.timeout(30_000));
    check(reports, duplicates);
    // What a report carries never travels with the scrape to the store.
    for (const s of batch) assert.ok(!("leftOut" in s) && !("leftOutCount" in s) && !("problems" in s));
  });

  it("the worker thread gives the same reports", async (t) => {
    captureLogs(t);
    const reports: NodeScrapeReport[] = [];
    const duplicates: [string, LeftOutPod[]][] = [];
    const worker = new WorkerScraper({
      ...options,
      ca,
      onReport: (r) => reports.push(r),
      onDuplicatePods: (node, pods) => duplicates.push([node, pods]),
    });
    t.after(() => worker.close());
    await worker.scrape(nodes(), AbortSignal.timeout(30_000));
    check(reports, duplicates);
  });

  it("the tick's deadline before a node's turn: a Timeout report", async (t) => {
    captureLogs(t);
    const client = new KubeletClient({ ca });
    t.after(() => client.close());
    const reports: NodeScrapeReport[] = [];
    const scraper = new Scraper({ ...options, client, onReport: (r) => reports.push(r) });
    await scraper.scrape(
      [nodeFor("late", port("ok"))],
      AbortSignal.abort(new Error("context deadline exceeded")),
    );
    assert.equal(reports.length, 1);
    assert.equal(reports[0].outcome, "Failed");
    assert.equal(reports[0].error?.kind, "Timeout");
  });
});
