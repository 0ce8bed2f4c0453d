import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type FakeKubelet,
  selfSignedCert,
  startFakeKubelet,
  type TestCert,
} from "../../test/support/fake-kubelet.ts";
import { captureLogs } from "../../test/support/logs.ts";
import type { Node } from "../kube/index.ts";
import { AdaptiveScraper, type AdaptiveScraperOptions } from "./adaptive-scraper.ts";

const BODY =
  "node_cpu_usage_seconds_total 1457.392812 1732741801205\n" +
  "node_memory_working_set_bytes 1.113243648e+09 1732741801205\n" +
  'container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"} 12.5 1732741798478\n' +
  'container_memory_working_set_bytes{container="c",namespace="default",pod="p"} 1024 1732741798478\n';

function nodeFor(name: string, port: number): Node {
  return {
    metadata: { name },
    status: {
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

describe("AdaptiveScraper", () => {
  let cert: TestCert;
  let kubelet: FakeKubelet;
  before(async () => {
    cert = await selfSignedCert(["127.0.0.1"]);
    kubelet = await startFakeKubelet(cert, (_req, res) => res.end(BODY));
  });
  after(() => kubelet.close());

  function scraper(t: { after(fn: () => Promise<void>): void }, opts: Partial<AdaptiveScraperOptions>) {
    const s = new AdaptiveScraper({
      addressTypes: ["InternalIP"],
      port: 1,
      useNodeStatusPort: true,
      scheme: "https",
      requestTimeoutMs: 10_000,
      ca: Buffer.from(cert.certPem),
      ...opts,
    });
    t.after(() => s.close());
    return s;
  }
  const nodes = (n: number): Node[] =>
    Array.from({ length: n }, (_, i) => nodeFor(`node-${i}`, kubelet.port));
  const tick = (): AbortSignal => AbortSignal.timeout(30_000);

  it("scrapes inline up to the threshold, then in the worker for good, saying so once at -v=1", async (t) => {
    const lines = captureLogs(t, 1);
    const s = scraper(t, { inlineMaxNodes: 2 });
    assert.equal(s.mode, "inline");
    const small = await s.scrape(nodes(2), tick());
    // Every kubelet serves the same pod: the second node's copy is dropped as a duplicate.
    assert.deepEqual(
      small.map((b) => [b.node, b.containerCount]),
      [
        ["node-0", 1],
        ["node-1", 0],
      ],
    );
    assert.equal(s.mode, "inline");
    assert.equal(await s.heapStatistics(), undefined, "no worker heap while inline");
    assert.equal(s.endpointOf("node-0"), "resource");

    const big = await s.scrape(nodes(3), tick());
    assert.equal(s.mode, "worker");
    assert.equal(big.length, 3);
    // The same batch either way.
    assert.deepEqual(big.slice(0, 2), small);
    assert.ok((await s.heapStatistics())?.totalBytes);
    assert.equal(s.endpointOf("node-2"), "resource");

    // Shrinking does not switch back.
    assert.equal((await s.scrape(nodes(1), tick())).length, 1);
    assert.equal(s.mode, "worker");
    assert.equal(lines.filter((l) => l.includes("Scraping in a worker thread")).length, 1);
  });

  it("inlineMaxNodes 0 runs every tick in the worker", async (t) => {
    captureLogs(t);
    const s = scraper(t, { inlineMaxNodes: 0 });
    assert.equal(s.mode, "worker");
    assert.equal((await s.scrape(nodes(1), tick())).length, 1);
  });

  it("bad options fail the constructor; a closed scraper refuses ticks", async (t) => {
    assert.throws(() => scraper(t, { inlineMaxNodes: -1 }), /inlineMaxNodes/);
    assert.throws(() => scraper(t, { requestTimeoutMs: 0 }), /requestTimeoutMs/);
    const s = scraper(t, {});
    await s.close();
    await assert.rejects(s.scrape(nodes(1), tick()), /closed/);
  });
});
