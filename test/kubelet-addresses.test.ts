// Reaching kubelets that are not the plain default (sim/scenarios/kubelet-knobs.yaml, one node per
// knob): address-type order, the resource-metrics-path annotation, an IPv6 kubelet on the port its
// Node publishes, a summary-only kubelet, a NotReady node skipped quietly, and --node-selector.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { apiRequest, readAdminCredentials } from "../scripts/cluster.ts";
import { logLines, metricsItems, startCluster, waitForNodes } from "./support/cluster.ts";
import { root } from "./support/paths.ts";
import { poll } from "./support/poll.ts";

const SCENARIO = join(root, "sim/scenarios/kubelet-knobs.yaml");
const READY_NODES = [
  "knobs-summary-only",
  "knobs-custom-path",
  "knobs-external-first",
  "knobs-ipv6",
  "knobs-plain-1",
  "knobs-plain-2",
];

test("every kubelet knob is served with the manifests' flags; a NotReady node is skipped quietly", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--scenario", SCENARIO],
    resolution: "4s",
    serverArgs: ["--v=2"],
  });
  await waitForNodes(c, READY_NODES);

  // Pods of the IPv6, custom-path and summary-only nodes are all served.
  await poll("pods on every Ready node", async () => {
    const pods = await metricsItems(c.kubeconfig, "namespaces/default/pods");
    if (!pods) return undefined;
    const names = new Set(pods.map((p) => p.metadata.name));
    const want = ["summary-web", "path-web", "external-web", "ipv6-web", "plain-web-1", "plain-web-2"];
    return want.every((n) => names.has(n)) ? true : undefined;
  });

  // The annotated path is scraped as resource metrics (no fallback to the Summary API), and only the
  // summary-only kubelet falls back.
  assert.ok(logLines(c, "Scraping node", { node: "knobs-custom-path", endpoint: "resource" }).length > 0);
  const switched = c.server
    .lines()
    .filter((l) => l.includes('"Kubelet does not serve resource metrics; using the Summary API"'));
  assert.equal(switched.length, 1, switched.join("\n"));
  assert.match(switched[0]!, /node="knobs-summary-only"/);

  // The NotReady node: never requested, no metrics, and no error line.
  assert.equal(logLines(c, "Scraping node", { node: "knobs-not-ready" }).length, 0);
  const creds = readAdminCredentials(c.kubeconfig);
  const r = await apiRequest(creds, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/knobs-not-ready");
  assert.equal(r.status, 404, r.body);
  assert.deepEqual(
    c.server.lines().filter((l) => l.startsWith("E")),
    [],
    "no error lines",
  );
});

test("address-type order: ExternalIP first dials the node's ExternalIP, and only that node fails", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--scenario", SCENARIO],
    resolution: "4s",
    addressTypes: "ExternalIP,InternalIP",
  });
  await waitForNodes(
    c,
    READY_NODES.filter((n) => n !== "knobs-external-first"),
  );
  const lines = await poll("an error line for the node whose ExternalIP has no kubelet", async () => {
    const l = logLines(c, "Failed to scrape node", { node: "knobs-external-first" });
    return l.length > 0 ? l : undefined;
  });
  assert.ok(lines[0]!.includes(`${c.ipBase}.250.250`), `the error names the dialled address: ${lines[0]}`);
  const others = c.server
    .lines()
    .filter((l) => l.startsWith("E") && !l.includes('node="knobs-external-first"'));
  assert.deepEqual(others, [], "every other node is served");
});

test("--node-selector excludes nodes from scraping and from lists, with the full selector grammar", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--scenario", SCENARIO],
    resolution: "4s",
    serverArgs: [
      "--v=2",
      "-l",
      "kubernetes.io/hostname notin (knobs-plain-2,knobs-summary-only),kubernetes.io/os",
    ],
  });
  const selected = READY_NODES.filter((n) => n !== "knobs-plain-2" && n !== "knobs-summary-only");
  await waitForNodes(c, selected);
  // Wait for two more ticks so a scrape of an excluded node would have shown up.
  const ticks = logLines(c, "Scraping node", { node: "knobs-plain-1" }).length;
  await poll("two more ticks", async () =>
    logLines(c, "Scraping node", { node: "knobs-plain-1" }).length >= ticks + 2 ? true : undefined,
  );
  for (const node of ["knobs-plain-2", "knobs-summary-only"]) {
    assert.equal(logLines(c, "Scraping node", { node }).length, 0, `${node} is never scraped`);
  }
  // Excluded nodes have no metrics: a get is the "no metrics" NotFound, not a server error.
  const creds = readAdminCredentials(c.kubeconfig);
  const r = await apiRequest(creds, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/knobs-plain-2");
  assert.equal(r.status, 404, r.body);
  assert.equal(JSON.parse(r.body).details.kind, "nodemetrics");
  // Their pods are not served either (they were never scraped).
  const pods = await metricsItems(c.kubeconfig, "namespaces/default/pods");
  assert.ok(pods);
  const names = pods.map((p) => p.metadata.name);
  assert.ok(!names.includes("plain-web-2") && !names.includes("summary-web"), names.join(","));
});
