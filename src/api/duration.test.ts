import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatGoDuration, formatTimestamp } from "./duration.ts";

// Reference: upstream-behaviour.md §3.3 (`window` is Go's time.Duration.String()).
describe("formatGoDuration", () => {
  const ms = 1e6;
  const s = 1e9;
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1ns"],
    [999, "999ns"],
    [1000, "1µs"],
    [1500, "1.5µs"],
    [2001, "2.001µs"],
    [999 * ms, "999ms"],
    [1.5 * ms, "1.5ms"],
    [123456789, "123.456789ms"],
    [15 * s, "15s"],
    [15.006 * s, "15.006s"],
    [14.987 * s, "14.987s"],
    [1 * s + 1, "1.000000001s"],
    [60 * s, "1m0s"],
    [60.5 * s, "1m0.5s"],
    [90 * s, "1m30s"],
    [3600 * s, "1h0m0s"],
    [3661 * s + 100 * ms, "1h1m1.1s"],
    [100 * 3600 * s, "100h0m0s"],
    [-1, "-1ns"],
    [-2 * s, "-2s"],
    [-1500, "-1.5µs"],
    [-(60.5 * s), "-1m0.5s"],
  ];
  for (const [input, expected] of cases) {
    it(`${input}ns → ${expected}`, () => assert.equal(formatGoDuration(input), expected));
  }

  it("uses U+00B5 MICRO SIGN like Go", () => {
    assert.equal(formatGoDuration(1000).codePointAt(1), 0xb5);
  });

  it("never prints trailing fractional zeros and parses back to the same nanoseconds", () => {
    const units: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, µs: 1e3, ns: 1 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e15 }), (n) => {
        const text = formatGoDuration(n);
        assert.doesNotMatch(text, /\.\d*0[a-zµ]/);
        let total = 0;
        for (const [, num, unit] of text.matchAll(/([\d.]+)(h|ms|m|s|µs|ns)/g)) {
          const [whole, frac = ""] = num.split(".");
          total += Number(whole) * units[unit] + (frac ? Math.round(Number(`0.${frac}`) * units[unit]) : 0);
        }
        assert.equal(total, n);
      }),
    );
  });
});

describe("formatTimestamp", () => {
  it("writes RFC 3339 UTC truncated to seconds", () => {
    assert.equal(formatTimestamp(Date.UTC(2025, 4, 1, 10, 0, 1, 999.9)), "2025-05-01T10:00:01Z");
    assert.equal(formatTimestamp(Date.UTC(2025, 4, 1, 10, 0, 2)), "2025-05-01T10:00:02Z");
    assert.equal(formatTimestamp(Date.UTC(1999, 11, 31, 23, 59, 59, 1)), "1999-12-31T23:59:59Z");
  });
  it("gives null for the zero time and for unrepresentable times", () => {
    assert.equal(formatTimestamp(0), null);
    assert.equal(formatTimestamp(Number.NaN), null);
    assert.equal(formatTimestamp(1e17), null);
  });
  it("truncates toward the earlier second for times before 1970", () => {
    assert.equal(formatTimestamp(-500), "1969-12-31T23:59:59Z");
  });
});
