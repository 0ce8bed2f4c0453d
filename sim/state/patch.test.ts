import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ApiError } from "./errors.ts";
import { applyPatch, jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";

const DEPLOYMENT = { object: "Deployment" } as const;

// JSON values without arrays at the top level of objects' own structure (merge patch treats arrays
// as values, so objects are where its laws live).
const jsonObject = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 3 }),
  fc.oneof(
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), fc.integer()),
  ),
);
const nullFree = (v: unknown): boolean =>
  v !== null && (typeof v !== "object" || Object.values(v as object).every(nullFree));

test("merge patch: RFC 7386's examples", () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases)
    assert.deepEqual(mergePatch(target, patch), want, JSON.stringify(patch));
});

test("merge patch laws: {} changes nothing, a patch applied twice is applied once, the target is not modified", () => {
  fc.assert(
    fc.property(jsonObject, jsonObject, (target, patch) => {
      // Compared as JSON text: what the API server would send back.
      const text = JSON.stringify;
      const copy = text(target);
      assert.equal(text(mergePatch(target, {})), copy);
      const once = mergePatch(target, patch) as Record<string, unknown>;
      assert.equal(text(mergePatch(once, patch)), text(once));
      assert.equal(text(target), copy);
      // Every non-null value of the patch is in the result.
      for (const [k, v] of Object.entries(patch)) if (nullFree(v)) assert.ok(Object.hasOwn(once, k), k);
    }),
  );
});

test("strategic merge patch without lists or directives is a merge patch", () => {
  fc.assert(
    fc.property(jsonObject, jsonObject, (target, patch) => {
      assert.equal(
        JSON.stringify(strategicMergePatch(target, patch, undefined)),
        JSON.stringify(mergePatch(target, patch)),
      );
    }),
  );
});

test("JSON patch: the RFC 6902 operations, in order, on a copy", () => {
  const doc = { a: { b: [1, 2] }, c: "x" };
  const out = jsonPatch(doc, [
    { op: "add", path: "/a/b/1", value: 9 },
    { op: "add", path: "/a/b/-", value: 3 },
    { op: "replace", path: "/c", value: "y" },
    { op: "copy", from: "/c", path: "/d" },
    { op: "move", from: "/d", path: "/e~1f" },
    { op: "remove", path: "/a/b/0" },
    { op: "test", path: "/a/b", value: [9, 2, 3] },
  ]);
  assert.deepEqual(out, { a: { b: [9, 2, 3] }, c: "y", "e/f": "y" });
  assert.deepEqual(doc, { a: { b: [1, 2] }, c: "x" });
  assert.throws(() => jsonPatch(doc, [{ op: "test", path: "/c", value: "z" }]), { code: 422 });
  assert.throws(() => jsonPatch(doc, [{ op: "remove", path: "/nope" }]), { code: 422 });
  assert.throws(() => jsonPatch(doc, [{ op: "replace", path: "/a/b/5", value: 1 }]), { code: 422 });
  assert.throws(() => jsonPatch(doc, { op: "add" }), { code: 400 });
});

function deployment(containers: unknown[], extra: Record<string, unknown> = {}) {
  return { spec: { template: { spec: { containers, ...extra } } } };
}

test("strategic merge patch: containers merge by name, args are replaced, directives apply", () => {
  const live = deployment(
    [
      { name: "a", image: "a:1", args: ["--x", "--y"], env: [{ name: "E", value: "1" }] },
      { name: "b", image: "b:1" },
    ],
    {
      volumes: [{ name: "tmp", emptyDir: {} }],
      finalizersLike: undefined,
    },
  );
  const patched = strategicMergePatch(
    live,
    {
      spec: {
        template: {
          spec: {
            $setElementOrder: undefined,
            "$setElementOrder/containers": [{ name: "b" }, { name: "a" }],
            containers: [
              { name: "a", args: ["--z"], env: [{ name: "F", value: "2" }] },
              { name: "c", $patch: "delete" },
            ],
            volumes: [{ name: "tmp", $retainKeys: ["name", "hostPath"], hostPath: { path: "/tmp" } }],
          },
        },
      },
    },
    DEPLOYMENT,
  ) as ReturnType<typeof deployment>;
  const spec = patched.spec.template.spec as Record<string, unknown>;
  assert.deepEqual(spec.containers, [
    { name: "b", image: "b:1" },
    {
      name: "a",
      image: "a:1",
      args: ["--z"],
      env: [
        { name: "E", value: "1" },
        { name: "F", value: "2" },
      ],
    },
  ]);
  assert.deepEqual(spec.volumes, [{ name: "tmp", hostPath: { path: "/tmp" } }]);

  const deleted = strategicMergePatch(
    live,
    deployment([{ name: "b", $patch: "delete" }]),
    DEPLOYMENT,
  ) as ReturnType<typeof deployment>;
  assert.deepEqual(
    (deleted.spec.template.spec.containers as { name: string }[]).map((c) => c.name),
    ["a"],
  );
  const replaced = strategicMergePatch(
    live,
    deployment([{ $patch: "replace" }, { name: "z", image: "z" }]),
    DEPLOYMENT,
  ) as ReturnType<typeof deployment>;
  assert.deepEqual(replaced.spec.template.spec.containers, [{ name: "z", image: "z" }]);
  const wholeMap = strategicMergePatch(
    { spec: { replicas: 2, paused: true } },
    { spec: { $patch: "replace", replicas: 3 } },
    DEPLOYMENT,
  );
  assert.deepEqual(wholeMap, { spec: { replicas: 3 } });
  const nulled = strategicMergePatch(
    { spec: { replicas: 2, paused: true } },
    { spec: { paused: null } },
    DEPLOYMENT,
  );
  assert.deepEqual(nulled, { spec: { replicas: 2 } });
});

test("strategic merge patch: primitive lists with a merge strategy", () => {
  const live = { metadata: { finalizers: ["a", "b", "c"] } };
  assert.deepEqual(strategicMergePatch(live, { metadata: { finalizers: ["d", "a"] } }, DEPLOYMENT), {
    metadata: { finalizers: ["a", "b", "c", "d"] },
  });
  assert.deepEqual(
    strategicMergePatch(live, { metadata: { "$deleteFromPrimitiveList/finalizers": ["b"] } }, DEPLOYMENT),
    { metadata: { finalizers: ["a", "c"] } },
  );
});

test("strategic merge patch errors are kube-apiserver's 422; unknown patch types are 415", () => {
  assert.throws(
    () => strategicMergePatch({}, deployment([{ image: "no-name" }]), DEPLOYMENT),
    (e) => e instanceof ApiError && e.code === 422 && /merge key: name/.test(e.message),
  );
  assert.throws(() => strategicMergePatch({}, { $patch: "sideways" }, DEPLOYMENT), { code: 422 });
  assert.throws(() => applyPatch("application/apply-patch+yaml", {}, {}, DEPLOYMENT), { code: 415 });
  assert.deepEqual(applyPatch("application/merge-patch+json; charset=utf-8", { a: 1 }, { b: 2 }, undefined), {
    a: 1,
    b: 2,
  });
});
