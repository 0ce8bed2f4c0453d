// The columnar store against a plain model of the two-point rules (docs/metrics-api.md#storage; an
// object per point, Maps keyed by name), over random batch sequences: every read and readiness
// answer must be the same. The model is deliberately naive so that the store's compact layout
// (columns allocated on demand, computed rates, the flat pod index, generations sized per batch) has
// something independent to be checked against.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { captureLogs } from "../../test/support/logs.ts";
import { TIMELESS } from "../../test/support/node-scrapes.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeMetricsPoint, NodeScrape, PodMetricsPoint, PodRef } from "./types.ts";

const T0 = 1_700_000_000_000;
const FRESH_MIN_AGE_MS = 10_000;

interface Point {
  start: number;
  ts: number;
  cpu: number;
  rem: number;
}

interface Entry {
  last: Point;
  prev: Point | undefined;
  memory: number;
  swap: number;
}

const isTime = (v: number): boolean => Number.isFinite(v) && v > 0;
const isStartTime = (v: number): boolean => Number.isFinite(v) && v >= 0;
const isAmount = (v: number): boolean => Number.isFinite(v) && v >= 0;
const swapOf = (v: number | undefined): number => (v !== undefined && isAmount(v) ? v : Number.NaN);

/** The prev point for a new point given the stored entry (not for the fresh-container rule). */
function carriedPrev(old: Entry | undefined, p: Point): Point | undefined {
  if (old === undefined || !(p.start === 0 || p.start < old.last.ts)) return undefined;
  if (p.ts > old.last.ts) return old.last;
  return old.prev !== undefined && old.prev.ts < p.ts ? old.prev : undefined;
}

/** Rate and window between the entry's two points, or undefined when none can be served. */
function usage(e: Entry): { rate: number; window: number } | undefined {
  const { last, prev } = e;
  if (prev === undefined) return undefined;
  const delta = last.cpu - prev.cpu + (last.rem - prev.rem);
  if (last.start !== 0 && prev.start !== 0 && last.start < prev.start) return undefined;
  if (delta < 0) return undefined;
  return { rate: Math.trunc(delta / ((last.ts - prev.ts) / 1000)), window: last.ts - prev.ts };
}

class Model {
  nodes = new Map<string, Entry>();
  /** JSON [namespace, name] → containers sorted by name. */
  pods = new Map<string, { name: string; entry: Entry }[]>();
  readonly resolutionMs: number;

  constructor(resolutionMs: number) {
    this.resolutionMs = resolutionMs;
  }

  store(batch: NodeScrape[]): void {
    const nodes = new Map<string, Entry>();
    const pods = new Map<string, { name: string; entry: Entry }[]>();
    const seen = new Set<string>();
    for (const s of batch) {
      if (seen.has(s.node)) continue;
      seen.add(s.node);
      const ts = s.nodeTimestampMs;
      const last = { start: s.nodeStartTimeMs, ts, cpu: s.nodeCpuNs, rem: s.nodeCpuNsRemainder ?? 0 };
      const valid =
        isTime(ts) &&
        isStartTime(last.start) &&
        isAmount(last.cpu) &&
        Number.isSafeInteger(last.rem) &&
        isAmount(s.nodeMemoryBytes);
      if (ts !== 0 && valid) {
        const prev = carriedPrev(this.nodes.get(s.node), last);
        nodes.set(s.node, { last, prev, memory: s.nodeMemoryBytes, swap: swapOf(s.nodeSwapBytes) });
      }
      let from = 0;
      while (from < s.containerCount) {
        let to = from + 1;
        while (
          to < s.containerCount &&
          s.namespaces[to] === s.namespaces[from] &&
          s.pods[to] === s.pods[from]
        )
          to++;
        this.#storePod(s, from, to, pods);
        from = to;
      }
    }
    this.nodes = nodes;
    this.pods = pods;
  }

