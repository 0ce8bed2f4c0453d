import assert from "node:assert/strict";
import { test } from "node:test";
import { unknownFields } from "./fields.ts";
import { ROOT_TYPE, TYPES } from "./schema.ts";

test("unknown fields are named as kube-apiserver's strict decoder names them", () => {
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "x", labels: { anything: "goes" }, colour: "red" },
    spec: {
      replicas: 1,
      foo: 1,
      template: {
        spec: {
          containers: [
            { name: "a", image: "a" },
            { name: "b", imagePullPolity: "Never", resources: { requests: { cpu: "1" } } },
          ],
          affinity: { nodeAffinity: { whatever: { deep: true } } },
        },
      },
    },
    status: { free: "form" },
  };
  assert.deepEqual(unknownFields({ object: "Deployment" }, deployment), [
    "metadata.colour",
    "spec.foo",
    "spec.template.spec.containers[1].imagePullPolity",
  ]);
  // Ignore drops them; strategic-merge-patch directives are never fields.
  const copy = structuredClone(deployment);
  unknownFields({ object: "Deployment" }, copy, true);
  assert.deepEqual(unknownFields({ object: "Deployment" }, copy), []);
  assert.equal("foo" in copy.spec, false);
  assert.deepEqual(
    unknownFields({ object: "Deployment" }, { spec: { "$setElementOrder/x": [], $patch: "x" } }),
    [],
  );
  // Prototype names are not fields.
  assert.deepEqual(unknownFields({ object: "ConfigMap" }, { constructor: 1, toString: 2 }), [
    "constructor",
    "toString",
  ]);
});

test("the field table is closed: every type it names exists and every described resource has a kind", () => {
  const missing: string[] = [];
  const visit = (t: unknown, where: string): void => {
    if (typeof t !== "object" || t === null) return;
    const o = t as Record<string, unknown>;
    if (typeof o.object === "string" && !TYPES[o.object]) missing.push(`${where}: ${o.object}`);
    visit(o.map, where);
    visit(o.list, where);
  };
  for (const [name, fields] of Object.entries(TYPES))
    for (const [k, t] of Object.entries(fields)) visit(t, `${name}.${k}`);
  assert.deepEqual(missing, []);
  for (const root of Object.values(ROOT_TYPE)) {
    assert.ok(TYPES[root!]?.apiVersion && TYPES[root!]?.kind && TYPES[root!]?.metadata, root);
  }
});
