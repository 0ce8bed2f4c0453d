import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { PodCompactor } from "./informers.ts";
import { LabelIndex, type LabelMap } from "./label-index.ts";
import { parseLabelSelector } from "./label-selector.ts";
import type { PartialObjectMetadata } from "./types.ts";

function key(o: PartialObjectMetadata): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

function keys(objects: readonly PartialObjectMetadata[]): string[] {
  return objects.map(key).sort();
}

describe("LabelIndex", () => {
  test("judges each shared label map once per namespace and returns all of its objects", () => {
    const compactor = new PodCompactor();
    const web = { app: "web", "pod-template-hash": "1" };
    const pods = [
      compactor.compact({ metadata: { name: "w1", namespace: "a", labels: { ...web } } }),
      compactor.compact({ metadata: { name: "w2", namespace: "a", labels: { ...web } } }),
      compactor.compact({ metadata: { name: "w3", namespace: "b", labels: { ...web } } }),
      compactor.compact({ metadata: { name: "db", namespace: "a", labels: { app: "db" } } }),
      compactor.compact({ metadata: { name: "bare", namespace: "a" } }),
    ];
    const index = LabelIndex.from(pods);
    assert.deepEqual(index.stats, { namespaces: 2, groups: 4, objects: 5 });

    const judged: (LabelMap | undefined)[] = [];
    const selector = parseLabelSelector("app=web");
    const picked = index.selectNamespace("a", (labels) => {
      judged.push(labels);
      return selector.matches(labels);
    });
    assert.deepEqual(keys(picked), ["a/w1", "a/w2"]);
    assert.equal(judged.length, 3, "web, db and no labels: one call each");
    assert.deepEqual(keys(index.selectAll((l) => selector.matches(l))), ["a/w1", "a/w2", "b/w3"]);
    assert.deepEqual(keys(index.selectNamespace("a", (l) => l === undefined)), ["a/bare"]);
    assert.deepEqual(
      index.selectNamespace("nowhere", () => true),
      [],
    );
  });

  test("empties as objects leave, and removing something never added changes nothing", () => {
    const labels = Object.freeze({ app: "x" });
    const p1 = { metadata: { name: "p1", namespace: "a", labels } };
    const p2 = { metadata: { name: "p2", namespace: "a", labels } };
    const cluster = { metadata: { name: "n1" } };
    const index = new LabelIndex<PartialObjectMetadata>();
    index.add(p1);
    index.add(p1);
    index.add(p2);
    index.add(cluster);
    assert.deepEqual(index.stats, { namespaces: 2, groups: 2, objects: 3 }, "an object is filed once");
    assert.deepEqual(keys(index.selectAll(() => true)), ["/n1", "a/p1", "a/p2"], "cluster-scoped included");
    assert.equal(index.remove({ metadata: { name: "p1", namespace: "a", labels } }), false, "a lookalike");
    assert.equal(index.remove({ metadata: { name: "zz", namespace: "q" } }), false);
    assert.equal(index.remove(p1), true);
    assert.equal(index.remove(p1), false);
    assert.deepEqual(index.stats, { namespaces: 2, groups: 2, objects: 2 });
    index.remove(p2);
    index.remove(cluster);
    assert.deepEqual(index.stats, { namespaces: 0, groups: 0, objects: 0 });
  });

  // The same answers as a scan over a plain map, through any sequence of adds, label changes and
  // deletes, with the label maps shared the way the pod cache shares them.
  test("property: selectNamespace/selectAll equal a scan after random add/update/delete", () => {
    const labelKeys = ["app", "tier", "env"];
    const labelValues = ["a", "b", "c"];
    const arbLabels = fc.option(
      fc.dictionary(fc.constantFrom(...labelKeys), fc.constantFrom(...labelValues), { maxKeys: 3 }),
      { nil: undefined },
    );
    const arbOp = fc.record({
      remove: fc.boolean(),
      namespace: fc.constantFrom("ns1", "ns2", "ns3", undefined),
      name: fc.constantFrom("p1", "p2", "p3", "p4", "p5"),
      labels: arbLabels,
    });
    const arbRequirement = fc.oneof(
      fc.tuple(fc.constantFrom(...labelKeys), fc.constantFrom(...labelValues)).map(([k, v]) => `${k}=${v}`),
      fc.tuple(fc.constantFrom(...labelKeys), fc.constantFrom(...labelValues)).map(([k, v]) => `${k}!=${v}`),
      fc.constantFrom(...labelKeys).map((k) => `!${k}`),
      fc.constantFrom(...labelKeys),
      fc
        .tuple(fc.constantFrom(...labelKeys), fc.subarray(labelValues, { minLength: 1 }))
        .map(([k, vs]) => `${k} notin (${vs.join(",")})`),
      fc
        .tuple(fc.constantFrom(...labelKeys), fc.subarray(labelValues, { minLength: 1 }))
        .map(([k, vs]) => `${k} in (${vs.join(",")})`),
    );
    const arbSelector = fc.array(arbRequirement, { maxLength: 3 }).map((rs) => rs.join(","));

    fc.assert(
      fc.property(
        fc.array(arbOp, { maxLength: 40 }),
        fc.array(arbSelector, { minLength: 1 }),
        (ops, sels) => {
          const compactor = new PodCompactor();
          const cache = new Map<string, PartialObjectMetadata>();
          const index = new LabelIndex<PartialObjectMetadata>();
          for (const op of ops) {
            const id = `${op.namespace ?? ""}/${op.name}`;
            const previous = cache.get(id);
            if (previous !== undefined) {
              assert.ok(index.remove(previous));
              compactor.release(previous);
              cache.delete(id);
            }
            if (op.remove) continue;
            const meta = { name: op.name, namespace: op.namespace, labels: op.labels };
            const stored = compactor.compact({ metadata: meta });
            cache.set(id, stored);
            index.add(stored);
          }
          const all = [...cache.values()];
          assert.equal(index.stats.objects, all.length);
          // One group per namespace and distinct label map: the interner shares equal maps.
          const distinct = new Set(
            all.map((o) => `${o.metadata.namespace}|${JSON.stringify(o.metadata.labels)}`),
          );
          assert.equal(index.stats.groups, distinct.size);
          // A relist builds the same thing from scratch.
          const rebuilt = LabelIndex.from(all);
          for (const text of sels) {
            const selector = parseLabelSelector(text);
            const matches = (l: LabelMap | undefined) => selector.matches(l);
            const want = keys(all.filter((o) => selector.matches(o.metadata.labels)));
            assert.deepEqual(keys(index.selectAll(matches)), want, `all, ${JSON.stringify(text)}`);
            assert.deepEqual(keys(rebuilt.selectAll(matches)), want);
            for (const ns of ["ns1", "ns2", "ns3"]) {
              const wantNs = want.filter((k) => k.startsWith(`${ns}/`));
              assert.deepEqual(
                keys(index.selectNamespace(ns, matches)),
                wantNs,
                `${ns}, ${JSON.stringify(text)}`,
              );
            }
          }
          for (const o of all) index.remove(o);
          assert.deepEqual(index.stats, { namespaces: 0, groups: 0, objects: 0 });
        },
      ),
      { numRuns: 300 },
    );
  });
});
