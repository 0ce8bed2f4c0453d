// Values no node can produce are never served: memory above the node's capacity, CPU faster than its
// cores, timestamps ahead of our clock, windows longer than the store's life; with whatever numbers a
// scrape carries, what is served is finite, non-negative and within those bounds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { captureLogs } from "../../test/support/logs.ts";
import { at, nodeScrape, T0 } from "../../test/support/node-scrapes.ts";
import { cpuRateLimit, MAX_CLOCK_SKEW_MS, maxWindowMs } from "./scrape-checks.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeScrape } from "./types.ts";

const GI = 2 ** 30;
const CORES = 2;

/** A store whose clock reads `nowS` seconds after T0 (settable), scraping since T0. */
function clockedStore(opts: { startedS?: number } = {}) {
  const clock = { nowS: 0 };
  const store = new TwoPointStore({
    resolutionMs: 15_000,
    now: () => at(clock.nowS),
    startedAtMs: at(opts.startedS ?? 0),
  });
  return { store, clock };
}

interface Tick {
  tsS: number;
  /** Core-seconds of the node and of each container. */
  cpu: number;
  memory?: number;
  /** Overrides for pod "a"'s container (pod "b" always gets the plain values). */
  a?: { tsS?: number; cpu?: number; memory?: number };
  capacity?: { cpu?: number; memory?: number } | null;
}

/** Node "n" with pods ns/a and ns/b (one container each), capacity 2 cores and 1 GiB by default. */
function scrape(t: Tick): NodeScrape {
  const s = nodeScrape({
    node: "n",
    tsS: t.tsS,
    cpu: t.cpu,
    memory: t.memory ?? 1000,
    pods: [
      {
        namespace: "ns",
        name: "a",
        containers: [
          { name: "c", tsS: t.a?.tsS ?? t.tsS, cpu: t.a?.cpu ?? t.cpu / 4, memory: t.a?.memory ?? 100 },
        ],
      },
      { namespace: "ns", name: "b", containers: [{ name: "c", tsS: t.tsS, cpu: t.cpu / 4, memory: 100 }] },
    ],
  });
  if (t.capacity !== null) {
    s.cpuCapacityNanocores = (t.capacity?.cpu ?? CORES) * 1e9;
    s.memoryCapacityBytes = t.capacity?.memory ?? GI;
  }
  return s;
}

function served(store: TwoPointStore) {
  const [node] = store.getNodeMetrics(["n"]);
  const [a, b] = store.getPodMetrics([
    { namespace: "ns", name: "a" },
    { namespace: "ns", name: "b" },
  ]);
  return { node: node?.cpuNanocores, a: a?.containers[0].cpuNanocores, b: b?.containers[0].cpuNanocores };
}

