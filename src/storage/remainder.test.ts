// Exact CPU deltas for counters past 2^53 (Summary API): the store keeps each counter as
// (nearest double, small remainder) and must compute rates and detect resets on the exact pair.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { captureLogs } from "../../test/support/logs.ts";
import { nodeScrape, TIMELESS } from "../../test/support/node-scrapes.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeScrape } from "./types.ts";

/** Splits an exact uint64 counter the way the Summary decoder does. */
function split(counter: bigint): [number, number] {
  const approx = Number(counter);
  return [approx, Number(counter - BigInt(approx))];
}

/** node1 + pod ns1/pod1 container c1, both with the same exact counter, at `tsS` seconds. */
function batch(tsS: number, counter: bigint): NodeScrape[] {
  const [cpu, rem] = split(counter);
  const s = nodeScrape({
    node: "node1",
    tsS,
    memory: 1,
    pods: [{ namespace: "ns1", name: "pod1", containers: [{ name: "c1", tsS, cpu: 0 }] }],
  });
  s.nodeCpuNs = cpu;
  s.nodeCpuNsRemainder = rem;
  s.cpuNs[0] = cpu;
  s.cpuNsRemainder = Float64Array.of(rem);
  return [s];
}

function rates(store: TwoPointStore): [number | undefined, number | undefined] {
  const [node] = store.getNodeMetrics(["node1"]);
  const [pod] = store.getPodMetrics([{ namespace: "ns1", name: "pod1" }]);
  return [node?.cpuNanocores, pod?.containers[0]?.cpuNanocores];
}

function exactRate(c0: bigint, c1: bigint, windowS: number): number {
  return Number((c1 - c0) / BigInt(windowS));
}

describe("TwoPointStore with counter remainders", () => {
  test("the rate between two counters near 2^64 is exact", (t) => {
    captureLogs(t);
    const c0 = 18_446_744_000_000_000_123n;
    const c1 = c0 + 37_500_001_001n; // 2.5 cores for 15 s, plus 1001 ns that doubles cannot see
    const store = new TwoPointStore({ resolutionMs: 60_000, ...TIMELESS });
    store.store(batch(0, c0));
    store.store(batch(15, c1));
    const expected = exactRate(c0, c1, 15);
    assert.deepEqual(rates(store), [expected, expected]);
    // Proof that the remainders matter: the doubles alone give another rate.
    assert.notEqual(Math.trunc((Number(c1) - Number(c0)) / 15), expected);
  });

  test("a counter that went down by less than a double's spacing is a reset", (t) => {
    const lines = captureLogs(t);
    const c0 = 18_446_744_000_000_000_123n;
    const c1 = c0 - 3n; // same nearest double, smaller remainder
    assert.equal(Number(c0), Number(c1));
    const store = new TwoPointStore({ resolutionMs: 60_000, ...TIMELESS });
    store.store(batch(0, c0));
    store.store(batch(15, c1));
    assert.deepEqual(rates(store), [undefined, undefined]);
    assert.ok(lines.some((l) => l.includes('"Skipping node usage metric"')));
    assert.ok(lines.some((l) => l.includes('"Skipping container usage metric"')));
  });

  test("a missing remainder column counts as zeros", (t) => {
    captureLogs(t);
    const store = new TwoPointStore({ resolutionMs: 60_000, ...TIMELESS });
    const first = nodeScrape({
      node: "node1",
      tsS: 0,
      cpu: 10,
      memory: 1,
      pods: [{ namespace: "ns1", name: "pod1", containers: [{ name: "c1", tsS: 0, cpu: 10 }] }],
    });
    const second = nodeScrape({
      node: "node1",
      tsS: 10,
      cpu: 20,
      memory: 1,
      pods: [{ namespace: "ns1", name: "pod1", containers: [{ name: "c1", tsS: 10, cpu: 20 }] }],
    });
    second.nodeCpuNsRemainder = 5;
    second.cpuNsRemainder = Float64Array.of(7);
    store.store([first]);
    store.store([second]);
    assert.deepEqual(rates(store), [1_000_000_000, 1_000_000_000]);
  });

  test("a non-integer remainder makes the point invalid, not the batch", (t) => {
    const lines = captureLogs(t);
    const store = new TwoPointStore({ resolutionMs: 60_000, ...TIMELESS });
    const bad = batch(0, 5n)[0];
    bad.nodeCpuNsRemainder = 0.5;
    bad.cpuNsRemainder = Float64Array.of(Number.NaN);
    store.store([bad]);
    assert.ok(lines.some((l) => l.includes('"Skipping invalid node metrics point"')));
    assert.ok(lines.some((l) => l.includes('"Skipping invalid pod metrics point"')));
  });

  test("property: rates from split uint64 counters equal BigInt arithmetic", (t) => {
    captureLogs(t);
    const uint64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n - (1n << 40n) });
    fc.assert(
      fc.property(
        uint64,
        fc.bigInt({ min: 0n, max: 1n << 40n }),
        fc.integer({ min: 1, max: 120 }),
        (c0, d, w) => {
          const store = new TwoPointStore({ resolutionMs: 60_000, ...TIMELESS });
          store.store(batch(0, c0));
          store.store(batch(w, c0 + d));
          const expected = exactRate(c0, c0 + d, w);
          // The delta is exact and below 2^53, and a quotient by a window of <= 120 s is never within
          // rounding distance of the next integer, so trunc(delta / w) is integer division exactly.
          assert.deepEqual(rates(store), [expected, expected]);
        },
      ),
    );
  });
});
