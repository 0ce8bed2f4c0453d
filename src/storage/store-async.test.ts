import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { nodeScrape, simpleBatch } from "../../test/support/node-scrapes.ts";
import * as log from "../log/index.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeScrape, PodRef } from "./types.ts";

// A slice this small makes storeAsync yield after every node, the hardest case for atomicity.
const TINY_SLICE = { sliceMs: 1e-9 };

const NODES = ["n0", "n1", "n2", "n3"];
const NAMESPACES = ["a", "b"];
const PODS = ["p0", "p1", "p2"];
const CONTAINERS = ["c0", "c1", "c2"];

const containerArb = fc.record({
  name: fc.constantFrom(...CONTAINERS),
  startS: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  tsS: fc.integer({ min: 1, max: 200 }),
  cpu: fc.integer({ min: 0, max: 1000 }),
  memory: fc.integer({ min: 0, max: 1000 }),
  swap: fc.option(fc.integer({ min: -1, max: 1000 }), { nil: undefined }),
});
const podArb = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom(...PODS),
  containers: fc.array(containerArb, { minLength: 1, maxLength: 3 }),
});
const nodeArb = fc.record({
  node: fc.constantFrom(...NODES),
  tsS: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
  cpu: fc.integer({ min: 0, max: 1000 }),
  memory: fc.integer({ min: 0, max: 1000 }),
  startS: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  pods: fc.array(podArb, { maxLength: 3 }),
});
/** Batches with duplicates, resets, out-of-order times and missing points: every store() branch. */
const batchesArb = fc.array(fc.array(nodeArb, { maxLength: 4 }), { minLength: 1, maxLength: 6 });

const ALL_PODS: PodRef[] = NAMESPACES.flatMap((namespace) => PODS.map((name) => ({ namespace, name })));

function snapshot(s: TwoPointStore): unknown {
  return {
    nodes: s.getNodeMetrics(NODES),
    pods: s.getPodMetrics(ALL_PODS),
    nodeReady: s.nodeReady(),
    podReady: s.podReady(),
  };
}

/** Runs `fn` with log output captured (also keeps the test output clean). */
async function withLogs<T>(fn: () => Promise<T> | T): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const prevSink = log.setSink((line) => lines.push(line.replace(/^.*?\] /, "")));
  const prevVerbosity = log.getVerbosity();
  log.setVerbosity(2);
  try {
    return { result: await fn(), lines };
  } finally {
    log.setSink(prevSink);
    log.setVerbosity(prevVerbosity);
  }
}

test("property: storeAsync gives the same reads and log lines as store for any batch sequence", async () => {
  await fc.assert(
    fc.asyncProperty(batchesArb, async (descs) => {
      const batches = descs.map((nodes) => nodes.map(nodeScrape));
      const sync = new TwoPointStore({ resolutionMs: 60_000 });
      const async_ = new TwoPointStore({ resolutionMs: 60_000 });
      for (const batch of batches) {
        const a = await withLogs(() => sync.store(batch));
        const b = await withLogs(() => async_.storeAsync(batch, TINY_SLICE));
        assert.deepEqual(snapshot(async_), snapshot(sync));
        assert.deepEqual(b.lines, a.lines);
      }
    }),
    { numRuns: 150 },
  );
});

/** `count` nodes with one single-container pod each, all at `tsS` with `cpu` core-seconds. */
function wideBatch(count: number, tsS: number, cpu: number): NodeScrape[] {
  return Array.from({ length: count }, (_, i) =>
    nodeScrape({
      node: `node-${i}`,
      tsS,
      cpu,
      pods: [{ namespace: "ns", name: `pod-${i}`, containers: [{ name: "c", tsS, cpu }] }],
    }),
  );
}