describe("values no node can produce", () => {
  test("CPU faster than the node's cores (beyond the tolerance) is not served; at the tolerance it is", (t) => {
    const lines = captureLogs(t);
    const { store, clock } = clockedStore();
    store.store([scrape({ tsS: 0, cpu: 100 })]);
    clock.nowS = 10;
    // The limit over 10 s: 10 % tolerance plus 1 s of timestamp precision in 10 s, 2.4 cores.
    assert.ok(Math.abs(cpuRateLimit(CORES * 1e9, 10_000) - 2.4e9) < 1);
    // Node: exactly 2.4 cores; pod a: 2.4 cores + 1 ns/s (over); pod b: 0.6 core.
    store.store([scrape({ tsS: 10, cpu: 124, a: { cpu: 25 + 24.000_000_01 } })]);
    assert.deepEqual(served(store), { node: 2.4e9, a: undefined, b: 0.6e9 });
    assert.match(
      lines.join(""),
      /"Skipping container usage metric" err="CPU usage faster than the node's cores" container="c" pod="ns\/a" node="n"/,
    );
    // The node itself too fast: left out, its pods are not.
    clock.nowS = 20;
    store.store([scrape({ tsS: 20, cpu: 150, a: { cpu: 59.000_000_01 } })]);
    assert.deepEqual(served(store), { node: undefined, a: 1e9, b: 0.65e9 });
  });

  test("a too-fast rate is not served, and the point is the prev of the next rate", (t) => {
    captureLogs(t);
    const { store, clock } = clockedStore();
    store.store([scrape({ tsS: 0, cpu: 100 })]);
    clock.nowS = 10;
    store.store([scrape({ tsS: 10, cpu: 1100 })]); // 100 cores
    assert.deepEqual(served(store), { node: undefined, a: undefined, b: undefined });
    clock.nowS = 20;
    store.store([scrape({ tsS: 20, cpu: 1110 })]);
    assert.deepEqual(served(store), { node: 1e9, a: 0.25e9, b: 0.25e9 });
  });

  test("memory above the node's capacity: the node point, or the container's whole pod, is skipped", (t) => {
    const lines = captureLogs(t);
    const { store, clock } = clockedStore();
    store.store([scrape({ tsS: 0, cpu: 100 })]);
    clock.nowS = 10;
    store.store([scrape({ tsS: 10, cpu: 110, memory: GI, a: { memory: GI + 1 } })]);
    // Memory equal to the capacity is possible; one byte more is not.
    assert.deepEqual(served(store), { node: 1e9, a: undefined, b: 0.25e9 });
    assert.match(
      lines.join(""),
      /"Skipping pod metrics point" err="memory above the node's capacity" pod="ns\/a" container="c" node="n"/,
    );
    clock.nowS = 20;
    store.store([scrape({ tsS: 20, cpu: 120, memory: GI + 1 })]);
    assert.deepEqual(served(store), { node: undefined, a: undefined, b: 0.25e9 });
    assert.match(
      lines.join(""),
      /"Skipping node metrics point" err="memory above the node's capacity" node="n"/,
    );
  });

  test("without a known capacity there is no such check", (t) => {
    captureLogs(t);
    const { store, clock } = clockedStore();
    store.store([scrape({ tsS: 0, cpu: 100, capacity: null })]);
    clock.nowS = 10;
    store.store([scrape({ tsS: 10, cpu: 1100, memory: 100 * GI, capacity: null })]);
    assert.deepEqual(served(store), { node: 100e9, a: 25e9, b: 25e9 });
    // A capacity that is not a positive number is unknown, not zero.
    store.store([scrape({ tsS: 20, cpu: 1200, capacity: { cpu: Number.NaN, memory: -1 } })]);
    assert.deepEqual(served(store), { node: 10e9, a: 2.5e9, b: 2.5e9 });
  });

  test("a timestamp more than the clock skew ahead of our clock is skipped", (t) => {
    const lines = captureLogs(t);
    const { store, clock } = clockedStore();
    const skewS = MAX_CLOCK_SKEW_MS / 1000;
    store.store([scrape({ tsS: 0, cpu: 100 })]);
    clock.nowS = 10 - skewS; // ts 10 is exactly the allowed skew ahead
    store.store([scrape({ tsS: 10, cpu: 110, a: { tsS: 10.001 } })]);
    assert.deepEqual(served(store), { node: 1e9, a: undefined, b: 0.25e9 });
    assert.match(lines.join(""), /"Skipping pod metrics point" err="timestamp in the future" pod="ns\/a"/);
    store.store([scrape({ tsS: 20, cpu: 120 })]);
    assert.deepEqual(served(store), { node: undefined, a: undefined, b: undefined });
    // Once our clock catches up the same points are taken.
    clock.nowS = 20;
    store.store([scrape({ tsS: 20, cpu: 120 })]);
    store.store([scrape({ tsS: 30, cpu: 130 })]);
    assert.deepEqual(served(store), { node: 1e9, a: 0.25e9, b: 0.25e9 });
  });

  test("a window longer than consecutive scrapes (or the store's life) can span is not served", (t) => {
    const lines = captureLogs(t);
    // Scraping began at 600 s; a kubelet's first point claims to be from 0 s.
    const { store, clock } = clockedStore({ startedS: 600 });
    clock.nowS = 600;
    store.store([scrape({ tsS: 0, cpu: 100 })]);
    clock.nowS = 610;
    store.store([scrape({ tsS: 610, cpu: 161 })]);
    assert.equal(maxWindowMs(at(610), at(600), 15_000), 45_000);
    assert.equal(maxWindowMs(at(605), at(600), 5_000), 15_000);
    assert.equal(maxWindowMs(at(605), at(600), 60_000), 65_000);
    assert.equal(maxWindowMs(at(1200), at(600), 60_000), 180_000);
    assert.deepEqual(served(store), { node: undefined, a: undefined, b: undefined });
    assert.match(lines.join(""), /err="window longer than consecutive scrapes can span" node="n"/);
    clock.nowS = 620;
    store.store([scrape({ tsS: 620, cpu: 171 })]);
    assert.deepEqual(served(store), { node: 1e9, a: 0.25e9, b: 0.25e9 });
  });

  test("a CPU counter that goes back is left out for the tick, then served again", (t) => {
    captureLogs(t);
    const { store, clock } = clockedStore();
    store.store([scrape({ tsS: 0, cpu: 100 })]);
    clock.nowS = 30;
    store.store([scrape({ tsS: 10, cpu: 50 })]);
    assert.deepEqual(served(store), { node: undefined, a: undefined, b: undefined });
    store.store([scrape({ tsS: 20, cpu: 60 })]);
    assert.deepEqual(served(store), { node: 1e9, a: 0.25e9, b: 0.25e9 });
  });

  test("a timestamp that goes back before the stored points: no rate, and said why", (t) => {
    const lines = captureLogs(t);
    const { store, clock } = clockedStore();
    clock.nowS = 100;
    for (const tsS of [0, 10, 20]) store.store([scrape({ tsS, cpu: 100 + tsS })]);
    assert.deepEqual(served(store), { node: 1e9, a: 0.25e9, b: 0.25e9 });
    // Stored again unchanged (a tick stored in parts does that): no error.
    store.store([scrape({ tsS: 20, cpu: 120 })]);
    assert.equal(lines.filter((l) => l.startsWith("E")).length, 0);
    store.store([scrape({ tsS: 5, cpu: 105 })]);
    assert.deepEqual(served(store), { node: undefined, a: undefined, b: undefined });
    assert.match(
      lines.join(""),
      /"Skipping node usage metric" err="timestamp earlier than the stored point's" node="n"/,
    );
    assert.match(
      lines.join(""),
      /"Skipping container usage metric" err="timestamp earlier than the stored point's" container="c" pod="ns\/a" node="n" count=2/,
    );
  });

  test("a node's errors are one line per kind, with how many there were", (t) => {
    const lines = captureLogs(t);
    const { store, clock } = clockedStore();
    const many = (tsS: number, memory: number) => {
      const s = nodeScrape({
        node: "n",
        tsS,
        cpu: 1,
        memory: 1,
        pods: Array.from({ length: 50 }, (_, i) => ({
          namespace: "ns",
          name: `p${i}`,
          containers: [{ name: "c", tsS, cpu: 1, memory }],
        })),
      });
      s.memoryCapacityBytes = GI;
      return s;
    };
    store.store([many(0, 2 * GI)]);
    const errors = lines.filter((l) => l.startsWith("E"));
    assert.equal(errors.length, 1, errors.join(""));
    assert.match(
      errors[0],
      /"Skipping pod metrics point" err="memory above the node's capacity" pod="ns\/p0" container="c" node="n" count=50/,
    );
    // The same errors again: not logged before the interval; fixed: one info line.
    clock.nowS = 10;
    store.store([many(10, 2 * GI)]);
    store.store([many(20, 1)]);
    assert.equal(lines.filter((l) => l.startsWith("E")).length, 1);
    assert.equal(lines.filter((l) => l.includes('"Node metrics are valid again" node="n"')).length, 1);
  });
});

