import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import fc from "fast-check";
import type { NodeScrape } from "../../storage/index.ts";
import { packBatch, unpackMessage } from "./packing.ts";

const name = fc.constantFrom("default", "kube-system", "app", "pod-a", "pod-b", "é", "");
const column = (n: number, nan = false) =>
  fc
    .array(nan ? fc.double() : fc.double({ noNaN: true }), { minLength: n, maxLength: n })
    .map((a) => Float64Array.from(a));

const scrape: fc.Arbitrary<NodeScrape> = fc.nat(6).chain((n) =>
  fc
    .record({
      node: fc.string({ maxLength: 8 }),
      nodeTimestampMs: fc.double({ noNaN: true }),
      nodeCpuNs: fc.double({ noNaN: true }),
      nodeCpuNsRemainder: fc.option(fc.integer(), { nil: undefined }),
      nodeMemoryBytes: fc.double({ noNaN: true }),
      nodeSwapBytes: fc.option(fc.double(), { nil: undefined }),
      nodeStartTimeMs: fc.double({ noNaN: true }),
      namespaces: fc.array(name, { minLength: n, maxLength: n }),
      pods: fc.array(name, { minLength: n, maxLength: n }),
      containers: fc.array(name, { minLength: n, maxLength: n }),
      startTimeMs: column(n),
      timestampMs: column(n),
      cpuNs: column(n),
      cpuNsRemainder: fc.option(column(n), { nil: undefined }),
      memoryBytes: column(n),
      swapBytes: fc.option(column(n, true), { nil: undefined }),
      cpuCapacityNanocores: fc.option(fc.double(), { nil: undefined }),
      memoryCapacityBytes: fc.option(fc.double(), { nil: undefined }),
      wholeSecondStartTimes: fc.option(fc.constant(true as const), { nil: undefined }),
    })
    .map((r) => {
      const s: NodeScrape = { ...r, containerCount: n };
      // Optional fields are absent, not present-and-undefined, as the decoders build them.
      const optional = [
        "nodeCpuNsRemainder",
        "nodeSwapBytes",
        "cpuNsRemainder",
        "swapBytes",
        "cpuCapacityNanocores",
        "memoryCapacityBytes",
        "wholeSecondStartTimes",
      ] as const;
      for (const k of optional) {
        if (s[k] === undefined) delete s[k];
      }
      return s;
    }),
);

/** A NodeScrape with its typed arrays as plain arrays, so views and copies compare equal. */
function plain(s: NodeScrape): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) out[k] = v instanceof Float64Array ? [...v] : v;
  return out;
}

/** Posts like the worker does (transferring the buffers) and unpacks like the main thread. */
function roundTrip(batch: NodeScrape[], perMessage: number): { scrapes: NodeScrape[]; messages: number } {
  const { port1, port2 } = new MessageChannel();
  try {
    const messages = packBatch(batch, perMessage);
    for (const m of messages) port1.postMessage(m.message, m.transfer);
    const scrapes: NodeScrape[] = [];
    for (;;) {
      const got = receiveMessageOnPort(port2);
      if (!got) break;
      scrapes.push(...unpackMessage(got.message, (s) => s));
    }
    return { scrapes, messages: messages.length };
  } finally {
    port1.close();
  }
}

describe("packing: packed result messages", () => {
  it("carries every field of every node unchanged, across message splits (property)", () => {
    fc.assert(
      fc.property(
        fc.array(scrape, { maxLength: 8 }),
        fc.integer({ min: 1, max: 10 }),
        (batch, perMessage) => {
          const expected = batch.map(plain);
          const { scrapes } = roundTrip(batch, perMessage);
          assert.deepEqual(scrapes.map(plain), expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("puts whole nodes in a message up to the container budget, at least one node each", () => {
    const make = (node: string, n: number): NodeScrape => ({
      node,
      nodeTimestampMs: 1,
      nodeCpuNs: 1,
      nodeMemoryBytes: 1,
      nodeStartTimeMs: 0,
      containerCount: n,
      namespaces: Array(n).fill("ns"),
      pods: Array(n).fill("p"),
      containers: Array.from({ length: n }, (_, i) => `c${i}`),
      startTimeMs: new Float64Array(n),
      timestampMs: new Float64Array(n).fill(5),
      cpuNs: new Float64Array(n).fill(7),
      memoryBytes: new Float64Array(n).fill(9),
    });
    const sizes = packBatch([make("a", 3), make("b", 3), make("c", 10), make("d", 1)], 6).map(
      (m) => m.message.nodes,
    );
    assert.deepEqual(sizes, [["a", "b"], ["c"], ["d"]]);
    assert.equal(packBatch([], 6).length, 0);
    // Two transfers per message, whatever the number of nodes.
    assert.equal(packBatch([make("a", 3), make("b", 3)], 100)[0].transfer.length, 2);
  });

  it("interns names on the way in, and refuses malformed messages with an error", () => {
    const [m] = packBatch(
      [
        {
          node: "n1",
          nodeTimestampMs: 1,
          nodeCpuNs: 2,
          nodeMemoryBytes: 3,
          nodeStartTimeMs: 0,
          containerCount: 1,
          namespaces: ["ns"],
          pods: ["p"],
          containers: ["c"],
          startTimeMs: Float64Array.of(0),
          timestampMs: Float64Array.of(1),
          cpuNs: Float64Array.of(2),
          memoryBytes: Float64Array.of(3),
        },
      ],
      10,
    );
    const seen: string[] = [];
    const [s] = unpackMessage(m.message, (x) => {
      seen.push(x);
      return x;
    });
    assert.equal(s.pods[0], "p");
    assert.deepEqual(seen.sort(), ["c", "n1", "ns", "p"]);
    const bad = [
      { ...m.message, numbers: new Float64Array(1) },
      { ...m.message, ints: Uint32Array.of(0, 1, 0, 0, 0, 7) },
      { ...m.message, ints: Uint32Array.of(0, 2, 0, 0, 0, 0) },
      { ...m.message, nodes: [5] },
      { ...m.message, containerCount: -1 },
      null,
    ];
    for (const b of bad) assert.throws(() => unpackMessage(b as never, (x) => x), Error);
  });
});
