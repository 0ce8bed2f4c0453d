// Which kubelet endpoint serves a node, end to end: kubelets that answer 404 on /metrics/resource
// (old kubelets, the read-only port) are served from the Summary API under --kubelet-endpoint=auto,
// and plain http on the read-only port works with --deprecated-kubelet-completely-insecure.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { parseQuantity } from "../src/go/index.ts";
import {
  type Cluster,
  logLines,
  type MetricsItem,
  metricsItems,
  startCluster,
  waitForNodes,
} from "./support/cluster.ts";
import { poll } from "./support/poll.ts";

/** Every node's served usage is within 5 % of what the simulator burns. */
function assertNodesMatchTruth(c: Cluster, items: MetricsItem[]): void {
  for (const n of c.truth.nodes) {
    const item = items.find((i) => i.metadata.name === n.name);
    assert.ok(item?.usage, `${n.name} has usage`);
    const cpu = parseQuantity(item.usage.cpu, -9);
    const mem = parseQuantity(item.usage.memory);
    assert.ok(
      Math.abs(cpu - n.cpuNanocores) <= n.cpuNanocores * 0.05,
      `${n.name} cpu ${cpu} vs ${n.cpuNanocores}`,
    );
    assert.ok(
      Math.abs(mem - n.memoryBytes) <= n.memoryBytes * 0.05,
      `${n.name} memory ${mem} vs ${n.memoryBytes}`,
    );
  }
}

test("auto: summary-only kubelets are served from the Summary API, the rest from /metrics/resource", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "4", "--pods-per-node", "3", "--seed", "21", "--summary-only-nodes", "2"],
    resolution: "4s",
    serverArgs: ["--v=2"],
  });
  const names = c.truth.nodes.map((n) => n.name);
  const summaryOnly = names.slice(0, 2);
  const resource = names.slice(2);

  const items = await waitForNodes(c, names);
  assertNodesMatchTruth(c, items);

  // Pods on summary-only nodes are served too.
  const podsOnSummaryNodes = c.truth.pods.filter(
    (p) => p.phase === "Running" && summaryOnly.includes(p.node),
  );
  assert.ok(podsOnSummaryNodes.length > 0, "the scenario has running pods on summary-only nodes");
  await poll("pod metrics for pods on summary-only nodes", async () => {
    const pods = await metricsItems(c.kubeconfig, "pods");
    if (!pods) return undefined;
    const have = new Set(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
    return podsOnSummaryNodes.every((p) => have.has(`${p.namespace}/${p.name}`)) ? true : undefined;
  });

  // The log says which endpoint each node uses: one switch line per summary-only node, and at -v=2
  // every scrape names its endpoint.
  for (const node of summaryOnly) {
    assert.equal(
      logLines(c, "Kubelet does not serve resource metrics; using the Summary API", { node }).length,
      1,
      `one switch line for ${node}`,
    );
    assert.ok(logLines(c, "Scraping node", { node, endpoint: "summary" }).length > 0, `${node} via summary`);
  }
  for (const node of resource) {
    assert.ok(
      logLines(c, "Scraping node", { node, endpoint: "resource" }).length > 0,
      `${node} via resource`,
    );
    assert.equal(
      logLines(c, "Scraping node", { node, endpoint: "summary" }).length,
      0,
      `${node} never via summary`,
    );
  }
  const errors = c.server.lines().filter((l) => l.startsWith("E"));
  assert.deepEqual(errors, [], "no error lines");
});

test("--kubelet-endpoint=resource: a summary-only kubelet is that node's error, the others are served", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "2", "--seed", "22", "--summary-only-nodes", "1"],
    resolution: "4s",
    serverArgs: ["--kubelet-endpoint=resource"],
  });
  const [broken, ...healthy] = c.truth.nodes.map((n) => n.name);
  await waitForNodes(c, healthy);
  const lines = await poll("an error line for the summary-only node", async () => {
    const l = logLines(c, "Failed to scrape node", { node: broken! });
    return l.length > 0 ? l : undefined;
  });
  assert.match(lines[0]!, /404 Not Found/);
  const others = c.server.lines().filter((l) => l.startsWith("E") && !l.includes(`node="${broken}"`));
  assert.deepEqual(others, [], "only the summary-only node is logged as failing");
});

test("--kubelet-endpoint=summary serves every node from the Summary API", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "2", "--seed", "23"],
    resolution: "4s",
    serverArgs: ["--kubelet-endpoint=summary", "--v=2"],
  });
  const names = c.truth.nodes.map((n) => n.name);
  const items = await waitForNodes(c, names);
  assertNodesMatchTruth(c, items);
  assert.equal(c.server.lines().filter((l) => l.includes('endpoint="resource"')).length, 0);
});

test("read-only port: plain http on 10255 with --deprecated-kubelet-completely-insecure", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "2", "--seed", "24", "--read-only-port", "10255"],
    resolution: "4s",
    useNodeStatusPort: false,
    serverArgs: ["--kubelet-port=10255", "--deprecated-kubelet-completely-insecure"],
  });
  const names = c.truth.nodes.map((n) => n.name);
  const items = await waitForNodes(c, names);
  assertNodesMatchTruth(c, items);
  assert.deepEqual(
    c.server.lines().filter((l) => l.startsWith("E")),
    [],
    "no error lines",
  );
});

test("kubelet TLS: the cluster CA verifies, a wrong CA fails every node with its cause, insecure mode warns", async (t) => {
  const simArgs = ["--nodes", "2", "--pods-per-node", "1", "--seed", "25"];
  await t.test("--kubelet-certificate-authority with the cluster CA", async (t) => {
    const c = await startCluster(t, {
      simArgs,
      resolution: "4s",
      serverArgs: (dir) => [`--kubelet-certificate-authority=${join(dir, "pki", "ca.crt")}`],
    });
    await waitForNodes(
      c,
      c.truth.nodes.map((n) => n.name),
    );
  });
  await t.test("a CA that did not sign the kubelets' certificates", async (t) => {
    const c = await startCluster(t, {
      simArgs,
      resolution: "4s",
      serverArgs: (dir) => [`--kubelet-certificate-authority=${join(dir, "pki", "front-proxy-ca.crt")}`],
    });
    for (const n of c.truth.nodes) {
      const lines = await poll(`an error line for ${n.name}`, async () => {
        const l = logLines(c, "Failed to scrape node", { node: n.name });
        return l.length > 0 ? l : undefined;
      });
      assert.match(lines[0]!, /certificate/, lines[0]);
    }
    assert.deepEqual(await metricsItems(c.kubeconfig, "nodes"), []);
  });
  await t.test("--kubelet-insecure-tls", async (t) => {
    const c = await startCluster(t, { simArgs, resolution: "4s", serverArgs: ["--kubelet-insecure-tls"] });
    await waitForNodes(
      c,
      c.truth.nodes.map((n) => n.name),
    );
    assert.ok(c.server.lines().some((l) => l.startsWith("W") && l.includes("--kubelet-insecure-tls")));
  });
});