test("property: whatever a scrape carries, what is served is finite, non-negative and possible", (t) => {
  captureLogs(t);
  const number = fc.oneof(
    fc.double(),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 0, 2 ** 64),
    fc.integer({ min: 0, max: 2 ** 40 }),
  );
  const tick = fc.record({
    dtMs: fc.oneof(fc.integer({ min: -20_000, max: 3_600_000 }), fc.constant(10_000)),
    nodeCpu: number,
    nodeMemory: number,
    containerTs: fc.oneof(number, fc.constant(0)),
    containerCpu: number,
    containerMemory: number,
    cpuCapacity: fc.option(number, { nil: undefined }),
    memoryCapacity: fc.option(number, { nil: undefined }),
  });
  fc.assert(
    fc.property(fc.array(tick, { minLength: 1, maxLength: 8 }), (ticks) => {
      let now = T0;
      const startedAtMs = T0 - 60_000;
      const store = new TwoPointStore({ resolutionMs: 15_000, now: () => now, startedAtMs });
      let ts = T0;
      for (const k of ticks) {
        ts += k.dtMs;
        now += 10_000;
        const s = nodeScrape({
          node: "n",
          tsS: 0,
          pods: [{ namespace: "ns", name: "p", containers: [{ name: "c", tsS: 0, cpu: 0 }] }],
        });
        s.nodeTimestampMs = ts;
        s.nodeCpuNs = k.nodeCpu;
        s.nodeMemoryBytes = k.nodeMemory;
        s.timestampMs[0] = k.containerTs === 0 ? ts : k.containerTs;
        s.cpuNs[0] = k.containerCpu;
        s.memoryBytes[0] = k.containerMemory;
        if (k.cpuCapacity !== undefined) s.cpuCapacityNanocores = k.cpuCapacity;
        if (k.memoryCapacity !== undefined) s.memoryCapacityBytes = k.memoryCapacity;
        store.store([s]);
        const cpuLimit = (windowMs: number) =>
          Number.isFinite(k.cpuCapacity) && (k.cpuCapacity ?? 0) > 0
            ? cpuRateLimit(k.cpuCapacity ?? 0, windowMs)
            : Number.POSITIVE_INFINITY;
        const memoryLimit =
          Number.isFinite(k.memoryCapacity) && (k.memoryCapacity ?? 0) > 0
            ? (k.memoryCapacity ?? 0)
            : Number.POSITIVE_INFINITY;
        const maxWindow = maxWindowMs(now, startedAtMs, 15_000);
        const [node] = store.getNodeMetrics(["n"]);
        const [pod] = store.getPodMetrics([{ namespace: "ns", name: "p" }]);
        for (const p of [node, pod]) {
          if (p === undefined) continue;
          assert.ok(p.windowMs > 0 && p.windowMs <= maxWindow, `window ${p.windowMs}`);
          assert.ok(p.timestampMs <= now + MAX_CLOCK_SKEW_MS, `timestamp ${p.timestampMs}`);
        }
        const values = [
          ...(node
            ? [{ cpu: node.cpuNanocores, memory: node.memoryBytes, limit: cpuLimit(node.windowMs) }]
            : []),
          ...(pod?.containers.map((c) => ({
            cpu: c.cpuNanocores,
            memory: c.memoryBytes,
            limit: cpuLimit(pod.windowMs),
          })) ?? []),
        ];
        for (const { cpu, memory, limit } of values) {
          assert.ok(Number.isFinite(cpu) && cpu >= 0 && cpu <= limit, `cpu ${cpu} (limit ${limit})`);
          assert.ok(Number.isFinite(memory) && memory >= 0 && memory <= memoryLimit, `memory ${memory}`);
        }
      }
    }),
    { numRuns: 2000 },
  );
});

