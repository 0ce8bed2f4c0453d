// The official JavaScript client, @kubernetes/client-node (2.x, undici fetch, the kubeconfig's
// client certificate): its Metrics class and the topPods/topNodes helpers, against the metrics API
// behind the simulator's aggregator, compared with the simulator's truth. The library has no
// single-object or label-selector call for metrics; python.test.ts covers those.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CoreV1Api,
  KubeConfig,
  Metrics,
  type NodeMetric,
  type PodMetric,
  topNodes,
  topPods,
} from "@kubernetes/client-node";
import {
  assertNear,
  assertTimestampAndWindow,
  assertUsage,
  byNamespaceThenName,
  type ClientsCluster,
  compareStrings,
  parseQuantity,
  podCpuNanocores,
  podKey,
  podMemoryBytes,
  startClientsCluster,
  truthNode,
  truthPod,
  waitFor,
} from "../support/clients.ts";

function assertNodeMetric(c: ClientsCluster, item: NodeMetric): void {
  const n = truthNode(c, item.metadata.name);
  assertTimestampAndWindow(n.name, item);
  assertUsage(n.name, item.usage, n.cpuNanocores, n.memoryBytes);
}

function assertPodMetric(c: ClientsCluster, item: PodMetric): void {
  const truth = truthPod(c, item.metadata.namespace, item.metadata.name);
  const what = podKey(truth);
  assertTimestampAndWindow(what, item);
  assert.deepEqual(
    item.containers.map((x) => x.name).sort(compareStrings),
    truth.containers.map((x) => x.name).sort(compareStrings),
    `${what} containers`,
  );
  for (const x of truth.containers) {
    const served = item.containers.find((y) => y.name === x.name);
    assertUsage(`${what}/${x.name}`, served?.usage, x.cpuNanocores, x.memoryBytes);
  }
}

test("@kubernetes/client-node Metrics and topPods read the metrics API", async (t) => {
  const c = await startClientsCluster(t);
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  const metrics = new Metrics(kc);
  const core = kc.makeApiClient(CoreV1Api);

  // Lists may be partial (or the API unavailable) until the first scrapes are stored.
  await waitFor("every served node and pod through client-node", async () => {
    const [nodes, pods] = await Promise.all([metrics.getNodeMetrics(), metrics.getPodMetrics()]);
    const nodeNames = new Set(nodes.items.map((i) => i.metadata.name));
    const podKeys = new Set(pods.items.map((i) => podKey(i.metadata)));
    return c.servedNodes.every((n) => nodeNames.has(n.name)) &&
      c.servedPods.every((p) => podKeys.has(podKey(p)))
      ? true
      : undefined;
  });

  await t.test("getNodeMetrics: every scrapeable node, sorted by name, near the truth", async () => {
    const list = await metrics.getNodeMetrics();
    assert.equal(list.kind, "NodeMetricsList");
    assert.equal(list.apiVersion, "metrics.k8s.io/v1beta1");
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      c.servedNodes.map((n) => n.name),
    );
    for (const item of list.items) assertNodeMetric(c, item);
    assert.equal(list.items.find((i) => i.metadata.name === "bravo")?.metadata.labels?.zone, "west");
  });

  await t.test("getPodMetrics(): all namespaces, only running pods on scrapeable nodes", async () => {
    const list = await metrics.getPodMetrics();
    assert.equal(list.kind, "PodMetricsList");
    assert.deepEqual(
      list.items.map((i) => podKey(i.metadata)),
      [...c.servedPods].sort(byNamespaceThenName).map(podKey),
    );
    for (const item of list.items) assertPodMetric(c, item);
  });

  await t.test("getPodMetrics(namespace)", async () => {
    const list = await metrics.getPodMetrics("batch");
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ["report", "worker-a", "worker-b"],
    );
    for (const item of list.items) {
      assert.equal(item.metadata.namespace, "batch");
      assertPodMetric(c, item);
    }
    const none = await metrics.getPodMetrics("empty");
    assert.deepEqual(none.items, []);
  });

  await t.test("topPods(namespace) joins the pod list with the metrics", async () => {
    const statuses = await topPods(core, metrics, "shop");
    const byName = new Map(statuses.map((s) => [s.Pod.metadata?.name ?? "", s]));
    // Every pod of the namespace is listed; the one on the broken node has no usage.
    assert.deepEqual([...byName.keys()].sort(compareStrings), ["api-1", "cart", "web-1", "web-2"]);
    const cart = byName.get("cart")!;
    assert.equal(Number(cart.CPU.CurrentUsage), 0);
    assert.deepEqual(cart.Containers, []);
    for (const name of ["api-1", "web-1"]) {
      const s = byName.get(name)!;
      const truth = truthPod(c, "shop", name);
      assertNear(`${name} cpu (cores)`, Number(s.CPU.CurrentUsage) * 1e9, podCpuNanocores(truth), 1e6);
      assertNear(`${name} memory (bytes)`, Number(s.Memory.CurrentUsage), podMemoryBytes(truth), 2 ** 20);
      assert.deepEqual(
        s.Containers.map((x) => x.Container).sort(compareStrings),
        truth.containers.map((x) => x.name).sort(compareStrings),
      );
      for (const x of s.Containers) {
        const tx = truth.containers.find((k) => k.name === x.Container)!;
        assertNear(`${name}/${x.Container} cpu`, Number(x.CPUUsage.CurrentUsage) * 1e9, tx.cpuNanocores, 1e6);
        assertNear(
          `${name}/${x.Container} memory`,
          Number(x.MemoryUsage.CurrentUsage),
          tx.memoryBytes,
          2 ** 20,
        );
      }
    }
    // topPods walks pod.spec.containers only, so web-2's native sidecar (an init container) is
    // served by the API but left out by the helper: check the helper's sum against that subset.
    const web2 = byName.get("web-2")!;
    assert.deepEqual(web2.Containers.map((x) => x.Container).sort(compareStrings), ["log-shipper", "nginx"]);
    assertNear("web-2 regular containers cpu", Number(web2.CPU.CurrentUsage) * 1e9, (60 + 10) * 1e6, 1e6);
  });

  await t.test("topNodes lists every node with its allocatable capacity", async () => {
    // topNodes reads nodes and pod requests only (no metrics); still a client of this cluster.
    const statuses = await topNodes(core);
    const names = statuses.map((s) => s.Node.metadata?.name ?? "").sort(compareStrings);
    assert.deepEqual(names, c.truth.nodes.map((n) => n.name).sort(compareStrings));
    for (const s of statuses) {
      const alloc = s.Node.status?.allocatable;
      assert.ok(alloc?.cpu, `${s.Node.metadata?.name} has allocatable cpu`);
      assert.equal(Number(s.CPU.Capacity), parseQuantity(alloc.cpu));
    }
  });
});
