// The generation's compact layout: columns allocated only once a value needs them (CPU remainders,
// swap, the prev start time), a generation sized anew for every batch, and the flat pod index.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { captureLogs } from "../../test/support/logs.ts";
import { nodeScrape } from "../../test/support/node-scrapes.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeScrape, PodRef } from "./types.ts";

const POD1 = { namespace: "ns1", name: "pod1" };

/** Splits an exact uint64 counter the way the Summary decoder does. */
function split(counter: bigint): [number, number] {
  const approx = Number(counter);
  return [approx, Number(counter - BigInt(approx))];
}

/**
 * ns1/pod1 with one container c1 at `tsS` with an exact counter; the remainder column is left out
 * when `withRemainders` is false (the counter must then be a double exactly).
 */
function counterBatch(tsS: number, counter: bigint, withRemainders: boolean): NodeScrape[] {
  const [cpu, rem] = split(counter);
  const s = nodeScrape({
    node: "node1",
    pods: [{ namespace: "ns1", name: "pod1", containers: [{ name: "c1", tsS, cpu: 0 }] }],
  });
  s.cpuNs[0] = cpu;
  if (withRemainders) s.cpuNsRemainder = Float64Array.of(rem);
  else assert.equal(rem, 0, "a counter stored without remainders must be a double");
  return [s];
}

function podRate(store: TwoPointStore): number | undefined {
  return store.getPodMetrics([POD1])[0]?.containers[0]?.cpuNanocores;
}

