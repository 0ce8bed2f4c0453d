// The fixed-size HPA target (--hpa-replicas): the scenario's pods, their objects, the flag and its errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseArgs, USAGE, UsageError } from "./options.ts";
import { addHpaTarget, generateScenario } from "./scenario/index.ts";
import { Cluster } from "./state/index.ts";

const NOW = 1_700_000_000_000;

describe("the HPA target", () => {
  const base = generateScenario({ nodes: 7, podsPerNode: 3, seed: 5, ipBase: "127.9", nowMs: NOW });

  test("adds N Running single-container pods hpa-target-<hash>-<suffix>, round-robin over the nodes", () => {
    const s = addHpaTarget(base, { replicas: 20, seed: 5, nowMs: NOW });
    assert.deepEqual(s.pods.slice(0, base.pods.length), base.pods);
    const added = s.pods.slice(base.pods.length);
    assert.equal(added.length, 20);
    const hash = added[0].labels["pod-template-hash"];
    assert.match(hash, /^[0-9a-f]{10}$/);
    for (const [i, p] of added.entries()) {
      assert.equal(p.namespace, "default");
      assert.match(p.name, new RegExp(`^hpa-target-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.deepEqual(p.labels, { app: "hpa-target", "pod-template-hash": hash });
      assert.equal(p.phase, "Running");
      assert.equal(p.containers.length, 1);
      assert.ok(p.containers[0].cpuMilli > 0 && p.containers[0].memoryBytes > 0);
      assert.equal(p.nodeName, `node-${i % 7}`);
    }
    assert.equal(new Set(added.map((p) => p.name)).size, 20);
    // Nothing else in the generated cluster carries the label.
    assert.equal(s.pods.filter((p) => p.labels.app === "hpa-target").length, 20);
    // Deterministic.
    assert.deepEqual(addHpaTarget(base, { replicas: 20, seed: 5, nowMs: NOW }), s);
    assert.equal(addHpaTarget(base, { replicas: 0, seed: 5, nowMs: NOW }), base);
  });

  test("a cluster object per pod, selectable by app=hpa-target", () => {
    const cluster = new Cluster(addHpaTarget(base, { replicas: 4, seed: 1, nowMs: NOW }), { now: () => NOW });
    const page = cluster.listPage("pods", "default", undefined, 0, (o) => o.labels?.app === "hpa-target");
    assert.equal(page.items.length, 4);
  });

  test("bad replica counts and clusters without nodes are refused", () => {
    assert.throws(() => addHpaTarget(base, { replicas: -1, seed: 1, nowMs: NOW }), /non-negative integer/);
    assert.throws(() => addHpaTarget(base, { replicas: 1.5, seed: 1, nowMs: NOW }), /non-negative integer/);
    assert.throws(
      () => addHpaTarget({ nodes: [], pods: [] }, { replicas: 2, seed: 1, nowMs: NOW }),
      /at least one node/,
    );
  });

  test("--hpa-replicas: parsed, validated, documented", () => {
    assert.equal(parseArgs([], () => 42).hpaReplicas, 0);
    assert.equal(parseArgs(["--hpa-replicas", "20"], () => 42).hpaReplicas, 20);
    assert.equal(parseArgs(["--hpa-replicas=0"], () => 42).hpaReplicas, 0);
    for (const bad of ["-1", "x", "1.5", "", "100001"]) {
      assert.throws(() => parseArgs(["--hpa-replicas", bad], () => 42), UsageError, bad);
    }
    assert.throws(() => parseArgs(["--hpa-replicas"], () => 42), /needs a value/);
    assert.match(USAGE, /--hpa-replicas N/);
  });
});

test("main: a bad --hpa-replicas, or HPA pods without nodes, exits 1 before anything listens", async () => {
  const { execFile } = await import("node:child_process");
  const main = new URL("./main.ts", import.meta.url).pathname;
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [main, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  const bad = await run(["--hpa-replicas", "many"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid value "many" for --hpa-replicas/);
  assert.equal(bad.stdout, "");
  const noNodes = await run([
    "--nodes",
    "0",
    "--hpa-replicas",
    "3",
    "--port",
    "0",
    "--dir",
    "/nonexistent/x",
  ]);
  assert.equal(noNodes.code, 1);
  assert.match(noNodes.stderr, /--hpa-replicas 3 needs at least one node/);
  assert.equal(noNodes.stdout, "");
});