test("readers see one whole generation while storeAsync runs, the new one only when it resolves", async () => {
  const count = 200;
  const names = Array.from({ length: count }, (_, i) => `node-${i}`);
  const pods = names.map((_, i) => ({ namespace: "ns", name: `pod-${i}` }));
  const s = new TwoPointStore({ resolutionMs: 60_000 });
  s.store(wideBatch(count, 10, 1));
  s.store(wideBatch(count, 20, 2)); // served: 1 core-second over the window 10 s → 20 s = 0.1 core
  let resolved = false;
  const done = s.storeAsync(wideBatch(count, 30, 5), TINY_SLICE).then(() => {
    resolved = true;
  });
  let turnsWhileBuilding = 0;
  while (!resolved) {
    const nodeTimes = new Set(s.getNodeMetrics(names).map((p) => p?.timestampMs));
    const podRates = new Set(s.getPodMetrics(pods).map((p) => p?.containers[0].cpuNanocores));
    assert.equal(nodeTimes.size, 1, "nodes from two generations seen at once");
    assert.equal(podRates.size, 1, "pods from two generations seen at once");
    assert.deepEqual([...podRates], [1e8]);
    turnsWhileBuilding++;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await done;
  // It did yield (the loop ran while building), and the new generation is now served whole.
  assert.ok(turnsWhileBuilding > 1, `only ${turnsWhileBuilding} event-loop turns during the build`);
  assert.deepEqual(new Set(s.getPodMetrics(pods).map((p) => p?.containers[0].cpuNanocores)), new Set([3e8]));
});

test("storeAsync calls made while one runs are queued and applied in call order", async () => {
  const s = new TwoPointStore({ resolutionMs: 60_000 });
  const order: number[] = [];
  const calls = [
    s.storeAsync(wideBatch(50, 10, 1), TINY_SLICE).then(() => order.push(1)),
    s.storeAsync(wideBatch(50, 20, 3), TINY_SLICE).then(() => order.push(2)),
    s.storeAsync(wideBatch(50, 40, 4), TINY_SLICE).then(() => order.push(3)),
  ];
  await Promise.all(calls);
  assert.deepEqual(order, [1, 2, 3]);
  const [node] = s.getNodeMetrics(["node-0"]);
  // The last two batches form the window: (4 - 3) core-seconds over 20 s.
  assert.equal(node?.cpuNanocores, 5e7);
  assert.equal(node?.windowMs, 20_000);
});

test("store() while storeAsync runs is refused and leaves the build intact", async () => {
  const s = new TwoPointStore({ resolutionMs: 60_000 });
  s.store(simpleBatch({ tsS: 10, cpu: 1 }));
  const pending = s.storeAsync(wideBatch(50, 20, 2), TINY_SLICE);
  assert.throws(() => s.store(simpleBatch({ tsS: 30, cpu: 3 })), /asynchronous store is in progress/);
  await pending;
  assert.equal(s.getNodeMetrics(["node-0"])[0], undefined); // stored, but no prev point yet
  assert.equal(s.getNodeMetrics(["node1"])[0], undefined); // node1 is gone with the new batch
  s.store(wideBatch(50, 30, 3)); // allowed again once the async store is done
  assert.equal(s.getNodeMetrics(["node-0"])[0]?.cpuNanocores, 1e8);
});

test("storeAsync with a malformed batch or bad slice option resolves and stores an empty batch", async () => {
  const s = new TwoPointStore({ resolutionMs: 60_000 });
  s.store(simpleBatch({ tsS: 10, cpu: 1 }));
  s.store(simpleBatch({ tsS: 20, cpu: 2 }));
  assert.ok(s.ready());
  const { lines } = await withLogs(() =>
    s.storeAsync("not a batch" as unknown as NodeScrape[], { sliceMs: Number.NaN }),
  );
  assert.ok(lines.some((l) => l.includes("Ignoring malformed metrics batch")));
  assert.equal(s.ready(), false);
  await s.storeAsync(simpleBatch({ tsS: 30, cpu: 3 }), { sliceMs: -1 });
  await s.storeAsync(simpleBatch({ tsS: 40, cpu: 4 }));
  assert.equal(s.getNodeMetrics(["node1"])[0]?.cpuNanocores, 1e8);
});

test("a batch changed while storeAsync stores it (more pods than counted) is stored without the extra pods", async () => {
  const s = new TwoPointStore({ resolutionMs: 60_000 });
  // 30 one-pod nodes, then node-big with one pod of 40 containers, changed into 40 pods mid-build.
  const batch = [
    ...wideBatch(30, 10, 1),
    nodeScrape({
      node: "node-big",
      pods: [
        {
          namespace: "other",
          name: "big",
          containers: Array.from({ length: 40 }, (_, i) => ({ name: `c${i}`, tsS: 10, cpu: 1 })),
        },
      ],
    }),
  ];
  const { lines } = await withLogs(async () => {
    const pending = s.storeAsync(batch, TINY_SLICE);
    // With this slice the build takes one scrape per turn: 31 turns to count, then 31 to store. After
    // 45 turns every scrape has been counted and node-big is not stored yet.
    for (let turn = 0; turn < 45; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
    const big = batch[30];
    big.pods = big.pods.map((_, i) => `pod-${i}`);
    await pending;
  });
  assert.ok(lines.some((l) => l.includes("the batch changed while it was being stored")));
  // Room was counted for 31 pods: the 30 small ones and the first of node-big's, which alone has a
  // prev point in the next tick.
  const later = nodeScrape({
    node: "node-big",
    pods: Array.from({ length: 40 }, (_, i) => ({
      namespace: "other",
      name: `pod-${i}`,
      containers: [{ name: `c${i}`, tsS: 20, cpu: 2 }],
    })),
  });
  s.store([later]);
  const served = s.getPodMetrics(later.pods.map((name) => ({ namespace: "other", name })));
  assert.deepEqual(
    served.map((p) => p?.containers[0].cpuNanocores),
    [1e8, ...new Array(39).fill(undefined)],
  );
});