describe("TwoPointStore columns allocated only when needed", () => {
  test("remainders appearing after batches without them, then gone again, keep rates exact", (t) => {
    captureLogs(t);
    const c0 = BigInt(Number(18_446_744_000_000_000_000n)); // a double: needs no remainder
    const c1 = c0 + 30_000_000_001n; // 2 cores for 15 s plus 1 ns that doubles cannot see
    const c2 = BigInt(Number(c1 + 30_000_000_000n)); // a double again
    assert.notEqual(split(c1)[1], 0);
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store(counterBatch(0, c0, false));
    store.store(counterBatch(15, c1, true));
    assert.equal(podRate(store), Number((c1 - c0) / 15n));
    // The prev point now is the one with a remainder, the new one has none.
    store.store(counterBatch(30, c2, false));
    assert.equal(podRate(store), Number((c2 - c1) / 15n));
    // Proof that the prev remainder matters: the doubles alone give another rate.
    assert.notEqual(Math.trunc((Number(c2) - Number(c1)) / 15), Number((c2 - c1) / 15n));
  });

  test("a prev point kept for a point older than the last keeps its remainder", (t) => {
    captureLogs(t);
    const c0 = 18_446_744_000_000_000_123n;
    const c2 = c0 + 50_000_000_003n; // the newest scrape, at 20 s
    const c1 = c0 + 25_000_000_001n; // scraped at 10 s but arriving after c2's point
    assert.ok(split(c0)[1] !== 0 && split(c1)[1] !== 0);
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store(counterBatch(0, c0, true));
    store.store(counterBatch(20, c2, true));
    // Not newer than the last point (20 s) but newer than the prev (0 s): served against the prev.
    store.store(counterBatch(10, c1, true));
    assert.equal(podRate(store), Number((c1 - c0) / 10n));
    assert.notEqual(Math.trunc((Number(c1) - Number(c0)) / 10), Number((c1 - c0) / 10n));
  });

  test("a -0 remainder is kept as such: with -0 counters it decides the sign of a zero rate", (t) => {
    captureLogs(t);
    const batch = (tsS: number, cpu: number, rem: number): NodeScrape[] => {
      const [s] = counterBatch(tsS, 0n, false);
      s.cpuNs[0] = cpu;
      s.cpuNsRemainder = Float64Array.of(rem);
      return [s];
    };
    const rate = (first: number, second: number): number | undefined => {
      const store = new TwoPointStore({ resolutionMs: 60_000 });
      store.store(batch(10, 0, first));
      store.store(batch(20, -0, second));
      return podRate(store);
    };
    // (−0 − 0) + (−0 − 0) = −0: the last remainder read back as +0 would give 0.
    assert.ok(Object.is(rate(0, -0), -0));
    // (−0 − 0) + (−0 − −0) = 0: the prev remainder read back as +0 would give −0.
    assert.ok(Object.is(rate(-0, -0), 0));
  });

  test("swap appearing later for some containers only: the others stay unknown", () => {
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    const batch = (tsS: number, swaps: (number | undefined)[]): NodeScrape[] => [
      nodeScrape({
        node: "node1",
        pods: [
          {
            namespace: "ns1",
            name: "pod1",
            containers: swaps.map((swap, i) => ({ name: `c${i}`, tsS, cpu: tsS, swap })),
          },
        ],
      }),
    ];
    const served = (): (number | undefined)[] | undefined =>
      store.getPodMetrics([POD1])[0]?.containers.map((c) => c.swapBytes);
    store.store(batch(10, [undefined, undefined, undefined]));
    // The swap column starts at the second container: the first must not read as 0.
    store.store(batch(20, [undefined, 5, undefined]));
    assert.deepEqual(served(), [undefined, 5, undefined]);
    store.store(batch(30, [undefined, undefined, undefined]));
    assert.deepEqual(served(), [undefined, undefined, undefined]);
    store.store(batch(40, [0, undefined, 7]));
    assert.deepEqual(served(), [0, undefined, 7]);
  });

  test("a prev start time column begun mid-batch keeps the earlier containers' prev start times", (t) => {
    const lines = captureLogs(t);
    // A resolution of 10 s: no container is ever young enough for the fresh-container rule.
    const store = new TwoPointStore({ resolutionMs: 10_000 });
    const batch = (a: { startS: number; tsS: number }, b: { startS?: number; tsS: number }): NodeScrape[] => [
      nodeScrape({
        node: "node1",
        pods: [
          {
            namespace: "ns1",
            name: "a",
            containers: [{ name: "c", startS: a.startS, tsS: a.tsS, cpu: a.tsS }],
          },
          {
            namespace: "ns1",
            name: "b",
            containers: [{ name: "c", startS: b.startS, tsS: b.tsS, cpu: b.tsS }],
          },
        ],
      }),
    ];
    store.store(batch({ startS: 5, tsS: 10 }, { tsS: 10 }));
    // a: prev = the point at 10 s, same start time as now. b: its start time becomes known, so
    // its prev start (unknown) differs from its last: the column begins at b, after a.
    store.store(batch({ startS: 5, tsS: 30 }, { startS: 5, tsS: 30 }));
    assert.ok(store.getPodMetrics([{ namespace: "ns1", name: "a" }])[0]);
    // a's new point (20 s) is older than its last (30 s), so its prev (10 s, started at 5 s) is kept;
    // its start time went down to 1 s: an error, which needs a's prev start from the column.
    store.store(batch({ startS: 1, tsS: 20 }, { startS: 5, tsS: 40 }));
    assert.deepEqual(store.getPodMetrics([{ namespace: "ns1", name: "a" }]), [undefined]);
    assert.ok(lines.some((l) => l.includes("unexpected decrease in startTime") && l.includes('pod="ns1/a"')));
    assert.ok(store.getPodMetrics([{ namespace: "ns1", name: "b" }])[0]);
  });
});

/** `nodes` nodes with `pods` single-container pods each, all at `tsS`; pod p of node n uses n + p core·s. */
function grid(nodes: number, pods: number, tsS: number): NodeScrape[] {
  return Array.from({ length: nodes }, (_, n) =>
    nodeScrape({
      node: `node-${n}`,
      tsS,
      cpu: tsS,
      pods: Array.from({ length: pods }, (_, p) => ({
        namespace: `ns-${p % 3}`,
        name: `pod-${n}-${p}`,
        containers: [{ name: "c", tsS, cpu: (tsS / 10) * (n + p) }],
      })),
    }),
  );
}