  #storePod(s: NodeScrape, from: number, to: number, pods: Model["pods"]): void {
    const [namespace, pod] = [s.namespaces[from], s.pods[from]];
    if (typeof namespace !== "string" || typeof pod !== "string") return;
    const key = JSON.stringify([namespace, pod]);
    if (pods.has(key)) return;
    const rows: { name: string; point: Point; memory: number; swap: number }[] = [];
    for (let i = from; i < to; i++) {
      const point = {
        start: s.startTimeMs[i],
        ts: s.timestampMs[i],
        cpu: s.cpuNs[i],
        rem: s.cpuNsRemainder?.[i] ?? 0,
      };
      const name = s.containers[i];
      const valid =
        typeof name === "string" &&
        isTime(point.ts) &&
        isStartTime(point.start) &&
        isAmount(point.cpu) &&
        Number.isSafeInteger(point.rem) &&
        isAmount(s.memoryBytes[i]);
      if (!valid) return;
      rows.push({ name, point, memory: s.memoryBytes[i], swap: swapOf(s.swapBytes?.[i]) });
    }
    rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const old = this.pods.get(key);
    const containers: { name: string; entry: Entry }[] = [];
    for (const row of rows) {
      if (containers.at(-1)?.name === row.name) continue; // a duplicate: the first one is kept
      const { start, ts } = row.point;
      const age = ts - start;
      const fresh = start !== 0 && start < ts && age >= FRESH_MIN_AGE_MS && age < this.resolutionMs;
      const prev = fresh
        ? { start, ts: start, cpu: 0, rem: 0 }
        : carriedPrev(old?.find((c) => c.name === row.name)?.entry, row.point);
      containers.push({
        name: row.name,
        entry: { last: row.point, prev, memory: row.memory, swap: row.swap },
      });
    }
    pods.set(key, containers);
  }

  node(name: string): NodeMetricsPoint | undefined {
    const e = this.nodes.get(name);
    const u = e === undefined ? undefined : usage(e);
    if (e === undefined || u === undefined) return undefined;
    const point: NodeMetricsPoint = {
      timestampMs: e.last.ts,
      windowMs: u.window,
      cpuNanocores: u.rate,
      memoryBytes: e.memory,
    };
    if (!Number.isNaN(e.swap)) point.swapBytes = e.swap;
    return point;
  }

  pod(ref: PodRef): PodMetricsPoint | undefined {
    const containers = this.pods.get(JSON.stringify([ref.namespace, ref.name]));
    if (containers === undefined || containers.some((c) => c.entry.prev === undefined)) return undefined;
    const served = containers.flatMap(({ name, entry }) => {
      const u = usage(entry);
      return u === undefined ? [] : [{ name, entry, u }];
    });
    if (served.length === 0) return undefined;
    // The earliest timestamp wins; among equal ones, the first by name.
    const earliest = served.reduce((a, b) => (b.entry.last.ts < a.entry.last.ts ? b : a));
    return {
      timestampMs: earliest.entry.last.ts,
      windowMs: earliest.u.window,
      containers: served.map(({ name, entry, u }) => ({
        name,
        cpuNanocores: u.rate,
        memoryBytes: entry.memory,
        ...(Number.isNaN(entry.swap) ? {} : { swapBytes: entry.swap }),
      })),
    };
  }

  nodeReady(): boolean {
    return [...this.nodes.values()].some((e) => e.prev !== undefined);
  }

  podReady(): boolean {
    return [...this.pods.values()].some((cs) => cs.some((c) => c.entry.prev !== undefined));
  }
}

const NODES = ["n0", "n1", "n2"];
// Few names, so that the same pods and containers recur from tick to tick.
const NAMESPACES = ["a", "b"];
const PODS = ["p0", "p1"];
const CONTAINERS = ["c0", "c1", "c2"];

// Times and counters are drawn relative to the tick (tick k is at about T0 + 10·k s, counters grow
// with k), so that steady series, points older than the last or than the prev, counter resets,
// restarts, young containers and start times going from unknown to known (or down) all happen often.
type Drawn = readonly ["rel" | "big" | "abs", number];

