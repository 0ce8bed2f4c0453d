// Swap beyond upstream: with --swap-usage the server adds the kubelet-reported swap
// to usage (what `kubectl top --show-swap` reads); without it, the bytes are upstream's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseQuantity } from "../../src/go/index.ts";
import { metricsItems, startCluster, waitForNodes } from "../support/cluster.ts";
import { poll } from "../support/poll.ts";

test("--swap-usage serves the kubelets' swap, node and container, from both endpoints", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "2", "--seed", "41", "--swap", "--summary-only-nodes", "1"],
    resolution: "4s",
    serverArgs: ["--swap-usage"],
  });
  const items = await waitForNodes(
    c,
    c.truth.nodes.map((n) => n.name),
  );
  for (const n of c.truth.nodes) {
    const item = items.find((i) => i.metadata.name === n.name)!;
    assert.ok(n.swapBytes !== undefined && n.swapBytes > 0, "the simulator burns swap");
    assert.equal(parseQuantity((item.usage as Record<string, string>).swap!), n.swapBytes, n.name);
  }
  const running = c.truth.pods.filter((p) => p.phase === "Running");
  const pods = await poll("every running pod served", async () => {
    const got = await metricsItems(c.kubeconfig, "pods");
    return got && got.length === running.length ? got : undefined;
  });
  for (const p of running) {
    const item = pods.find((i) => i.metadata.namespace === p.namespace && i.metadata.name === p.name)!;
    for (const ct of p.containers) {
      const served = item.containers!.find((x) => x.name === ct.name)!;
      assert.equal(
        parseQuantity((served.usage as Record<string, string>).swap!),
        ct.swapBytes,
        `${p.name}/${ct.name}`,
      );
    }
  }
});

test("without --swap-usage no swap key is served, even when kubelets report swap", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "2", "--pods-per-node", "2", "--seed", "42", "--swap"],
    resolution: "4s",
  });
  const items = await waitForNodes(
    c,
    c.truth.nodes.map((n) => n.name),
  );
  for (const i of items) assert.deepEqual(Object.keys(i.usage!), ["cpu", "memory"]);
});
