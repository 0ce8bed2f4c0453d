// The field table against the real Kubernetes types (the kubernetes-models package, generated
// from Kubernetes' OpenAPI): the table names exactly the fields of the type it describes, so strict
// validation neither accepts a field kube-apiserver would reject nor rejects one it would accept.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { TYPES } from "./schema.ts";

const MODELS = join(import.meta.dirname, "..", "..", "node_modules", "kubernetes-models");
const META = join(
  import.meta.dirname,
  "..",
  "..",
  "node_modules",
  "@kubernetes-models",
  "apimachinery",
  "apis",
  "meta",
  "v1",
);

/** Where each table type's real definition is, when its name alone does not find it. */
const REAL: Record<string, string> = {
  ObjectMeta: join(META, "ObjectMeta.d.ts"),
  OwnerReference: join(META, "OwnerReference.d.ts"),
  LabelSelector: join(META, "LabelSelector.d.ts"),
  LabelSelectorRequirement: join(META, "LabelSelectorRequirement.d.ts"),
  KeySelector: join(MODELS, "v1", "ConfigMapKeySelector.d.ts"),
  ServiceReference: join(MODELS, "apiregistration.k8s.io", "v1", "ServiceReference.d.ts"),
  PodAffinity: join(MODELS, "v1", "PodAntiAffinity.d.ts"),
};
const DIRS = ["v1", "apps/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "apiregistration.k8s.io/v1"];

function realFields(type: string): Set<string> | undefined {
  const path = REAL[type] ?? DIRS.map((d) => join(MODELS, d, `${type}.d.ts`)).find(existsSync);
  if (!path || !existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8");
  const body = /export interface I\w+[^{]*\{([\s\S]*?)\n\}/.exec(text)?.[1] ?? "";
  return new Set([...body.matchAll(/^\s*"([A-Za-z0-9]+)"\??:/gm)].map((m) => m[1]));
}

test("the table's fields are the real Kubernetes types' fields", () => {
  const invented: string[] = [];
  const missing: string[] = [];
  const unchecked: string[] = [];
  for (const [type, fields] of Object.entries(TYPES)) {
    const real = realFields(type);
    if (!real) {
      unchecked.push(type);
      continue;
    }
    for (const f of Object.keys(fields)) if (!real.has(f)) invented.push(`${type}.${f}`);
    for (const f of real) if (!Object.hasOwn(fields, f)) missing.push(`${type}.${f}`);
  }
  assert.deepEqual(invented, []);
  assert.deepEqual(missing, [], "fields of the real types the table lacks");
  assert.deepEqual(unchecked, [], "every table type is found among the real ones");
});