const timeArb = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: -12, max: 3 }).map((s): Drawn => ["rel", s * 1000]) },
  { weight: 3, arbitrary: fc.integer({ min: -12, max: 3 }).map((s): Drawn => ["rel", s * 1000 + 0.123456]) },
  { weight: 1, arbitrary: fc.constantFrom<Drawn>(["abs", Number.NaN], ["abs", -5], ["abs", 7]) },
);
/** "rel" here is an age: the start time is that long before the point's timestamp. */
const startArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Drawn>(["abs", 0]) },
  { weight: 10, arbitrary: fc.constantFrom<Drawn>(["abs", T0 + 1000], ["abs", T0 + 2000]) },
  { weight: 3, arbitrary: fc.integer({ min: 5, max: 40 }).map((s): Drawn => ["rel", s * 1000]) },
  { weight: 1, arbitrary: fc.constantFrom<Drawn>(["abs", Number.NaN], ["abs", -1], ["abs", 3]) },
);
const cpuArb = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: -5, max: 20 }).map((c): Drawn => ["rel", c]) },
  // Past 2^53, where the remainders carry the low bits.
  { weight: 3, arbitrary: fc.integer({ min: -5, max: 20 }).map((c): Drawn => ["big", c]) },
  // -0 is a valid amount: with a -0 remainder too, the rate is -0.
  { weight: 1, arbitrary: fc.constantFrom<Drawn>(["abs", -1], ["abs", Number.NaN], ["abs", -0]) },
);
const remArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: -1024, max: 1024 }) },
  { weight: 1, arbitrary: fc.constantFrom(-0, 0.5) },
);
const amountArb = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, Number.NaN) },
);
const swapArb = fc.option(amountArb, { nil: undefined, freq: 3 });
const nameArb = (names: string[]) =>
  fc.oneof(
    { weight: 30, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.constant(7 as unknown as string) },
  );
const containerArb = (name: fc.Arbitrary<string>) =>
  fc.record({
    name,
    start: startArb,
    ts: timeArb,
    cpu: cpuArb,
    rem: remArb,
    memory: amountArb,
    swap: swapArb,
  });
const podArb = fc.record({
  namespace: nameArb(NAMESPACES),
  name: nameArb(PODS),
  containers: fc.array(containerArb(nameArb(CONTAINERS)), { minLength: 1, maxLength: 4 }),
});
const nodeFields = {
  node: fc.constantFrom(...NODES),
  ts: fc.oneof({ weight: 1, arbitrary: fc.constant<Drawn>(["abs", 0]) }, { weight: 8, arbitrary: timeArb }),
  start: startArb,
  cpu: cpuArb,
  rem: fc.option(remArb, { nil: undefined }),
  memory: amountArb,
  swap: swapArb,
  withRemainders: fc.boolean(),
};
const nodeArb = fc.record({ ...nodeFields, pods: fc.array(podArb, { maxLength: 4 }) });
/**
 * The same node, pods and containers in every tick (only their values drawn): the paths that need a
 * container's history over three ticks (a kept prev point, its remainder and start time) come often.
 */
const steadyNodeArb = fc.record({
  ...nodeFields,
  node: fc.constant(NODES[0]),
  pods: fc.tuple(
    ...NAMESPACES.flatMap((namespace) =>
      PODS.map((name) =>
        fc.record({
          namespace: fc.constant(namespace),
          name: fc.constant(name),
          containers: fc.tuple(...CONTAINERS.map((c) => containerArb(fc.constant(c)))),
        }),
      ),
    ),
  ),
});

function timeAt(tick: number, d: Drawn): number {
  return d[0] === "abs" ? d[1] : T0 + (tick + 1) * 10_000 + d[1];
}

function startAt(ts: number, d: Drawn): number {
  return d[0] === "abs" ? d[1] : ts - d[1];
}

