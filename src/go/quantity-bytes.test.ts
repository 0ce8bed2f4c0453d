import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatCpu, formatMemory } from "./quantity.ts";
import { writeCpuText, writeMemoryText } from "./quantity-bytes.ts";

/** The text written, or formatX's own when the fast path declines (as the writers fall back). */
function written(write: typeof writeCpuText, format: (v: number) => string, value: number): string {
  const buf = new Uint8Array(32).fill(0x3f);
  const end = write(buf, 3, value);
  if (end < 0) return format(value);
  assert.ok(end - 3 <= 20, "at most 20 bytes");
  assert.equal(buf[2], 0x3f, "nothing before pos");
  return Buffer.from(buf.subarray(3, end)).toString("latin1");
}

const edges = [
  0,
  1,
  9,
  10,
  100,
  999,
  1000,
  1001,
  1023,
  1024,
  1025,
  1536,
  1e6,
  1e9,
  15e8,
  1048576,
  1073741824,
  2 ** 50,
  2 ** 52,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  2 ** 60,
  9e15,
  9.007e15,
  1e21,
  1e25,
  -1,
  -1024,
  -0,
  0.5,
  1.9,
  1023.999,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  900719925474099,
];

const values = fc.oneof(
  fc.constantFrom(...edges),
  fc.integer({ min: 0, max: 1e7 }),
  fc.nat().map((n) => n * 1000),
  fc.tuple(fc.nat({ max: 2 ** 20 }), fc.nat({ max: 6 })).map(([m, p]) => m * 1024 ** p),
  fc.tuple(fc.nat({ max: 99_999 }), fc.nat({ max: 17 })).map(([m, e]) => m * 10 ** e),
  fc.double(),
  fc.maxSafeNat(),
);

describe("quantities as bytes", () => {
  it("writeCpuText writes formatCpu's text", () => {
    fc.assert(
      fc.property(values, (v) => assert.equal(written(writeCpuText, formatCpu, v), formatCpu(v))),
      { numRuns: 5000 },
    );
  });
  it("writeMemoryText writes formatMemory's text", () => {
    fc.assert(
      fc.property(values, (v) => assert.equal(written(writeMemoryText, formatMemory, v), formatMemory(v))),
      { numRuns: 5000 },
    );
  });
});
