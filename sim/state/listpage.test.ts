// Lists cost O(page), not O(all objects), at 5,000 nodes: pages found by binary search over the sorted keys.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { SimPod } from "../types.ts";
import { Cluster } from "./cluster.ts";
import type { KubeObject } from "./resources.ts";
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
