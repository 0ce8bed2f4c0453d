// Swap usage in the two-point store: a gauge kept as the newest value beside memory, served on the
// read side as swapBytes, undefined when unknown, and never a reason to skip a point.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { captureLogs } from "../../test/support/logs.ts";
import { nodeScrape } from "../../test/support/node-scrapes.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeScrape } from "./types.ts";

const POD = { namespace: "default", name: "p" };

/** One node with pod default/p: containers a and b, at tsS with cpu = tsS core·s. */
function batch(tsS: number, swap: { node?: number; a?: number; b?: number } = {}): NodeScrape[] {
  return [
    nodeScrape({
      node: "n",
      tsS,
      cpu: tsS,
      memory: 1000,
      swap: swap.node,
      pods: [
        {
          name: "p",
          containers: [
            { name: "a", tsS, cpu: tsS, memory: 100, swap: swap.a },
            { name: "b", tsS, cpu: tsS, memory: 200, swap: swap.b },
          ],
        },
      ],
    }),
  ];
}

function served(store: TwoPointStore) {
  const [node] = store.getNodeMetrics(["n"]);
  const [pod] = store.getPodMetrics([POD]);
  return { node, pod };
}

describe("TwoPointStore: swap", () => {
  test("no swap reported: the points carry no swapBytes property at all", () => {
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store(batch(10));
    store.store(batch(20));
    const { node, pod } = served(store);
    assert.ok(node && pod);
    assert.equal("swapBytes" in node, false);
    for (const c of pod.containers) assert.equal("swapBytes" in c, false);
  });

  test("serves the newest swap of the node and each container; unknown stays undefined", () => {
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store(batch(10, { node: 1, a: 2, b: 3 }));
    store.store(batch(20, { node: 4096, a: 0 }));
    const { node, pod } = served(store);
    assert.equal(node?.swapBytes, 4096);
    assert.deepEqual(
      pod?.containers.map((c) => [c.name, c.swapBytes]),
      [
        ["a", 0],
        ["b", undefined],
      ],
    );
    // Memory and CPU are unaffected by swap.
    assert.equal(node?.memoryBytes, 1000);
    assert.equal(node?.cpuNanocores, 1e9);
  });

  test("swap does not make a point servable before it has a prev (it is not a rate)", () => {
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store(batch(10, { node: 1, a: 2, b: 3 }));
    const { node, pod } = served(store);
    assert.equal(node, undefined);
    assert.equal(pod, undefined);
  });

  test("negative, infinite or non-number swap values are unknown and do not drop the point", (t) => {
    const lines = captureLogs(t);
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store(batch(10));
    const next = batch(20, { node: -1, a: Number.POSITIVE_INFINITY, b: 7 });
    (next[0] as { nodeSwapBytes: unknown }).nodeSwapBytes = "12";
    store.store(next);
    const { node, pod } = served(store);
    assert.ok(node && pod);
    assert.equal(node.swapBytes, undefined);
    assert.deepEqual(
      pod.containers.map((c) => [c.name, c.swapBytes]),
      [
        ["a", undefined],
        ["b", 7],
      ],
    );
    assert.deepEqual(lines, []);
  });

  test("a swap column that is not an array makes the scrape malformed (logged, skipped)", (t) => {
    const lines = captureLogs(t);
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    const bad = batch(10);
    (bad[0] as { swapBytes: unknown }).swapBytes = 5;
    store.store(bad);
    assert.ok(lines.some((l) => l.includes('"Skipping malformed node scrape" node="n"')));
  });

  test("a short swap column limits the usable containers like any other column", (t) => {
    captureLogs(t);
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    const shorten = (b: NodeScrape[]) => {
      b[0].swapBytes = new Float64Array([5]);
      return b;
    };
    store.store(shorten(batch(10)));
    store.store(shorten(batch(20)));
    const { pod } = served(store);
    assert.deepEqual(
      pod?.containers.map((c) => [c.name, c.swapBytes]),
      [["a", 5]],
    );
  });

  test("reused generations never leak an old swap value into a scrape without swap", () => {
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store(batch(10, { node: 1, a: 2, b: 3 }));
    store.store(batch(20, { node: 4, a: 5, b: 6 }));
    store.store(batch(30));
    store.store(batch(40));
    const { node, pod } = served(store);
    assert.equal(node?.swapBytes, undefined);
    assert.deepEqual(
      pod?.containers.map((c) => c.swapBytes),
      [undefined, undefined],
    );
  });

  test("property: the served swap is always the newest stored value (or undefined when unknown)", () => {
    const swapValue = fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined });
    const tick = fc.record({ node: swapValue, a: swapValue, b: swapValue });
    fc.assert(
      fc.property(fc.array(tick, { minLength: 2, maxLength: 8 }), (ticks) => {
        const store = new TwoPointStore({ resolutionMs: 60_000 });
        ticks.forEach((swap, i) => {
          store.store(batch(10 * (i + 1), swap));
          if (i === 0) return;
          const { node, pod } = served(store);
          assert.equal(node?.swapBytes, swap.node);
          assert.deepEqual(
            pod?.containers.map((c) => c.swapBytes),
            [swap.a, swap.b],
          );
        });
      }),
      { numRuns: 200 },
    );
  });
});
