// A tick stored in parts (nodes stored as they answer, pending ones carried over) must end exactly where
// one store of the tick's final batch ends: the same reads, readiness and log lines.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { captureLogs } from "../../test/support/logs.ts";
import { at, nodeScrape } from "../../test/support/node-scrapes.ts";
import * as log from "../log/index.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeScrape, PodRef } from "./types.ts";

const NODES = ["n0", "n1", "n2", "n3"];
const NAMESPACES = ["a", "b"];
const PODS = ["p0", "p1", "p2"];
const CONTAINERS = ["c0", "c1", "c2"];
const ALL_PODS: PodRef[] = NAMESPACES.flatMap((namespace) => PODS.map((name) => ({ namespace, name })));

// Times and counters relative to the tick (tick k at about 10·k s), so that kept prev points, points
// older than the stored ones, restarts and counter resets all come up; pods recur across nodes, so
// duplicate pods (first node in batch order wins) are common.
const containerArb = fc.record({
  name: fc.constantFrom(...CONTAINERS),
  startS: fc.option(fc.integer({ min: -30, max: 3 }), { nil: undefined }),
  dtS: fc.integer({ min: -12, max: 3 }),
  dCpu: fc.integer({ min: -3, max: 20 }),
  swap: fc.option(fc.integer({ min: -1, max: 1000 }), { nil: undefined }),
});
const podArb = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom(...PODS),
  containers: fc.array(containerArb, { minLength: 1, maxLength: 3 }),
});
const nodeArb = fc.record({
  node: fc.constantFrom(...NODES),
  dtS: fc.option(fc.integer({ min: -12, max: 3 }), { nil: undefined, freq: 8 }),
  dCpu: fc.integer({ min: -3, max: 20 }),
  pods: fc.array(podArb, { maxLength: 3 }),
});
/** One tick: its batch, which nodes fail, in which order outcomes arrive, and after how many a part is stored. */
const tickArb = fc.record({
  batch: fc.array(nodeArb, { maxLength: 5 }),
  failed: fc.subarray(NODES),
  arrival: fc.shuffledSubarray(NODES, { minLength: NODES.length }),
  cuts: fc.uniqueArray(fc.integer({ min: 0, max: NODES.length - 1 }), { maxLength: 3 }),
});
type Tick = typeof tickArb extends fc.Arbitrary<infer T> ? T : never;

function toBatch(k: number, t: Tick): NodeScrape[] {
  const base = 10 * (k + 1);
  return t.batch.map((d) =>
    nodeScrape({
      node: d.node,
      tsS: d.dtS === undefined ? undefined : base + d.dtS,
      cpu: Math.max(0, 10 * k + d.dCpu),
      pods: d.pods.map((p) => ({
        namespace: p.namespace,
        name: p.name,
        containers: p.containers.map((c) => ({
          name: c.name,
          startS: c.startS === undefined ? undefined : Math.max(0, base + c.startS),
          tsS: base + c.dtS,
          cpu: Math.max(0, 10 * k + c.dCpu),
          swap: c.swap,
        })),
      })),
    }),
  );
}

function snapshot(s: TwoPointStore): unknown {
  return {
    nodes: s.getNodeMetrics(NODES),
    pods: s.getPodMetrics(ALL_PODS),
    nodeReady: s.nodeReady(),
    podReady: s.podReady(),
  };
}

/** Lines written by fn at -v=2, without headers and without the readiness lines (logged per swap). */
async function linesOf(fn: () => unknown): Promise<string[]> {
  const lines: string[] = [];
  const prevSink = log.setSink((line) => lines.push(line.replace(/^.*?\] /, "")));
  const prevVerbosity = log.getVerbosity();
  log.setVerbosity(2);
  try {
    await fn();
  } finally {
    log.setSink(prevSink);
    log.setVerbosity(prevVerbosity);
  }
  return lines.filter((l) => !l.startsWith('"Metric storage is'));
}

async function agree(ticks: Tick[], sliced: boolean): Promise<void> {
  const whole = new TwoPointStore({ resolutionMs: 30_000 });
  const parts = new TwoPointStore({ resolutionMs: 30_000 });
  const storePart = (batch: NodeScrape[], pending: Iterable<string>): Promise<void> | void =>
    sliced ? parts.storeAsync(batch, { pending, sliceMs: 1e-9 }) : parts.storePart(batch, pending);
  for (const [k, t] of ticks.entries()) {
    const batch = toBatch(k, t);
    const failed = new Set(t.failed);
    const final = batch.filter((s) => !failed.has(s.node));
    const before = whole.getNodeMetrics(NODES);
    const wholeLines = await linesOf(() => whole.store(final));
    const after = whole.getNodeMetrics(NODES);

    const partLines = await linesOf(async () => {
      for (const cut of [...t.cuts].sort((a, b) => a - b)) {
        const arrived = new Set(t.arrival.slice(0, cut));
        const pending = NODES.filter((n) => !arrived.has(n));
        await storePart(
          final.filter((s) => arrived.has(s.node)),
          pending,
        );
        // Pending nodes keep their points, failed ones are gone, answered ones are final already.
        const served = parts.getNodeMetrics(NODES);
        NODES.forEach((n, i) => {
          const expected = !arrived.has(n) ? before[i] : failed.has(n) ? undefined : after[i];
          assert.deepStrictEqual(served[i], expected, `node ${n} after ${cut} answers`);
        });
      }
      await (sliced ? parts.storeAsync(final, { sliceMs: 1e-9 }) : parts.store(final));
    });
    assert.deepStrictEqual(snapshot(parts), snapshot(whole));
    assert.deepStrictEqual(partLines, wholeLines);
  }
}