/** Nanocore-seconds: 1 core·s per step ("rel"), or from 2^60 on by one double spacing (2^8) a step ("big"). */
function cpuAt(tick: number, d: Drawn): number {
  if (d[0] === "abs") return d[1];
  const steps = Math.max(0, tick * 10 + d[1]);
  return d[0] === "big" ? 2 ** 60 + steps * 2 ** 8 : steps * 1e9;
}

type NodeDesc = typeof nodeArb extends fc.Arbitrary<infer T> ? T : never;

function toScrape(tick: number, d: NodeDesc): NodeScrape {
  const rows = d.pods.flatMap((pod) =>
    pod.containers.map((c) => {
      const ts = timeAt(tick, c.ts);
      return { pod, c, ts, start: startAt(ts, c.start) };
    }),
  );
  const nodeTs = d.ts[0] === "abs" && d.ts[1] === 0 ? 0 : timeAt(tick, d.ts);
  const s: NodeScrape = {
    node: d.node,
    nodeTimestampMs: nodeTs,
    nodeCpuNs: cpuAt(tick, d.cpu),
    nodeMemoryBytes: d.memory,
    nodeStartTimeMs: startAt(nodeTs, d.start),
    containerCount: rows.length,
    namespaces: rows.map((r) => r.pod.namespace),
    pods: rows.map((r) => r.pod.name),
    containers: rows.map((r) => r.c.name),
    startTimeMs: Float64Array.from(rows, (r) => r.start),
    timestampMs: Float64Array.from(rows, (r) => r.ts),
    cpuNs: Float64Array.from(rows, (r) => cpuAt(tick, r.c.cpu)),
    memoryBytes: Float64Array.from(rows, (r) => r.c.memory),
  };
  if (d.rem !== undefined) s.nodeCpuNsRemainder = d.rem;
  if (d.swap !== undefined) s.nodeSwapBytes = d.swap;
  if (d.withRemainders) s.cpuNsRemainder = Float64Array.from(rows, (r) => r.c.rem);
  if (rows.some((r) => r.c.swap !== undefined)) {
    s.swapBytes = Float64Array.from(rows, (r) => r.c.swap ?? Number.NaN);
  }
  return s;
}

const NODE_NAMES = [...NODES, "unknown"];
const POD_REFS: PodRef[] = [...NAMESPACES, "unknown"].flatMap((namespace) =>
  [...PODS, "unknown"].map((name) => ({ namespace, name })),
);

/** Stores each tick's batch in both and compares every read after each tick. */
function agree(descs: NodeDesc[][], resolutionMs: number): void {
  const store = new TwoPointStore({ resolutionMs, ...TIMELESS });
  const model = new Model(resolutionMs);
  for (const [tick, desc] of descs.entries()) {
    const batch = desc.map((d) => toScrape(tick, d));
    store.store(batch);
    model.store(batch);
    // Strict: a -0 where the model has 0 (or a missing swapBytes key) is a difference too.
    assert.deepStrictEqual(
      store.getNodeMetrics(NODE_NAMES),
      NODE_NAMES.map((n) => model.node(n)),
    );
    assert.deepStrictEqual(
      store.getPodMetrics(POD_REFS),
      POD_REFS.map((r) => model.pod(r)),
    );
    assert.equal(store.nodeReady(), model.nodeReady());
    assert.equal(store.podReady(), model.podReady());
  }
}

const resolutionArb = fc.constantFrom(10_000, 30_000, 60_000);

test("property: the store serves what a plain model of the two-point rules serves, tick after tick", (t) => {
  captureLogs(t);
  fc.assert(
    fc.property(
      fc.array(fc.array(nodeArb, { maxLength: 3 }), { minLength: 1, maxLength: 10 }),
      resolutionArb,
      agree,
    ),
    { numRuns: 500 },
  );
});

test("property: the same, for one node whose pods and containers stay from tick to tick", (t) => {
  captureLogs(t);
  fc.assert(
    fc.property(
      fc.array(
        steadyNodeArb.map((d): NodeDesc[] => [d]),
        { minLength: 1, maxLength: 10 },
      ),
      resolutionArb,
      agree,
    ),
    { numRuns: 300 },
  );
});
