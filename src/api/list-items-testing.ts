// Test references for the batched lists' item writers (protobuf-items.ts, stream.ts):
// a list's `items` fields as the one-shot object encoder writes them. They are cut out of the whole
// list it encodes, between the head and tail encodeListEnvelope gives for their length, and so
// also hold the envelope to the one-shot encoding.

import assert from "node:assert/strict";
import {
  METRICS_API_VERSION,
  type NodeMetricsJSON,
  type NodeMetricsListJSON,
  type PodMetricsJSON,
  type PodMetricsListJSON,
} from "./objects.ts";
import {
  encodeListEnvelope,
  encodeNodeMetricsList,
  encodePodMetricsList,
  type MetricsListKind,
} from "./protobuf.ts";

function itemsOf(kind: MetricsListKind, whole: Uint8Array): Uint8Array {
  // The head's length prefix grows with the items: shrink the guess until it is consistent.
  let length = whole.length;
  for (;;) {
    const { head, tail } = encodeListEnvelope(kind, length);
    const next = whole.length - head.length - tail.length;
    if (next === length) {
      const items = whole.subarray(head.length, whole.length - tail.length);
      assert.ok(Buffer.from(whole.subarray(0, head.length)).equals(head), "the envelope's head");
      assert.ok(Buffer.from(whole.subarray(whole.length - tail.length)).equals(tail), "the envelope's tail");
      return items;
    }
    length = next;
  }
}

/** NodeMetrics as a list's consecutive `items` fields, by the one-shot encoder. */
export function encodeNodeMetricsListItems(items: readonly NodeMetricsJSON[]): Uint8Array {
  const list: NodeMetricsListJSON = {
    kind: "NodeMetricsList",
    apiVersion: METRICS_API_VERSION,
    metadata: {},
    items: [...items],
  };
  return itemsOf("NodeMetricsList", encodeNodeMetricsList(list));
}

/** PodMetrics as a list's consecutive `items` fields, by the one-shot encoder. */
export function encodePodMetricsListItems(items: readonly PodMetricsJSON[]): Uint8Array {
  const list: PodMetricsListJSON = {
    kind: "PodMetricsList",
    apiVersion: METRICS_API_VERSION,
    metadata: {},
    items: [...items],
  };
  return itemsOf("PodMetricsList", encodePodMetricsList(list));
}
