// A broken kubelet affects only its node: one log line naming the node and the cause, every other
// node keeps its metrics, and the process keeps running. A bad flag exits 1 before anything listens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { apiRequest, readAdminCredentials } from "../scripts/cluster.ts";
import { startCluster } from "./support/cluster.ts";
import { root } from "./support/paths.ts";
import { poll } from "./support/poll.ts";
import { run } from "./support/processes.ts";

test("kubelets that hang, answer 500 or send garbage lose only their own node", async (t) => {
  const faults = { "node-0": "hang", "node-1": "http500", "node-2": "garbage" } as const;
  const c = await startCluster(t, {
    simArgs: [
      "--nodes",
      "5",
      "--pods-per-node",
      "3",
      "--seed",
      "5",
      ...Object.entries(faults).flatMap(([n, f]) => ["--fault", `${n}=${f}`]),
    ],
    resolution: "4s",
    serverArgs: ["--v=1"],
  });
  const creds = readAdminCredentials(c.kubeconfig);
  const healthy = c.truth.nodes.map((n) => n.name).filter((n) => !(n in faults));
  assert.ok(healthy.length >= 2, "the scenario keeps healthy nodes");

  // Every healthy node gets metrics; the faulty ones never do.
  const list = await poll("node metrics for every healthy node", async () => {
    const r = await apiRequest(creds, "GET", "/apis/metrics.k8s.io/v1beta1/nodes");
    if (r.status !== 200) return undefined;
    const names = (JSON.parse(r.body) as { items: { metadata: { name: string } }[] }).items.map(
      (i) => i.metadata.name,
    );
    return healthy.every((n) => names.includes(n)) ? names : undefined;
  });
  for (const n of Object.keys(faults)) assert.ok(!list.includes(n), `${n} must have no metrics`);

  // Each faulty node is reported with its cause, one line per failed scrape.
  const expectations: Record<string, RegExp> = {
    "node-0": /timeout/,
    "node-1": /500 Internal Server Error/,
    "node-2": /failed parsing metrics/,
  };
  await poll(
    "an error line for every faulty node",
    async () => {
      const lines = c.server.lines().filter((l) => l.startsWith("E") && l.includes("Failed to scrape node"));
      return Object.keys(faults).every((n) => lines.some((l) => l.includes(`node="${n}"`)))
        ? true
        : undefined;
    },
    60_000,
  );
  const errorLines = c.server.lines().filter((l) => l.startsWith("E"));
  for (const line of errorLines) {
    const node = /node="([^"]+)"/.exec(line)?.[1];
    assert.ok(node && node in faults, `only faulty nodes are logged as errors: ${line}`);
    assert.match(line, expectations[node]!, line);
  }
  // Scrapes of the faulty nodes repeat every tick, but one failure is one line.
  const perNodeTick = new Map<string, number>();
  for (const line of errorLines) {
    const node = /node="([^"]+)"/.exec(line)![1]!;
    perNodeTick.set(node, (perNodeTick.get(node) ?? 0) + 1);
  }
  // Ticks finished so far, plus the one that may be in progress.
  const ticks = c.server.lines().filter((l) => l.includes("Scrape finished")).length + 1;
  for (const [node, n] of perNodeTick) assert.ok(n <= ticks, `${node}: ${n} error lines in ${ticks} ticks`);

  assert.equal(c.server.child.exitCode, null, "the metrics-server keeps running");
});

test("a bad flag exits 1 with a clear message before anything listens", async () => {
  const r = await run(process.execPath, [
    `${root}/src/cmd/metrics-server/main.ts`,
    "--metric-resolution=abc",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid argument "abc" for "--metric-resolution" flag/);
  const u = await run(process.execPath, [`${root}/src/cmd/metrics-server/main.ts`, "--no-such-flag"]);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /unknown flag: --no-such-flag/);
  const combo = await run(process.execPath, [
    `${root}/src/cmd/metrics-server/main.ts`,
    "--kubelet-insecure-tls",
    "--kubelet-certificate-authority=/tmp/ca.crt",
  ]);
  assert.equal(combo.code, 1);
  assert.ok(combo.stderr.length > 0);
});
