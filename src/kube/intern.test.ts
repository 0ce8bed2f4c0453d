import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CompactPod, PodCompactor } from "./informers.ts";
import { MetadataInterner, RefCountedTable } from "./intern.ts";

test("RefCountedTable: one value per key, forgotten with the last release", () => {
  const table = new RefCountedTable<{ k: string }>();
  let made = 0;
  const make = (k: string) => {
    made++;
    return { k };
  };
  const a = table.acquire("x", make);
  const b = table.acquire("x", make);
  assert.equal(a, b);
  assert.equal(made, 1);
  assert.equal(table.refs("x"), 2);
  assert.equal(table.release("x"), undefined, "still held once");
  assert.equal(table.release("x"), a, "the last release returns the value");
  assert.equal(table.size, 0);
  assert.equal(table.release("x"), undefined, "an extra release is harmless");
  assert.notEqual(table.acquire("x", make), a, "made again after it was forgotten");
});

test("equal label maps are one shared frozen object; strings inside are shared too", () => {
  const interner = new MetadataInterner();
  const a = interner.acquireLabels(JSON.parse('{"app":"web","pod-template-hash":"abc"}'));
  const b = interner.acquireLabels(JSON.parse('{"app":"web","pod-template-hash":"abc"}'));
  const c = interner.acquireLabels(JSON.parse('{"app":"web","pod-template-hash":"def"}'));
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.deepEqual(a, { app: "web", "pod-template-hash": "abc" });
  assert.ok(Object.isFrozen(a));
  assert.throws(() => {
    (a as Record<string, string>).app = "x";
  }, TypeError);
  // "app", "web", "pod-template-hash", "abc", "def"
  assert.deepEqual(interner.stats, { strings: 5, labelSets: 2 });
  interner.releaseLabels(a);
  assert.deepEqual(interner.stats, { strings: 5, labelSets: 2 }, "b still holds the map");
  interner.releaseLabels(b);
  assert.deepEqual(interner.stats, { strings: 4, labelSets: 1 }, '"abc" went with its map');
  interner.releaseLabels(c);
  assert.deepEqual(interner.stats, { strings: 0, labelSets: 0 });
});

test("labels: none, junk and hostile keys", () => {
  const interner = new MetadataInterner();
  assert.equal(interner.acquireLabels(undefined), undefined);
  assert.equal(interner.acquireLabels(null), undefined);
  assert.equal(interner.acquireLabels("app=web"), undefined);
  assert.equal(interner.acquireLabels(["a"]), undefined);
  assert.equal(interner.acquireLabels({}), undefined);
  assert.equal(interner.acquireLabels({ n: 1, o: {} }), undefined, "no string values at all");
  assert.deepEqual(interner.acquireLabels({ a: "1", n: 2, o: null }), { a: "1" }, "non-strings dropped");
  const proto = interner.acquireLabels(JSON.parse('{"__proto__":"x","a":"b"}'));
  assert.deepEqual(Object.keys(proto ?? {}), ["__proto__", "a"]);
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, "a label, not a prototype");
  // Pairs that would run together without length prefixes stay distinct.
  const x = interner.acquireLabels({ ab: "c" });
  const y = interner.acquireLabels({ a: "bc" });
  assert.notEqual(x, y);
  assert.deepEqual(y, { a: "bc" });
});

test("property: any acquire/release order leaves maps equal to their input and the tables empty at the end", () => {
  const labelMap = fc.dictionary(
    fc.constantFrom("app", "tier", "pod-template-hash", "k:1", ""),
    fc.string({ maxLength: 4 }),
    {
      maxKeys: 4,
    },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(labelMap, fc.boolean()), { maxLength: 40 }), (steps) => {
      const interner = new MetadataInterner();
      const held: ReturnType<MetadataInterner["acquireLabels"]>[] = [];
      for (const [raw, releaseOne] of steps) {
        const shared = interner.acquireLabels(raw);
        if (Object.keys(raw).length === 0) assert.equal(shared, undefined);
        else assert.deepEqual({ ...shared }, { ...raw });
        held.push(shared);
        if (releaseOne && held.length > 1) interner.releaseLabels(held.shift());
      }
      // Every distinct live map is one object.
      const bySignature = new Map<string, unknown>();
      for (const h of held) {
        if (h === undefined) continue;
        const key = JSON.stringify(Object.entries(h));
        const seen = bySignature.get(key);
        if (seen !== undefined) assert.equal(h, seen);
        bySignature.set(key, h);
      }
      for (const h of held) interner.releaseLabels(h);
      assert.deepEqual(interner.stats, { strings: 0, labelSets: 0 });
    }),
  );
});

test("PodCompactor: one frozen object per pod that is its own metadata; namespaces and labels shared", () => {
  const compactor = new PodCompactor();
  const raw = (name: string) =>
    JSON.parse(
      `{"kind":"PartialObjectMetadata","metadata":{"name":"${name}","namespace":"team-a","uid":"u-${name}",` +
        `"resourceVersion":"9","creationTimestamp":"2024-01-01T00:00:00Z","annotations":{"a":"b"},` +
        `"labels":{"app":"web","pod-template-hash":"5d8f"},"ownerReferences":[{"kind":"ReplicaSet","name":"web-5d8f"}]}}`,
    );
  const p1 = compactor.compact(raw("web-5d8f-aaaaa"));
  const p2 = compactor.compact(raw("web-5d8f-bbbbb"));
  assert.ok(p1 instanceof CompactPod);
  assert.equal(p1.metadata, p1);
  assert.ok(Object.isFrozen(p1));
  assert.deepEqual(Object.keys(p1), ["name", "namespace", "labels"], "nothing else is kept");
  assert.equal(p1.metadata.name, "web-5d8f-aaaaa");
  assert.equal(p1.metadata.namespace, "team-a");
  assert.equal(p1.metadata.labels, p2.metadata.labels);
  assert.deepEqual(compactor.interner.stats, { strings: 5, labelSets: 1 });
  compactor.release(p1);
  compactor.release(p2);
  assert.deepEqual(compactor.interner.stats, { strings: 0, labelSets: 0 });

  const bare = compactor.compact({ metadata: { name: "x", namespace: 7 as unknown as string } });
  assert.equal(bare.metadata.namespace, undefined, "a non-string namespace is not kept");
  assert.equal(bare.metadata.labels, undefined);
  compactor.release({ metadata: { name: "not-compact" } });
  compactor.release(bare);
  assert.deepEqual(compactor.interner.stats, { strings: 0, labelSets: 0 });
});
