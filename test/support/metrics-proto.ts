// An independent decoder: protobufjs with the upstream field layout (k8s.io/metrics v1beta1,
// apimachinery meta/v1, runtime, resource generated.proto). Maps are declared as their wire-equivalent
// `repeated Entry{key=1, value=2}` so the decoded entries keep their on-the-wire order. Below the
// schema, helpers that decode a body and turn it back into the JSON shape, checking what gogo-protobuf
// always writes.
import assert from "node:assert/strict";
import protobuf from "protobufjs";

export const METRICS_PROTO_SCHEMA = `
syntax = "proto2";
package k8s;
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown {
  optional TypeMeta typeMeta = 1; optional bytes raw = 2;
  optional string contentEncoding = 3; optional string contentType = 4;
}
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message Duration { optional int64 duration = 1; }
message Quantity { optional string string = 1; }
message LabelEntry { optional string key = 1; optional string value = 2; }
message QuantityEntry { optional string key = 1; optional Quantity value = 2; }
message ObjectMeta {
  optional string name = 1; optional string generateName = 2; optional string namespace = 3;
  optional string selfLink = 4; optional string uid = 5; optional string resourceVersion = 6;
  optional int64 generation = 7; optional Time creationTimestamp = 8; optional Time deletionTimestamp = 9;
  optional int64 deletionGracePeriodSeconds = 10; repeated LabelEntry labels = 11;
  repeated LabelEntry annotations = 12; repeated string finalizers = 14; optional string clusterName = 15;
}
message ListMeta {
  optional string selfLink = 1; optional string resourceVersion = 2; optional string continue = 3;
  optional int64 remainingItemCount = 4;
}
message ContainerMetrics { optional string name = 1; repeated QuantityEntry usage = 2; }
message NodeMetrics {
  optional ObjectMeta metadata = 1; optional Time timestamp = 2; optional Duration window = 3;
  repeated QuantityEntry usage = 4;
}
message NodeMetricsList { optional ListMeta metadata = 1; repeated NodeMetrics items = 2; }
message PodMetrics {
  optional ObjectMeta metadata = 1; optional Time timestamp = 2; optional Duration window = 3;
  repeated ContainerMetrics containers = 4;
}
message PodMetricsList { optional ListMeta metadata = 1; repeated PodMetrics items = 2; }
`;

const root = protobuf.parse(METRICS_PROTO_SCHEMA).root;

// biome-ignore lint/suspicious/noExplicitAny: decoded protobufjs plain objects
export type Decoded = any;

/** Checks the envelope and returns the decoded object and the raw Unknown message. */
export function unwrap(body: Uint8Array, kind: string): { object: Decoded; unknown: Decoded } {
  assert.deepEqual([...body.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00], "k8s\\0 magic prefix");
  const Unknown = root.lookupType("k8s.Unknown");
  const unknownMessage = Unknown.decode(body.subarray(4));
  const unknown: Decoded = Unknown.toObject(unknownMessage, { defaults: false });
  assert.equal(unknown.typeMeta.apiVersion, "metrics.k8s.io/v1beta1");
  assert.equal(unknown.typeMeta.kind, kind);
  const Type = root.lookupType(`k8s.${kind}`);
  const object = Type.toObject(Type.decode(unknown.raw), { longs: Number, defaults: false });
  return { object, unknown: unknownMessage };
}

export function entries(list: { key: string; value: Decoded }[] | undefined, value: (v: Decoded) => string) {
  return (list ?? []).map((e) => [e.key, value(e.value)] as [string, string]);
}

export function timeText(t: Decoded): string | null {
  if (t === undefined) throw new Error("Time field missing");
  if (t.seconds === undefined) return null; // the zero time is an empty message
  assert.equal(t.nanos, 0);
  return new Date(t.seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** The JSON shape back from a decoded ObjectMeta (fields that must be empty are checked here). */
function metaJSON(m: Decoded) {
  for (const field of ["generateName", "selfLink", "uid", "resourceVersion", "clusterName"]) {
    assert.equal(m[field], "", `${field} is emitted empty, as gogo does for non-pointer strings`);
  }
  assert.equal(m.generation, 0);
  const meta: Decoded = { name: m.name, creationTimestamp: timeText(m.creationTimestamp) };
  if (m.namespace !== "") meta.namespace = m.namespace;
  const labels = entries(m.labels, (v) => v);
  if (labels.length > 0) meta.labels = Object.fromEntries(labels);
  return meta;
}

export function usageEntries(list: Decoded) {
  return entries(list, (q) => q.string);
}

export function nodeJSON(n: Decoded) {
  return {
    metadata: metaJSON(n.metadata),
    timestamp: timeText(n.timestamp),
    windowNs: n.window.duration,
    usage: usageEntries(n.usage),
  };
}

export function podJSON(p: Decoded) {
  return {
    metadata: metaJSON(p.metadata),
    timestamp: timeText(p.timestamp),
    windowNs: p.window.duration,
    containers: (p.containers ?? []).map((c: Decoded) => ({ name: c.name, usage: usageEntries(c.usage) })),
  };
}
