import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatGoDuration, formatGoDurationNs, parseGoDuration, parseGoDurationNs } from "./duration.ts";

// The `window` of metrics.k8s.io objects is Go's time.Duration.String() of nanoseconds.
describe("formatGoDurationNs (numbers)", () => {
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
    it(`${input}ns → ${expected}`, () => assert.equal(formatGoDurationNs(input), expected));
  }

  it("uses U+00B5 MICRO SIGN like Go", () => {
    assert.equal(formatGoDurationNs(1000).codePointAt(1), 0xb5);
  });

  it("never prints trailing fractional zeros and parses back to the same nanoseconds", () => {
    const units: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, µs: 1e3, ns: 1 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e15 }), (n) => {
        const text = formatGoDurationNs(n);
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

describe("parseGoDuration", () => {
  const valid: [string, number][] = [
    ["15s", 15_000],
    ["1m0s", 60_000],
    ["1.5h", 5_400_000],
    ["300ms", 300],
    ["2h45m", 9_900_000],
    ["1us", 0.001],
    ["1\u00b5s", 0.001],
    ["1\u03bcs", 0.001],
    ["10ns", 0.00001],
    ["0", 0],
    ["-0", 0],
    ["+0", 0],
    ["0s", 0],
    ["-1s", -1_000],
    ["+5m", 300_000],
    [".5s", 500],
    ["1.s", 1_000],
    ["1h2m3.004005006s", 3_723_004.005006],
    ["1.0000000009s", 1_000], // Go truncates below a nanosecond
  ];
  for (const [input, ms] of valid) {
    it(`parses ${JSON.stringify(input)}`, () => assert.equal(parseGoDuration(input), ms));
  }

  const invalid: [string, string][] = [
    ["", 'time: invalid duration ""'],
    ["abc", 'time: invalid duration "abc"'],
    ["x", 'time: invalid duration "x"'],
    ["-", 'time: invalid duration "-"'],
    [".s", 'time: invalid duration ".s"'],
    ["1s x", 'time: unknown unit "s x" in duration "1s x"'],
    ["10", 'time: missing unit in duration "10"'],
    ["1s2", 'time: missing unit in duration "1s2"'],
    ["10q", 'time: unknown unit "q" in duration "10q"'],
    ["10 s", 'time: unknown unit " s" in duration "10 s"'],
    ["9999999999h", 'time: invalid duration "9999999999h"'],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.throws(() => parseGoDuration(input), { message }));
  }

  it("accepts the int64 extremes and rejects one beyond", () => {
    assert.equal(parseGoDurationNs("9223372036854775807ns"), 9223372036854775807n);
    assert.equal(parseGoDurationNs("-9223372036854775808ns"), -9223372036854775808n);
    assert.throws(() => parseGoDurationNs("9223372036854775808ns"), /invalid duration/);
  });
});

describe("formatGoDuration", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [60_000, "1m0s"],
    [10_000, "10s"],
    [15_000, "15s"],
    [1_500, "1.5s"],
    [300, "300ms"],
    [1.5, "1.5ms"],
    [0.001, "1\u00b5s"],
    [0.0015, "1.5\u00b5s"],
    [0.00001, "10ns"],
    [9_900_000, "2h45m0s"],
    [3_723_004.005006, "1h2m3.004005006s"],
    [-1_000, "-1s"],
    [-0.5, "-500\u00b5s"],
    [4_500, "4.5s"],
  ];
  for (const [ms, text] of cases) {
    it(`formats ${ms}ms as ${text}`, () => assert.equal(formatGoDuration(ms), text));
  }

  it("formats the largest int64 like Go", () => {
    assert.equal(formatGoDurationNs(9223372036854775807n), "2562047h47m16.854775807s");
  });

  it("round-trips every whole millisecond count", () => {
    fc.assert(
      fc.property(fc.integer({ min: -9_000_000_000_000, max: 9_000_000_000_000 }), (ms) => {
        assert.equal(parseGoDuration(formatGoDuration(ms)), ms);
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips every int64 nanosecond count", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n) + 1n, max: (1n << 63n) - 1n }), (ns) => {
        assert.equal(parseGoDurationNs(formatGoDurationNs(ns)), ns);
      }),
    );
  });
});

describe("formatGoDuration (log lines)", () => {
  it("formats like Go's time.Duration.String()", () => {
    const cases: [number, string][] = [
      [0, "0s"],
      [10_000, "10s"],
      [1500, "1.5s"],
      [500, "500ms"],
      [1.234567, "1.234567ms"],
      [0.0015, "1.5µs"],
      [0.000001, "1ns"],
      [90_000, "1m30s"],
      [3_600_000, "1h0m0s"],
      [3_723_500, "1h2m3.5s"],
      [-2000, "-2s"],
    ];
    for (const [ms, text] of cases) assert.equal(formatGoDuration(ms), text, String(ms));
  });
});
