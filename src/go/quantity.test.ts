import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatCpu, formatMemory, parseQuantity } from "./quantity.ts";

// The canonical form of kubernetes/apimachinery pkg/api/resource/quantity.go (String()).
describe("formatCpu (decimal SI at scale -9)", () => {
  const cases: [number, string][] = [
    [123456789, "123456789n"],
    [123456000, "123456u"],
    [50000000, "50m"],
    [2500000000, "2500m"],
    [1000000000, "1"],
    [0, "0"],
    [254376797, "254376797n"],
    [101000000, "101m"],
    [1, "1n"],
    [10, "10n"],
    [1000, "1u"],
    [12000000000, "12"],
    [15000000000000, "15k"],
    [-5000, "-5u"],
    [1.9, "1n"], // fractions of a nanocore are truncated
    [Number.NaN, "0"],
    [Number.POSITIVE_INFINITY, "0"],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected}`, () => assert.equal(formatCpu(input), expected));
  }

  it("round-trips every integer nanocore count", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        assert.equal(parseQuantity(formatCpu(n), -9), n);
      }),
    );
  });

  it("uses only the canonical suffixes with a mantissa without trailing zeros below the suffix", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 53 }), (n) => {
        assert.match(formatCpu(n), /^[1-9]\d*(n|u|m|k|M)?$/);
      }),
    );
  });
});

describe("formatMemory (binary SI)", () => {
  const cases: [number, string][] = [
    [500, "500"],
    [1000, "1k"],
    [1020, "1020"],
    [1023, "1023"],
    [1024, "1Ki"],
    [12533760, "12240Ki"],
    [1048576, "1Mi"],
    [1572864, "1536Ki"],
    [12533761, "12533761"],
    [2135700 * 1024, "2135700Ki"],
    [2 ** 30, "1Gi"],
    [2 ** 53, "8Pi"],
    [0, "0"],
    [-2048, "-2Ki"],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected}`, () => assert.equal(formatMemory(input), expected));
  }

  it("round-trips every integer byte count", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        assert.equal(parseQuantity(formatMemory(n)), n);
      }),
    );
  });

  it("round-trips multiples of powers of 1024", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8191 }), fc.integer({ min: 0, max: 3 }), (m, p) => {
        const bytes = m * 1024 ** p;
        assert.equal(parseQuantity(formatMemory(bytes)), bytes);
      }),
    );
  });
});

describe("parseQuantity", () => {
  it("reads suffixes, fractions and exponents", () => {
    assert.equal(parseQuantity("50m", -9), 50000000);
    assert.equal(parseQuantity("1.5"), 1);
    assert.equal(parseQuantity("1.5", -3), 1500);
    assert.equal(parseQuantity("2Mi"), 2097152);
    assert.equal(parseQuantity("1e3"), 1000);
    assert.equal(parseQuantity("-4k"), -4000);
  });
  it("rounds toward +Infinity when asked (a byte count that holds the quantity)", () => {
    assert.equal(parseQuantity("1.5", 0, "ceil"), 2);
    assert.equal(parseQuantity("1.1k", 0, "ceil"), 1100);
    assert.equal(parseQuantity("1e-3", 0, "ceil"), 1);
    assert.equal(parseQuantity("2Ki", 0, "ceil"), 2048);
    assert.equal(parseQuantity("-1.5", 0, "ceil"), -1);
    assert.equal(parseQuantity("-1.5"), -1);
  });
  it("rejects malformed text", () => {
    for (const bad of ["", "m", "1x", "1.2.3", "Ki", "1 Ki"]) {
      assert.throws(() => parseQuantity(bad), /quantities must match/, bad);
    }
  });
});