test("property: a tick stored in parts ends exactly as one store of its final batch", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(tickArb, { minLength: 1, maxLength: 6 }), (ticks) => agree(ticks, false)),
    { numRuns: 400 },
  );
});

test("property: the same with storeAsync yielding after every node", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(tickArb, { minLength: 1, maxLength: 4 }), (ticks) => agree(ticks, true)),
    { numRuns: 100 },
  );
});

test("a laggard's duplicate pod is decided as upstream: the first node in batch order wins", (t) => {
  captureLogs(t);
  const point = (tsS: number, cpu: number, node: string): NodeScrape =>
    nodeScrape({
      node,
      tsS,
      cpu,
      pods: [{ namespace: "ns", name: "shared", containers: [{ name: "c", tsS, cpu }] }],
    });
  const whole = new TwoPointStore({ resolutionMs: 30_000 });
  const parts = new TwoPointStore({ resolutionMs: 30_000 });
  for (const s of [whole, parts]) {
    s.store([point(10, 1, "early")]);
    s.store([point(20, 2, "early")]);
  }
  // "late" answers first with the same pod at a different value; "early" is still pending.
  const tick3 = [point(30, 3, "early"), point(25, 9, "late")];
  parts.storePart([tick3[1]], ["early"]);
  // Meanwhile the pending node's own point is kept; the pod is "late"'s for now (from the base).
  assert.equal(
    parts.getNodeMetrics(["early"])[0]?.timestampMs,
    whole.getNodeMetrics(["early"])[0]?.timestampMs,
  );
  assert.equal(
    parts.getPodMetrics([{ namespace: "ns", name: "shared" }])[0]?.containers[0].cpuNanocores,
    1.4e9,
  );
  parts.store(tick3);
  whole.store(tick3);
  const shared = { namespace: "ns", name: "shared" };
  assert.deepStrictEqual(parts.getPodMetrics([shared]), whole.getPodMetrics([shared]));
  assert.equal(parts.getPodMetrics([shared])[0]?.containers[0].cpuNanocores, 1e8);
});

test("a pending node keeps its pods; a failed one loses them at the next store", () => {
  const s = new TwoPointStore({ resolutionMs: 30_000 });
  const tick = (tsS: number, cpu: number, nodes: string[]): NodeScrape[] =>
    nodes.map((node) =>
      nodeScrape({
        node,
        tsS,
        cpu,
        pods: [{ namespace: "ns", name: `pod-${node}`, containers: [{ name: "c", tsS, cpu }] }],
      }),
    );
  s.store(tick(10, 1, ["a", "b", "c"]));
  s.store(tick(20, 2, ["a", "b", "c"]));
  const pods = ["a", "b", "c"].map((n) => ({ namespace: "ns", name: `pod-${n}` }));
  // "a" answered, "b" pending, "c" failed (neither answered nor pending).
  s.storePart(tick(30, 4, ["a"]), ["b"]);
  assert.deepEqual(
    s.getPodMetrics(pods).map((p) => p?.containers[0].cpuNanocores),
    [2e8, 1e8, undefined],
  );
  assert.deepEqual(
    s.getNodeMetrics(["a", "b", "c"]).map((p) => p?.timestampMs),
    [at(30), at(20), undefined],
  );
  s.store(tick(30, 4, ["a", "b"]));
  assert.deepEqual(
    s.getPodMetrics(pods).map((p) => p?.containers[0].cpuNanocores),
    [2e8, 2e8, undefined],
  );
});

test("readiness follows every store of a tick: a part can make the store ready, logged once", (t) => {
  const lines = captureLogs(t, 2);
  const tick = (tsS: number, cpu: number, nodes: string[]): NodeScrape[] =>
    nodes.map((node) =>
      nodeScrape({
        node,
        tsS,
        cpu,
        pods: [{ namespace: "ns", name: `pod-${node}`, containers: [{ name: "c", tsS, cpu }] }],
      }),
    );
  const s = new TwoPointStore({ resolutionMs: 30_000 });
  s.store(tick(10, 1, ["a", "b"]));
  assert.equal(s.ready(), false);
  // "a" answers its second point while "b" hangs: ready at once, not at the tick's end.
  s.storePart(tick(20, 2, ["a"]), ["b"]);
  assert.equal(s.ready(), true);
  s.store(tick(20, 2, ["a"]));
  assert.equal(s.ready(), true);
  assert.equal(lines.filter((l) => l.includes('"Metric storage is ready"')).length, 1, lines.join(""));
  assert.equal(lines.filter((l) => l.includes('"Metric storage is not ready')).length, 0, lines.join(""));
});
