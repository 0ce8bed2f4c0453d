// The pieces that keep the simulator cheap at 5,000 nodes: O(page) paged lists, reused body
// buffers and gzip engine, and the fixed-size HPA target.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { ByteWriter, GzipEncoder } from "./body.ts";
import { Cluster, type KubeObject } from "./cluster.ts";
import { parseArgs, USAGE, UsageError } from "./main.ts";
import { addHpaTarget, generateScenario, type SimPod } from "./scenario.ts";
import type { StoredObject } from "./stored.ts";

const NOW = 1_700_000_000_000;

function pod(namespace: string, name: string, app: string): SimPod {
  return {
    namespace,
    name,
    uid: `uid-${namespace}-${name}`,
    nodeName: "node-0",
    labels: { app },
    phase: "Running",
    creationTimestampMs: NOW,
    startTimeMs: NOW,
    containers: [{ name: "c", cpuMilli: 10, memoryBytes: 1024, startTimeMs: NOW }],
    initContainers: [],
  };
}

const key = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;

/** What a list page must be: the naive sort-and-filter over every object. */
function naivePage(
  cluster: Cluster,
  namespace: string | undefined,
  after: string | undefined,
  limit: number,
  matches: (o: KubeObject) => boolean,
) {
  const inScope = cluster
    .scenario()
    .pods.map((p) => cluster.get("pods", p.namespace, p.name)!)
    .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
    .filter((o) => after === undefined || key(o) > after);
  const all = inScope.filter(matches);
  const items = limit > 0 ? all.slice(0, limit) : all;
  const last = items.length > 0 ? key(items[items.length - 1]) : undefined;
  const remaining = last === undefined ? inScope.length : inScope.filter((o) => key(o) > last).length;
  return { names: items.map(key), more: items.length < all.length, remaining };
}

describe("Cluster.listPage", () => {
  const namespaces = ["a", "a-b", "b", "kube-system"];
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("add" as const),
      ns: fc.constantFrom(...namespaces),
      name: fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/),
      app: fc.constantFrom("x", "y"),
    }),
    fc.record({ kind: fc.constant("delete" as const), index: fc.nat() }),
    fc.record({
      kind: fc.constant("page" as const),
      ns: fc.option(fc.constantFrom(...namespaces, "none"), { nil: undefined }),
      limit: fc.nat({ max: 5 }),
      onlyX: fc.boolean(),
      afterIndex: fc.option(fc.nat(), { nil: undefined }),
    }),
  );

  test("pages equal the naive sort-and-filter, through adds and deletes", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const cluster = new Cluster({ nodes: [], pods: [pod("a", "seed", "x")] }, { now: () => NOW });
        for (const o of ops) {
          const pods = cluster.scenario().pods;
          if (o.kind === "add") cluster.addPod(pod(o.ns, o.name, o.app));
          else if (o.kind === "delete") {
            if (pods.length === 0) continue;
            const p = pods[o.index % pods.length];
            void cluster.delete("pods", p.namespace, p.name);
          } else {
            const matches = (x: KubeObject) => !o.onlyX || x.metadata.labels?.app === "x";
            const matchesStored = (x: StoredObject) => !o.onlyX || x.labels?.app === "x";
            const keys = pods.map((p) => `${p.namespace}/${p.name}`).sort();
            // Continue from an existing key, or from one that is not there (deleted since).
            const after =
              o.afterIndex === undefined
                ? undefined
                : keys.length > 0 && o.afterIndex % 2 === 0
                  ? keys[(o.afterIndex >> 1) % keys.length]
                  : `${namespaces[o.afterIndex % namespaces.length]}/m`;
            const got = cluster.listPage("pods", o.ns, after, o.limit, o.onlyX ? matchesStored : undefined);
            const want = naivePage(cluster, o.ns, after, o.limit, matches);
            assert.deepEqual(
              { names: got.items.map((x) => x.key), more: got.more, remaining: got.remaining },
              want,
            );
          }
        }
        const listed = cluster.list("pods").map(key);
        assert.deepEqual(listed, [...listed].sort());
      }),
      { numRuns: 300 },
    );
  });

  test("a page of a big cluster touches only the page (continue found by binary search)", () => {
    const pods = Array.from({ length: 20_000 }, (_, i) => pod("ns", `p-${String(i).padStart(6, "0")}`, "x"));
    const cluster = new Cluster({ nodes: [], pods }, { now: () => NOW });
    let calls = 0;
    const page = cluster.listPage("pods", undefined, "ns/p-010000", 10, () => {
      calls++;
      return true;
    });
    assert.deepEqual(page.items[0].name, "p-010001");
    assert.equal(page.items.length, 10);
    assert.equal(page.more, true);
    assert.equal(page.remaining, 20_000 - 10_011);
    // The page plus the one look-ahead item, not the 20,000 objects.
    assert.equal(calls, 11);
  });
});

describe("ByteWriter", () => {
  test("grows, copies ranges and ASCII, and resets", () => {
    const w = new ByteWriter(16);
    const src = Buffer.from("0123456789".repeat(100));
    w.ascii("head:");
    w.range(src, 3, 7);
    w.range(src, 0, 900);
    w.bytes(Buffer.from("é"));
    assert.equal(w.toString(), `head:3456${src.toString().slice(0, 900)}é`);
    const copy = w.copy();
    w.reset();
    w.ascii("x");
    assert.equal(w.toString(), "x");
    assert.equal(copy.length, 5 + 4 + 900 + 2);
  });
});

describe("GzipEncoder", () => {
  test("one reused engine gives zlib's own gzip bytes, body after body", () => {
    const enc = new GzipEncoder();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200_000 }), fc.boolean(), (data, repetitive) => {
        const input = repetitive
          ? Buffer.from('metric{a="b"} 1 2\n'.repeat(data.length % 9000))
          : Buffer.from(data);
        const z = enc.encode(input);
        assert.deepEqual(gunzipSync(z), input);
        assert.deepEqual(z, gzipSync(input, { level: 1 }));
      }),
      { numRuns: 40 },
    );
    enc.close();
    // Usable again after close (a new engine).
    assert.equal(gunzipSync(enc.encode(Buffer.from("again"))).toString(), "again");
    enc.close();
  });

  test("really compresses (the reader pays a realistic inflate)", () => {
    const body = Buffer.from(
      'container_cpu_usage_seconds_total{container="c",pod="p"} 12.5 1700000000000\n'.repeat(500),
    );
    const z = new GzipEncoder().encode(body);
    assert.ok(z.length < body.length / 10, `${z.length} of ${body.length}`);
  });
});

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
