// The Scraper's endpoint selection (--kubelet-endpoint): resource, summary, and auto with its per-node
// fallback to the Summary API on a 404 and the periodic retry of the resource endpoint.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { before, describe, it } from "node:test";
import { selfSignedCert, startFakeKubelet, type TestCert } from "../../test/support/fake-kubelet.ts";
import { captureLogs } from "../../test/support/logs.ts";
import type { Node } from "../kube/index.ts";
import { KubeletClient } from "./kubelet/index.ts";
import { Scraper, type ScraperOptions } from "./scraper.ts";

const resourceBody = readFileSync(new URL("./testdata/resource-1.33.txt", import.meta.url));
const summaryBody = readFileSync(new URL("./testdata/summary-cpu-memory.json", import.meta.url));
const RESOURCE = "/metrics/resource";
const SUMMARY = "/stats/summary?only_cpu_and_memory=true";

/** What the fake kubelet answers on each endpoint; tests change it between ticks. */
interface Serves {
  resource: number;
  summary: number;
}

function nodeFor(name: string, port: number, annotations?: Record<string, string>): Node {
  return {
    metadata: { name, annotations },
    status: {
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

describe("Scraper endpoint selection", () => {
  let cert: TestCert;
  before(async () => {
    cert = await selfSignedCert(["127.0.0.1"]);
  });

  async function setup(
    t: { after(fn: () => Promise<void>): void },
    opts: Partial<ScraperOptions>,
    serves: Serves,
  ) {
    const kubelet = await startFakeKubelet(cert, (req: IncomingMessage, res: ServerResponse) => {
      const isSummary = req.url?.startsWith("/stats/summary");
      const status = isSummary ? serves.summary : serves.resource;
      res.writeHead(status, { "content-type": isSummary ? "application/json" : "text/plain" });
      res.end(status !== 200 ? "not here" : isSummary ? summaryBody : resourceBody);
    });
    t.after(() => kubelet.close());
    const client = new KubeletClient({ ca: Buffer.from(cert.certPem) });
    t.after(() => client.close());
    const clock = { ms: 0 };
    const scraper = new Scraper({
      client,
      addressTypes: ["InternalIP"],
      port: 1,
      useNodeStatusPort: true,
      scheme: "https",
      requestTimeoutMs: 10_000,
      random: () => 0,
      now: () => clock.ms,
      ...opts,
    });
    const paths = (): string[] => kubelet.requests.splice(0).map((r) => r.path);
    return { kubelet, scraper, clock, paths };
  }

  const tick = (): AbortSignal => AbortSignal.timeout(30_000);

  it("auto: a 404 on resource switches the node to the Summary API in the same tick, then retries", async (t) => {
    const lines = captureLogs(t, 2);
    const serves = { resource: 404, summary: 200 };
    const { kubelet, scraper, clock, paths } = await setup(t, { resourceRetryMs: 600_000 }, serves);
    const node = nodeFor("n1", kubelet.port);
    assert.equal(scraper.endpointOf("n1"), undefined);

    // Tick 1: resource 404, summary at once: the point is not lost.
    let [batch] = await scraper.scrape([node], tick());
    assert.equal(batch?.node, "n1");
    assert.equal(batch.nodeCpuNs, 1457392812000, "decoded from the Summary API");
    assert.equal(batch.nodeStartTimeMs, Date.parse("2025-05-20T09:12:30Z"));
    assert.deepEqual(paths(), [RESOURCE, SUMMARY]);
    assert.equal(scraper.endpointOf("n1"), "summary");
    const switched = lines.filter((l) => l.includes("Kubelet does not serve resource metrics"));
    assert.equal(switched.length, 1);
    assert.match(
      switched[0],
      /^I.*"Kubelet does not serve resource metrics; using the Summary API" node="n1" path="\/metrics\/resource"\n$/,
    );
    assert.ok(lines.some((l) => l.endsWith('"Scraping node" node="n1" endpoint="resource"\n')));
    assert.ok(lines.some((l) => l.endsWith('"Scraping node" node="n1" endpoint="summary"\n')));
    assert.ok(!lines.some((l) => l.startsWith("E")), lines.join(""));

    // Tick 2, before the retry period: straight to the summary.
    clock.ms = 599_999;
    [batch] = await scraper.scrape([node], tick());
    assert.equal(batch?.node, "n1");
    assert.deepEqual(paths(), [SUMMARY]);

    // Retry period over, resource still missing: both requests, no new switch line, still a point.
    clock.ms = 600_000;
    [batch] = await scraper.scrape([node], tick());
    assert.equal(batch?.node, "n1");
    assert.deepEqual(paths(), [RESOURCE, SUMMARY]);
    assert.equal(lines.filter((l) => l.includes("Kubelet does not serve resource metrics")).length, 1);
    // The failed retry restarted the period.
    clock.ms = 1_199_999;
    await scraper.scrape([node], tick());
    assert.deepEqual(paths(), [SUMMARY]);

    // The kubelet serves resource metrics again: the next retry goes back, and stays there.
    serves.resource = 200;
    clock.ms = 1_200_000;
    [batch] = await scraper.scrape([node], tick());
    assert.equal(batch?.nodeStartTimeMs, 0, "decoded from /metrics/resource");
    assert.deepEqual(paths(), [RESOURCE]);
    assert.equal(scraper.endpointOf("n1"), "resource");
    const back = lines.filter((l) => l.includes("Kubelet serves resource metrics again"));
    assert.equal(back.length, 1);
    assert.match(back[0], /^I.*"Kubelet serves resource metrics again" node="n1"\n$/);
    await scraper.scrape([node], tick());
    assert.deepEqual(paths(), [RESOURCE]);
    assert.ok(!lines.some((l) => l.startsWith("E")), lines.join(""));
  });

  it("auto: a 404 on both endpoints is the node's one error line", async (t) => {
    const lines = captureLogs(t);
    const { kubelet, scraper, paths } = await setup(t, {}, { resource: 404, summary: 404 });
    const batch = await scraper.scrape([nodeFor("n1", kubelet.port)], tick());
    assert.deepEqual(batch, []);
    assert.deepEqual(paths(), [RESOURCE, SUMMARY]);
    const errors = lines.filter((l) => l.startsWith("E"));
    assert.equal(errors.length, 1, lines.join(""));
    assert.match(
      errors[0],
      /"Failed to scrape node" err="request failed, status: \\"404 Not Found\\"" node="n1"\n$/,
    );
  });

  it("auto: other failures on resource do not switch a node", async (t) => {
    const lines = captureLogs(t);
    const { kubelet, scraper, paths } = await setup(t, {}, { resource: 500, summary: 200 });
    assert.deepEqual(await scraper.scrape([nodeFor("n1", kubelet.port)], tick()), []);
    assert.deepEqual(paths(), [RESOURCE]);
    assert.equal(scraper.endpointOf("n1"), "resource");
    assert.equal(lines.filter((l) => l.includes('"Failed to scrape node"')).length, 1);
  });

  it("auto: a failed retry of a node on the Summary API still gets its point from the summary", async (t) => {
    const lines = captureLogs(t);
    const serves = { resource: 404, summary: 200 };
    const { kubelet, scraper, clock, paths } = await setup(t, { resourceRetryMs: 1000 }, serves);
    const node = nodeFor("n1", kubelet.port);
    await scraper.scrape([node], tick());
    paths();
    serves.resource = 503;
    clock.ms = 1000;
    const [batch] = await scraper.scrape([node], tick());
    assert.equal(batch?.node, "n1");
    assert.deepEqual(paths(), [RESOURCE, SUMMARY]);
    assert.equal(scraper.endpointOf("n1"), "summary");
    assert.ok(!lines.some((l) => l.startsWith("E")), lines.join(""));
  });

  it("resource: a 404 is an error and the summary is never asked", async (t) => {
    const lines = captureLogs(t);
    const { kubelet, scraper, paths } = await setup(
      t,
      { endpoint: "resource" },
      { resource: 404, summary: 200 },
    );
    assert.deepEqual(await scraper.scrape([nodeFor("n1", kubelet.port)], tick()), []);
    assert.deepEqual(paths(), [RESOURCE]);
    assert.equal(scraper.endpointOf("n1"), "resource");
    assert.equal(lines.filter((l) => l.includes("404 Not Found")).length, 1);
  });

  it("summary: only the Summary API, whatever the resource-metrics-path annotation says", async (t) => {
    const lines = captureLogs(t, 2);
    const { kubelet, scraper, paths } = await setup(
      t,
      { endpoint: "summary" },
      { resource: 200, summary: 200 },
    );
    const node = nodeFor("n1", kubelet.port, { "metrics.k8s.io/resource-metrics-path": "/custom" });
    const [batch] = await scraper.scrape([node], tick());
    assert.equal(batch?.containerCount, 3);
    assert.deepEqual(paths(), [SUMMARY]);
    assert.equal(scraper.endpointOf("n1"), "summary");
    assert.ok(lines.some((l) => l.endsWith('"Scraping node" node="n1" endpoint="summary"\n')));
  });

  it("forgets the endpoint of a node that is gone", async (t) => {
    captureLogs(t);
    const { kubelet, scraper } = await setup(t, {}, { resource: 404, summary: 200 });
    await scraper.scrape([nodeFor("n1", kubelet.port)], tick());
    assert.equal(scraper.endpointOf("n1"), "summary");
    await scraper.scrape([], tick());
    assert.equal(scraper.endpointOf("n1"), undefined);
  });

  it("rejects an unknown endpoint mode and a bad retry period", () => {
    const client = new KubeletClient();
    const base = {
      client,
      addressTypes: ["InternalIP"],
      port: 1,
      useNodeStatusPort: false,
      scheme: "https" as const,
      requestTimeoutMs: 1000,
    };
    assert.throws(
      () => new Scraper({ ...base, endpoint: "stats" as "auto" }),
      /kubelet endpoint must be one of auto, resource, summary, got stats/,
    );
    assert.throws(
      () => new Scraper({ ...base, resourceRetryMs: -1 }),
      /resourceRetryMs must be a non-negative/,
    );
    void client.close();
  });
});
