// A second real client that only speaks JSON: Debian's python3-kubernetes (CustomObjectsApi, run by
// the system /usr/bin/python3, the interpreter the Debian package installs for) lists and gets node
// and pod metrics through the simulator's aggregator, with a label selector and single-object GETs;
// metrics_client.py prints what it got and this test compares it with the simulator's truth.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
  assertTimestampAndWindow,
  assertUsage,
  byNamespaceThenName,
  type ClientsCluster,
  compareStrings,
  podKey,
  startClientsCluster,
  truthNode,
  truthPod,
  waitFor,
} from "../support/clients.ts";
import { root } from "../support/paths.ts";
import { run } from "../support/processes.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(root, "test", "clients", "metrics_client.py");

interface Item {
  kind?: string;
  apiVersion?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  timestamp: string;
  window: string;
  usage?: { cpu: string; memory: string };
  containers?: { name: string; usage: { cpu: string; memory: string } }[];
}

interface List {
  kind: string;
  apiVersion: string;
  items: Item[];
}

interface ScriptOutput {
  nodes: List;
  node: Item;
  allPods: List;
  selectedPods: List;
  pod: Item;
  missingPod: { status: number; body?: { kind: string; reason: string; message: string } };
}

/** True when python3-kubernetes is importable; a skip (or, under CI, a failure) otherwise. */
async function havePythonKubernetes(t: TestContext): Promise<boolean> {
  const probe = existsSync(PYTHON)
    ? await run(PYTHON, ["-c", "import kubernetes"])
    : { code: 1, stdout: "", stderr: `${PYTHON} not found` };
  if (probe.code === 0) return true;
  const why = `${PYTHON} cannot import kubernetes (install the Debian package python3-kubernetes): ${probe.stderr.trim()}`;
  if (process.env.CI === "true") throw new Error(why);
  t.skip(why);
  return false;
}

function assertPodItem(c: ClientsCluster, item: Item): void {
  const ns = item.metadata.namespace ?? "";
  const truth = truthPod(c, ns, item.metadata.name);
  const what = podKey(truth);
  assertTimestampAndWindow(what, item);
  assert.deepEqual(
    (item.containers ?? []).map((x) => x.name).sort(compareStrings),
    truth.containers.map((x) => x.name).sort(compareStrings),
    `${what} containers`,
  );
  for (const x of truth.containers) {
    const served = item.containers?.find((y) => y.name === x.name);
    assertUsage(`${what}/${x.name}`, served?.usage, x.cpuNanocores, x.memoryBytes);
  }
}

test("python3-kubernetes CustomObjectsApi reads the metrics API", async (t) => {
  if (!(await havePythonKubernetes(t))) return;
  const c = await startClientsCluster(t);

  // The script fails (an ApiException for the named pod) until the first scrapes are stored, and
  // lists may be partial at first: poll until everything the cluster should serve is there.
  const out = await waitFor("every served node and pod through python3-kubernetes", async () => {
    const r = await run(PYTHON, [SCRIPT, c.kubeconfig, "charlie", "shop", "app=web", "api-1"], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    if (r.code !== 0) throw new Error(`metrics_client.py exited ${r.code}: ${r.stderr.slice(-2000)}`);
    const o = JSON.parse(r.stdout) as ScriptOutput;
    const nodes = new Set(o.nodes.items.map((i) => i.metadata.name));
    const pods = new Set(o.allPods.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`));
    return c.servedNodes.every((n) => nodes.has(n.name)) && c.servedPods.every((p) => pods.has(podKey(p)))
      ? o
      : undefined;
  });

  await t.test("list_cluster_custom_object nodes: every scrapeable node, by name, near the truth", () => {
    assert.equal(out.nodes.kind, "NodeMetricsList");
    assert.equal(out.nodes.apiVersion, "metrics.k8s.io/v1beta1");
    assert.deepEqual(
      out.nodes.items.map((i) => i.metadata.name),
      c.servedNodes.map((n) => n.name),
    );
    for (const item of out.nodes.items) {
      const n = truthNode(c, item.metadata.name);
      assertTimestampAndWindow(n.name, item);
      assertUsage(n.name, item.usage, n.cpuNanocores, n.memoryBytes);
    }
  });

  await t.test("get_cluster_custom_object one node", () => {
    assert.equal(out.node.kind, "NodeMetrics");
    assert.equal(out.node.metadata.name, "charlie");
    assert.equal(out.node.metadata.labels?.role, "db");
    const n = truthNode(c, "charlie");
    assertUsage("charlie", out.node.usage, n.cpuNanocores, n.memoryBytes);
  });

  await t.test("list_cluster_custom_object pods: exactly the running, scrapeable pods", () => {
    assert.equal(out.allPods.kind, "PodMetricsList");
    assert.deepEqual(
      out.allPods.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`),
      [...c.servedPods].sort(byNamespaceThenName).map(podKey),
    );
    for (const item of out.allPods.items) assertPodItem(c, item);
  });

  await t.test("list_namespaced_custom_object with label_selector", () => {
    assert.deepEqual(
      out.selectedPods.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`),
      ["shop/web-1", "shop/web-2"],
    );
    for (const item of out.selectedPods.items) {
      assert.equal(item.metadata.labels?.app, "web");
      assertPodItem(c, item);
    }
  });

  await t.test("get_namespaced_custom_object one pod with three containers", () => {
    assert.equal(out.pod.kind, "PodMetrics");
    assert.equal(out.pod.metadata.namespace, "shop");
    assert.equal(out.pod.metadata.name, "api-1");
    assert.equal(out.pod.containers?.length, 3);
    assertPodItem(c, out.pod);
  });

  await t.test("a missing pod raises ApiException 404 carrying the Status", () => {
    assert.equal(out.missingPod.status, 404);
    assert.equal(out.missingPod.body?.kind, "Status");
    assert.equal(out.missingPod.body?.reason, "NotFound");
    // Upstream's message first, then why (docs/metrics-api.md "Why a metric is missing").
    assert.match(out.missingPod.body?.message ?? "", /^pods "no-such-pod" not found: /);
  });
});
