// getListPodMetrics (a list's pods read in batches, slots remembered per list) against
// getPodMetrics (each pod looked up), across ticks that move pods between slots.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { nodeScrape, type PodDesc } from "../../test/support/node-scrapes.ts";
import { TwoPointStore } from "./store.ts";
import type { PodObject } from "./types.ts";

const NODES = 12;
const PODS_PER_NODE = 60; // 720 pods: past the length from which the store keeps slot hints

function podOf(n: number, p: number): { namespace: string; name: string } {
  return { namespace: `ns-${(n * 7 + p) % 3}`, name: `pod-${n}-${p}` };
}

/** One tick: the nodes scraped, in this order, each without the pods it drops. */
interface Tick {
  order: number[];
  dropped: Set<number>[];
}

const tick: fc.Arbitrary<Tick> = fc.record({
  order: fc.shuffledSubarray(
    Array.from({ length: NODES }, (_, n) => n),
    { minLength: 0, maxLength: NODES },
  ),
  dropped: fc.array(
    fc.uniqueArray(fc.integer({ min: 0, max: PODS_PER_NODE - 1 }), { maxLength: 5 }).map((a) => new Set(a)),
    { minLength: NODES, maxLength: NODES },
  ),
});

function store(s: TwoPointStore, t: Tick, tsS: number): void {
  s.store(
    t.order.map((n) => {
      const pods: PodDesc[] = [];
      for (let p = 0; p < PODS_PER_NODE; p++) {
        if (t.dropped[n].has(p)) continue;
        pods.push({ ...podOf(n, p), containers: [{ name: "c", tsS, cpu: tsS * (1 + (p % 3)) }] });
      }
      return nodeScrape({ node: `node-${n}`, tsS, cpu: tsS, memory: 1, pods });
    }),
  );
}

test("property: a list read in batches, tick after tick, gives each pod's own lookup", () => {
  // The list as the reflector's cache holds it: other string instances than the scrapes', sorted
  // by namespace then name, with pods no kubelet reports.
  const refs = [];
  for (let n = 0; n < NODES; n++) for (let p = 0; p < PODS_PER_NODE; p++) refs.push(podOf(n, p));
  refs.push({ namespace: "ns-0", name: "never-scraped" }, { namespace: "elsewhere", name: "pod-0-0" });
  const list: PodObject[] = JSON.parse(JSON.stringify(refs))
    .map((r: { namespace: string; name: string }) => ({ metadata: r }))
    .sort((a: PodObject, b: PodObject) => {
      const x = `${a.metadata.namespace}/${a.metadata.name}`;
      const y = `${b.metadata.namespace}/${b.metadata.name}`;
      return x < y ? -1 : x > y ? 1 : 0;
    });
  const sortedRefs = list.map((o) => ({ namespace: o.metadata.namespace ?? "", name: o.metadata.name }));
  fc.assert(
    fc.property(
      fc.array(tick, { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 1, max: 300 }),
      (ticks, per) => {
        const s = new TwoPointStore({ resolutionMs: 10_000 });
        ticks.forEach((t, i) => {
          store(s, t, 10 * (i + 1));
          const expected = s.getPodMetrics(sortedRefs);
          // Twice: the second read goes by the slots the first remembered.
          for (let round = 0; round < 2; round++) {
            const got = [];
            for (let from = 0; from < list.length; from += per)
              got.push(...s.getListPodMetrics(list, from, Math.min(list.length, from + per)));
            assert.deepEqual(got, expected);
          }
        });
      },
    ),
    { numRuns: 40 },
  );
});

test("a short list, a range past the end and malformed entries read as no metrics", () => {
  const s = new TwoPointStore({ resolutionMs: 10_000 });
  const pods = [{ name: "p", containers: [{ name: "c", tsS: 10, cpu: 1 }] }];
  s.store([nodeScrape({ node: "n", tsS: 10, cpu: 1, pods })]);
  s.store([
    nodeScrape({
      node: "n",
      tsS: 20,
      cpu: 2,
      pods: [{ ...pods[0], containers: [{ name: "c", tsS: 20, cpu: 2 }] }],
    }),
  ]);
  const list = [
    { metadata: { namespace: "default", name: "p" } },
    { metadata: { name: "p" } },
    null,
    { metadata: { namespace: "default", name: 7 } },
  ] as unknown as PodObject[];
  const got = s.getListPodMetrics(list, 0, 10);
  assert.equal(got.length, 4);
  assert.equal(got[0]?.containers[0].cpuNanocores, 1e8);
  assert.deepEqual(got.slice(1), [undefined, undefined, undefined]);
  assert.deepEqual(s.getListPodMetrics("x" as unknown as PodObject[], 0, 1), []);
});