test("a kubelet clock that goes back and comes forward again: no rate pairs a counter with a wrong time", (t) => {
  captureLogs(t);
  const B = 1000;
  const { store, clock } = clockedStore({ startedS: B });
  const at = (s: number, tsS: number) => {
    clock.nowS = B + s;
    store.store([scrape({ tsS: B + tsS, cpu: s })]);
  };
  // Healthy: 1 core.
  for (const s of [0, 15, 30]) at(s, s);
  assert.equal(served(store).node, 1e9);
  // The clock goes back while the counter runs on: nothing is served.
  for (const [s, tsS] of [
    [45, 15],
    [60, 0],
    [75, -15],
  ] as const) {
    at(s, tsS);
    assert.deepEqual(served(store), { node: undefined, a: undefined, b: undefined }, `at ${s} s`);
  }
  // Back to the right time: the first point pairs with the last good one (ts 30) over 60 s, longer
  // than consecutive scrapes span, so it is not served; the next one is, exact again. (Upstream kept
  // the point of ts -15 as the newest: 90 core-s over 105 s would have been served as 0.14 cores.)
  at(90, 90);
  assert.deepEqual(served(store), { node: undefined, a: undefined, b: undefined });
  at(105, 105);
  assert.deepEqual(served(store), { node: 1e9, a: 0.25e9, b: 0.25e9 });
});

test("one point stamped before the stored ones is not kept as the newest: the next rate stays exact", (t) => {
  captureLogs(t);
  const B = 1000;
  const { store, clock } = clockedStore({ startedS: B });
  const at = (s: number, tsS: number) => {
    clock.nowS = B + s;
    store.store([scrape({ tsS: B + tsS, cpu: s })]);
  };
  for (const s of [0, 15, 30]) at(s, s);
  // One sample stamped 31 s too early (older than both stored points): no rate this tick.
  at(45, 14);
  assert.deepEqual(served(store), { node: undefined, a: undefined, b: undefined });
  // The next one pairs with the last good point (30 s): 20 core-s over 20 s. Upstream keeps the
  // early point as the newest and would serve 5 core-s over 36 s, 0.14 cores.
  at(50, 50);
  assert.deepEqual(served(store), { node: 1e9, a: 0.25e9, b: 0.25e9 });
});