describe("TwoPointStore generations sized per batch", () => {
  test("a batch growing and shrinking between ticks serves what is in both of two ticks", () => {
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    const refs = (nodes: number, pods: number): PodRef[] =>
      Array.from({ length: nodes * pods }, (_, i) => ({
        namespace: `ns-${(i % pods) % 3}`,
        name: `pod-${Math.floor(i / pods)}-${i % pods}`,
      }));
    store.store(grid(1, 2, 10));
    store.store(grid(300, 5, 20));
    const grown = store.getPodMetrics(refs(300, 5));
    // Only node-0's first two pods were in the previous batch.
    assert.deepEqual(
      grown.map((p, i) => (p === undefined ? undefined : i)).filter((i) => i !== undefined),
      [0, 1],
    );
    assert.equal(grown[1]?.containers[0].cpuNanocores, 1e8); // (2 − 1) core·s over 10 s
    assert.equal(store.getNodeMetrics(["node-299"])[0], undefined);

    store.store(grid(300, 5, 30));
    const full = store.getPodMetrics(refs(300, 5));
    assert.ok(full.every((p) => p !== undefined));
    // Node 299, pod 4: (299 + 4) core·s more over 10 s.
    assert.equal(full[299 * 5 + 4]?.containers[0].cpuNanocores, 303e8);
    assert.equal(store.getNodeMetrics(["node-299"])[0]?.cpuNanocores, 1e9);

    store.store(grid(1, 2, 40));
    assert.deepEqual(
      store.getPodMetrics(refs(2, 5)).map((p) => p !== undefined),
      [true, true, false, false, false, false, false, false, false, false],
    );
    // The pods that vanished start again from one point.
    store.store(grid(300, 5, 50));
    assert.equal(store.getPodMetrics(refs(300, 5)).filter((p) => p !== undefined).length, 2);
  });

  test("thousands of pods sharing names across namespaces are each found under their own namespace", () => {
    const namespaces = Array.from({ length: 40 }, (_, i) => `team-${i}`);
    const names = Array.from({ length: 100 }, (_, i) => `web-${i}`);
    // Only some (namespace, name) pairs exist, so a name stored elsewhere must not be found here.
    const stored = (ns: number, name: number): boolean => (ns + name) % 3 !== 0;
    const batch = (tsS: number): NodeScrape[] =>
      namespaces.map((namespace, ns) =>
        nodeScrape({
          node: `node-${ns}`,
          pods: names
            .filter((_, name) => stored(ns, name))
            .map((name) => ({ namespace, name, containers: [{ name: "c", tsS, cpu: 0 }] })),
        }),
      );
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store(batch(10));
    // The second batch gives each pod a distinct rate: ns * 1000 + name millicores.
    const second = batch(20);
    second.forEach((s, ns) => {
      for (let i = 0; i < s.containerCount; i++) {
        const name = Number(s.pods[i].slice("web-".length));
        s.cpuNs[i] = (ns * 1000 + name) * 1e7; // over 10 s
      }
    });
    store.store(second);
    const refs = namespaces.flatMap((namespace) => names.map((name) => ({ namespace, name })));
    const served = store.getPodMetrics(refs);
    refs.forEach((ref, i) => {
      const ns = Math.floor(i / names.length);
      const name = i % names.length;
      const expected = stored(ns, name) ? (ns * 1000 + name) * 1e6 : undefined;
      assert.equal(served[i]?.containers[0].cpuNanocores, expected, `${ref.namespace}/${ref.name}`);
    });
    assert.deepEqual(store.getPodMetrics([{ namespace: "team-999", name: "web-1" }]), [undefined]);
  });
});
