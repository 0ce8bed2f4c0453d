// A slow or dead kubelet delays nobody else: while node-0's kubelet hangs for the whole tick, every
// other node's new point is served before the tick's deadline, as soon as those kubelets have answered.
// Upstream stores a tick only at its end, so there a point sampled in a tick is served only once the
// hanging request has timed out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { apiRequest, readAdminCredentials } from "../scripts/cluster.ts";
import { startCluster } from "./support/cluster.ts";
import { poll } from "./support/poll.ts";

const RESOLUTION_MS = 5000;
/** node-0's request hangs this long each tick (the flag must stay below the resolution). */
const REQUEST_TIMEOUT_MS = 4000;

/** The wall-clock time (ms) of a klog line's header, e.g. "I1208 00:05:13.997932 ..." (local time). */
function lineTime(line: string): number {
  const m = /^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) /.exec(line);
  assert.ok(m, `not a klog line: ${line}`);
  const [month, day, h, min, s, us] = m.slice(1).map(Number);
  return new Date(new Date().getFullYear(), month - 1, day, h, min, s, us / 1000).getTime();
}

for (const mode of ["inline", "worker"] as const) {
  test(`a hanging kubelet delays no other node's points (scraping ${mode})`, async (t) => {
    // Above 100 nodes the scrape runs in the worker thread (adaptive-scraper.ts).
    const nodes = mode === "inline" ? 4 : 101;
    const c = await startCluster(t, {
      simArgs: ["--nodes", String(nodes), "--pods-per-node", "1", "--seed", "3", "--fault", "node-0=hang"],
      resolution: `${RESOLUTION_MS / 1000}s`,
      serverArgs: ["--v=1", `--kubelet-request-timeout=${REQUEST_TIMEOUT_MS / 1000}s`],
    });
    const creds = readAdminCredentials(c.kubeconfig);
    const healthy = c.truth.nodes.map((n) => n.name).filter((n) => n !== "node-0");
    const served = async (): Promise<Map<string, number>> => {
      const r = await apiRequest(creds, "GET", "/apis/metrics.k8s.io/v1beta1/nodes");
      if (r.status !== 200) return new Map();
      const items = (JSON.parse(r.body) as { items: { metadata: { name: string }; timestamp: string }[] })
        .items;
      return new Map(items.map((i) => [i.metadata.name, Date.parse(i.timestamp)]));
    };
    await poll("metrics for every healthy node", async () => {
      const points = await served();
      return healthy.every((n) => points.has(n)) ? true : undefined;
    });

    // A request answered before node-0's request of the current tick timed out that already shows a point sampled in that
    // tick. Timestamps are served to the second, so "sampled in the tick" is: not before the second
    // the tick began in (the previous tick's points are a whole resolution older).
    const seen = new Set<number>();
    await poll(
      "a healthy node's point of the current tick served before the tick's deadline",
      async () => {
        const starts = c.server.lines().filter((l) => l.includes('"Scraping metrics from nodes"'));
        const tickStart = lineTime(starts.at(-1) ?? "");
        const points = await served();
        const answeredAt = Date.now();
        assert.ok(!points.has("node-0"), "node-0 never answers: it has no metrics");
        const ts = points.get(healthy[0]);
        if (ts !== undefined) seen.add(ts);
        if (answeredAt >= tickStart + REQUEST_TIMEOUT_MS - 500) return undefined;
        return healthy.every((n) => (points.get(n) ?? 0) >= Math.floor(tickStart / 1000) * 1000)
          ? true
          : undefined;
      },
      120_000,
      200,
    );
    // And tick after tick: the healthy nodes' timestamps keep advancing while node-0 hangs.
    await poll("three successive points of a healthy node", async () => {
      const points = await served();
      assert.ok(!points.has("node-0"), "node-0 never answers: it has no metrics");
      const ts = points.get(healthy[0]);
      if (ts !== undefined) seen.add(ts);
      return seen.size >= 3 ? true : undefined;
    });
    // The ticks stored their answers in parts while node-0 was pending.
    assert.ok(c.server.lines().some((l) => l.includes('"Tick finished"') && / parts=[1-9]/.test(l)));
    assert.ok(
      c.server.lines().some((l) => l.includes("Failed to scrape node") && l.includes('node="node-0"')),
      "node-0's failure is logged",
    );
    assert.equal(c.server.child.exitCode, null, "the metrics-server keeps running");
  });
}
