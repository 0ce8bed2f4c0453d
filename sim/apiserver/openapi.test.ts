import assert from "node:assert/strict";
import { test } from "node:test";
import { openApiDocument, openApiIndex } from "./openapi.ts";

// biome-ignore lint/suspicious/noExplicitAny: documents are read field by field
type Json = any;

test("the OpenAPI v3 index addresses each group/version document by a content hash", () => {
  const index = openApiIndex(["api/v1", "apis/apps/v1", "apis/nothing/v1"]) as Json;
  assert.deepEqual(Object.keys(index.paths), ["api/v1", "apis/apps/v1"]);
  assert.match(
    index.paths["apis/apps/v1"].serverRelativeURL,
    /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{64}$/,
  );
  assert.equal(openApiDocument("apis/nothing/v1"), undefined);
});

test("a document has what kubectl reads: PATCH with fieldValidation per kind, patch metadata on lists", () => {
  const doc = openApiDocument("apis/apps/v1") as Json;
  const patch = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
  assert.deepEqual(patch["x-kubernetes-group-version-kind"], {
    group: "apps",
    version: "v1",
    kind: "Deployment",
  });
  assert.ok(patch.parameters.some((p: Json) => p.name === "fieldValidation" && p.in === "query"));
  const schemas = doc.components.schemas;
  assert.deepEqual(schemas.Deployment["x-kubernetes-group-version-kind"], [
    { group: "apps", version: "v1", kind: "Deployment" },
  ]);
  const containers = schemas.PodSpec.properties.containers;
  assert.equal(containers["x-kubernetes-patch-merge-key"], "name");
  assert.equal(containers["x-kubernetes-patch-strategy"], "merge");
  assert.equal(containers.items.allOf[0].$ref, "#/components/schemas/Container");
  assert.equal(schemas.PodSpec.properties.volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
  assert.equal(schemas.Container.properties.args["x-kubernetes-list-type"], "atomic");
  // Every $ref resolves inside the document.
  const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
  for (const r of refs) assert.ok(schemas[r.split("/").pop()!], r);

  const core = openApiDocument("api/v1") as Json;
  assert.ok(core.paths["/api/v1/namespaces/{name}"].patch);
  assert.ok(core.paths["/api/v1/namespaces/{namespace}/serviceaccounts/{name}"].patch);
  assert.equal(core.components.schemas.ServiceSpec.properties.ports["x-kubernetes-patch-merge-key"], "port");
});
