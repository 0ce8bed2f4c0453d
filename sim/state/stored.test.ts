import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { generateScenario } from "../scenario/index.ts";
import { nodeToJson, podToJson } from "./objects.ts";
import type { KubeObject } from "./resources.ts";
import { fieldsOf, formBytes, listBytes, StoredObject } from "./stored.ts";

const NOW = 1_700_000_000_000;

function withoutKind(o: KubeObject): Record<string, unknown> {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest;
}

const partial = (o: KubeObject) => ({
  kind: "PartialObjectMetadata",
  apiVersion: "meta.k8s.io/v1",
  metadata: o.metadata,
});

/** Objects with kind, apiVersion and metadata first and arbitrary (unicode) content after. */
const kubeObject = fc
  .record({
    kind: fc.string({ minLength: 1 }),
    apiVersion: fc.string(),
    name: fc.string({ minLength: 1 }),
    namespace: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
    labels: fc.option(fc.dictionary(fc.string(), fc.string({ unit: "grapheme" })), { nil: undefined }),
    rest: fc.dictionary(
      // Integer-like keys would be ordered first by any JS object; Kubernetes objects have none.
      fc
        .string()
        .filter((k) => !["kind", "apiVersion", "metadata", "__proto__"].includes(k) && !/^\d+$/.test(k)),
      fc.jsonValue(),
    ),
  })
  .map(
    ({ kind, apiVersion, name, namespace, labels, rest }): KubeObject => ({
      kind,
      apiVersion,
      metadata: {
        name,
        ...(namespace ? { namespace } : {}),
        uid: "u",
        resourceVersion: "7",
        creationTimestamp: "2024-01-01T00:00:00Z",
        ...(labels ? { labels } : {}),
      },
      ...rest,
    }),
  );

describe("StoredObject", () => {
  test("property: every form is byte for byte what JSON.stringify gives", () => {
    fc.assert(
      fc.property(kubeObject, (o) => {
        const s = new StoredObject("things", o);
        assert.equal(s.json.toString(), JSON.stringify(o));
        assert.equal(formBytes(s, "object").toString(), JSON.stringify(o));
        assert.equal(formBytes(s, "item").toString(), JSON.stringify(withoutKind(o)));
        assert.equal(formBytes(s, "metadata").toString(), JSON.stringify(partial(o)));
        assert.deepEqual(s.object(), JSON.parse(JSON.stringify(o)));
        assert.equal(
          s.key,
          o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name,
        );
      }),
      { numRuns: 300 },
    );
  });

  test("property: a list of stored objects is the JSON of the list object", () => {
    fc.assert(
      fc.property(fc.array(kubeObject, { maxLength: 5 }), fc.boolean(), (objects, metadataOnly) => {
        const stored = objects.map((o) => new StoredObject("things", o));
        const listMeta = { resourceVersion: "9", continue: "abc", remainingItemCount: 3 };
        const got = metadataOnly
          ? listBytes("PartialObjectMetadataList", "meta.k8s.io/v1", listMeta, stored, "metadata")
          : listBytes("ThingList", "v1", listMeta, stored, "item");
        const want = metadataOnly
          ? {
              kind: "PartialObjectMetadataList",
              apiVersion: "meta.k8s.io/v1",
              metadata: listMeta,
              items: objects.map(partial),
            }
          : { kind: "ThingList", apiVersion: "v1", metadata: listMeta, items: objects.map(withoutKind) };
        assert.equal(got.toString(), JSON.stringify(want));
      }),
      { numRuns: 200 },
    );
  });

  test("simulated nodes and pods keep their bytes, the scenario's labels and their selector fields", () => {
    const s = generateScenario({ nodes: 2, podsPerNode: 3, seed: 4, ipBase: "127.9", nowMs: NOW });
    const node = s.nodes[0];
    const nodeJson = nodeToJson(node, 5, NOW);
    const storedNode = new StoredObject("nodes", nodeJson, node.labels);
    assert.equal(storedNode.json.toString(), JSON.stringify(nodeJson));
    assert.equal(storedNode.labels, node.labels);
    assert.deepEqual(storedNode.fields, { "metadata.name": node.name, "spec.unschedulable": "false" });
    const pod = s.pods[0];
    const podJson = podToJson(pod, 6, node.internalIP);
    const storedPod = new StoredObject("pods", podJson, pod.labels);
    assert.equal(storedPod.json.toString(), JSON.stringify(podJson));
    assert.equal(storedPod.resourceVersion, "6");
    assert.equal(storedPod.namespace, pod.namespace);
    assert.deepEqual(storedPod.fields, fieldsOf("pods", podJson));
    assert.equal(storedPod.fields["spec.nodeName"], pod.nodeName);
    assert.equal(storedPod.fields["status.phase"], pod.phase);
  });
});
