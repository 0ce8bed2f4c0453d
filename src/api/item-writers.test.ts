// The large-list item writers (json-writer.ts, protobuf-items.ts) against the object renderers they
// stand in for (objects.ts, protobuf.ts), on random names (non-ASCII, escapes, lone surrogates),
// labels, times, windows and quantities.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { labelsJSON } from "../go/index.ts";
import { JsonWriter, jsonBytesContext, writeNodeMetricsJSON, writePodMetricsJSON } from "./json-writer.ts";
import { encodeNodeMetricsListItems, encodePodMetricsListItems } from "./list-items-testing.ts";
import {
  nodeMetricsJSON,
  nodeMetricsObject,
  objectContext,
  type PodSource,
  podMetricsJSON,
  podMetricsObject,
} from "./objects.ts";
import { encodeNodeItems, encodePodItems, protoItemsContext } from "./protobuf-items.ts";

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constantFrom(
    "web-7d9c8b6f5-x2x9k",
    "a<b>&c",
    'q"uo\\te',
    "\u2028\u2029",
    "é",
    "\ud800",
    "",
    "a".repeat(300),
  ),
);
const quantity = fc.oneof(
  fc.nat({ max: 4e9 }),
  fc.maxSafeNat(),
  fc.double({ noNaN: false }),
  fc.constantFrom(0, 1000, 1024, 1e21, -5, 2 ** 53 + 2),
);
const time = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  fc.constantFrom(0, -1000, 1_750_000_000_123.456, 253_402_300_800_000),
);
const windowMs = fc.oneof(
  fc.double({ min: 0, max: 1e9, noNaN: true }),
  fc.constantFrom(0, 0.0005, 15_000, 14_999.9999),
);
const labels = fc.option(fc.dictionary(text, text, { maxKeys: 4 }), { nil: undefined });
const container = fc.record({
  name: text,
  cpuNanocores: quantity,
  memoryBytes: quantity,
  swapBytes: fc.option(quantity, { nil: undefined }),
});
const pod: fc.Arbitrary<PodSource> = fc.record({
  namespace: text,
  name: text,
  labels,
  point: fc.record({ timestampMs: time, windowMs, containers: fc.array(container, { maxLength: 3 }) }),
});
const NOW = 1_750_000_020_000;

describe("large-list item writers", () => {
  for (const swap of [false, true]) {
    it(`JSON items are podMetricsJSON / nodeMetricsJSON's bytes${swap ? " (--swap-usage)" : ""}`, () => {
      fc.assert(
        fc.property(fc.array(pod, { maxLength: 8 }), (pods) => {
          const ctx = objectContext(NOW, swap);
          const w = new JsonWriter(64);
          const b = jsonBytesContext(ctx);
          let expected = "";
          for (const p of pods) {
            writePodMetricsJSON(w, b, p.namespace, p.name, p.labels, p.point);
            expected += podMetricsJSON(ctx, p.namespace, p.name, labelsJSON(p.labels), p.point);
            const node = {
              ...p.point.containers[0],
              timestampMs: p.point.timestampMs,
              windowMs: p.point.windowMs,
            };
            if (node.cpuNanocores === undefined) continue;
            writeNodeMetricsJSON(w, b, p.name, p.labels, node);
            expected += nodeMetricsJSON(ctx, p.name, labelsJSON(p.labels), node);
          }
          assert.ok(Buffer.concat(w.finish()).equals(Buffer.from(expected, "utf8")));
        }),
        { numRuns: 300 },
      );
    });

    it(`protobuf items are the object encoder's bytes${swap ? " (--swap-usage)" : ""}`, () => {
      fc.assert(
        fc.property(fc.array(pod, { maxLength: 8 }), (pods) => {
          const c = protoItemsContext(NOW, swap);
          const objects = pods.map((p) =>
            podMetricsObject(NOW, p.namespace, p.name, p.labels, p.point, swap),
          );
          assert.ok(
            Buffer.concat(encodePodItems(c, pods)).equals(Buffer.from(encodePodMetricsListItems(objects))),
          );
          const nodes = pods.flatMap((p) =>
            p.point.containers.slice(0, 1).map((ct) => ({
              name: p.name,
              labels: p.labels,
              point: { ...ct, timestampMs: p.point.timestampMs, windowMs: p.point.windowMs },
            })),
          );
          const nodeObjects = nodes.map((n) => nodeMetricsObject(NOW, n.name, n.labels, n.point, swap));
          assert.ok(
            Buffer.concat(encodeNodeItems(c, nodes)).equals(
              Buffer.from(encodeNodeMetricsListItems(nodeObjects)),
            ),
          );
        }),
        { numRuns: 300 },
      );
    });
  }

  it("JSON chunks stay whole items across buffer boundaries", () => {
    const ctx = objectContext(NOW);
    const w = new JsonWriter(1024);
    const b = jsonBytesContext(ctx);
    const p = {
      timestampMs: NOW,
      windowMs: 15_000,
      containers: [{ name: "c", cpuNanocores: 1, memoryBytes: 1 }],
    };
    let expected = "";
    for (let i = 0; i < 50; i++) {
      writePodMetricsJSON(w, b, "ns", `pod-${"x".repeat(i * 7)}`, undefined, p);
      expected += podMetricsJSON(ctx, "ns", `pod-${"x".repeat(i * 7)}`, "", p);
    }
    const pieces = w.finish();
    assert.ok(pieces.length > 1 && pieces.every((piece) => piece.length <= 1024));
    assert.equal(Buffer.concat(pieces).toString("utf8"), expected);
  });
});
