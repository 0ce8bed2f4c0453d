import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { NumberKeyedBytes } from "./number-cache.ts";

describe("NumberKeyedBytes", () => {
  it("always gives the encoding of the value asked for, colliding or not", () => {
    const encode = (v: number) => new TextEncoder().encode(String(v));
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 3000 }), (values) => {
        const cache = new NumberKeyedBytes(encode);
        for (const v of [...values, ...values.reverse()]) assert.deepEqual(cache.get(v), encode(v));
      }),
      { numRuns: 50 },
    );
  });
  it("encodes a value once while it keeps its slot", () => {
    let calls = 0;
    const cache = new NumberKeyedBytes((v) => {
      calls++;
      return new Uint8Array([v & 0xff]);
    });
    for (let r = 0; r < 3; r++) for (let v = 1_750_000_000_000; v < 1_750_000_000_050; v++) cache.get(v);
    assert.ok(calls <= 50 + 5, `${calls} encodings`);
  });
});
