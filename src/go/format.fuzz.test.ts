// Fuzzing the Go formats the API writes: every quantity formatCpu/formatMemory write parses back
// (parseQuantity, apimachinery's grammar) to the value given, the byte writers agree with them, and
// every duration Duration.String() writes parses back (time.ParseDuration) to its nanoseconds, from
// zero to int64's limits and beyond them (saturated, as Go's Time.Sub). Replaying a failure:
// test/support/fuzz.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fc, fuzz } from "../../test/support/fuzz.ts";
import { formatGoDuration, formatGoDurationNs, parseGoDurationNs } from "./duration.ts";
import { formatCpu, formatMemory, parseQuantity } from "./quantity.ts";
import { writeCpuText, writeMemoryText } from "./quantity-bytes.ts";

const MAX_INT64 = 2n ** 63n - 1n;
const MIN_INT64 = -(2n ** 63n);

/**
 * What the formatters promise to format: the value truncated to an integer, 0 for non-finite,
 * saturated at int64's limits (as the double nearest them: what parseQuantity gives back).
 */
function integerOf(v: number): number {
  if (!Number.isFinite(v)) return 0;
  return Math.min(Math.max(Math.trunc(v) + 0, -(2 ** 63)), 2 ** 63);
}

/** Any double, weighted towards integers and the places where formats change. */
const anyValue = fc.oneof(
  fc.maxSafeNat(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.bigInt({ min: 0n, max: 2n ** 70n }).map(Number),
  fc.double(),
  fc.double({ min: 0, max: 1e30, noNaN: true }),
  fc.integer({ min: 0, max: 60 }).map((k) => 2 ** k),
  fc.integer({ min: 0, max: 30 }).map((k) => 10 ** k),
  fc.integer({ min: 0, max: 6 }).chain((k) => fc.integer({ min: 1, max: 4096 }).map((m) => m * 1024 ** k)),
  fc.constantFrom(0, -0, 999, 1000, 1023, 1024, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, Number.MAX_VALUE),
);

describe("quantities, fuzzed", () => {
  it("formatCpu(nanocores) parses back to the value, and writeCpuText writes the same", () => {
    const buf = new Uint8Array(32);
    fuzz(
      fc.property(anyValue, (v) => {
        const text = formatCpu(v);
        assert.equal(parseQuantity(text, -9), integerOf(v), text);
        const end = writeCpuText(buf, 0, v);
        if (end >= 0) assert.equal(Buffer.from(buf.subarray(0, end)).toString("latin1"), text);
      }),
      10_000,
    );
  });

  it("formatMemory(bytes) parses back to the value, and writeMemoryText writes the same", () => {
    const buf = new Uint8Array(32);
    fuzz(
      fc.property(anyValue, (v) => {
        const text = formatMemory(v);
        assert.equal(parseQuantity(text), integerOf(v), text);
        const end = writeMemoryText(buf, 0, v);
        if (end >= 0) assert.equal(Buffer.from(buf.subarray(0, end)).toString("latin1"), text);
      }),
      10_000,
    );
  });

  it("parseQuantity: a number or a plain Error for any text, without building huge numbers", () => {
    const quantityText = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."0123456789.+-eEnumkMGTPi "), maxLength: 16 }),
      fc
        .tuple(fc.stringMatching(/^[+-]?\d{1,30}(\.\d{0,30})?$/), fc.integer({ min: -1e12, max: 1e12 }))
        .map(([n, e]) => `${n}e${e}`),
      fc.constantFrom("1e999999999999999999999", "1e-999999999999999999999", "0e99999999999"),
    );
    fuzz(
      fc.property(
        quantityText,
        fc.constantFrom(0, -9),
        fc.constantFrom("truncate" as const, "ceil" as const),
        (text, scale, rounding) => {
          let value: number;
          try {
            value = parseQuantity(text, scale, rounding);
          } catch (err) {
            assert.ok(err instanceof Error && err.constructor === Error, `threw ${String(err)}`);
            return;
          }
          assert.equal(typeof value, "number");
          assert.ok(!Number.isNaN(value), text);
        },
      ),
      8_000,
    );
  });
});

describe("durations, fuzzed", () => {
  it("formatGoDurationNs(int64 ns) parses back exactly; beyond int64 it saturates", () => {
    fuzz(
      fc.property(
        fc.oneof(
          fc.bigInt({ min: MIN_INT64, max: MAX_INT64 }),
          fc.bigInt({ min: -(10n ** 13n), max: 10n ** 13n }),
          fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
          fc.constantFrom(0n, 1n, -1n, 999n, 1000n, 999_999n, 10n ** 9n, MAX_INT64, MIN_INT64),
        ),
        (ns) => {
          const text = formatGoDurationNs(ns);
          const clamped = ns > MAX_INT64 ? MAX_INT64 : ns < MIN_INT64 ? MIN_INT64 : ns;
          assert.equal(parseGoDurationNs(text), clamped, text);
        },
      ),
      10_000,
    );
  });

  it("formatGoDuration(ms) parses back to the nearest nanosecond; beyond int64 it saturates", () => {
    fuzz(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true }),
          fc.double({ min: -1e7, max: 1e7, noNaN: true }),
          fc.integer({ min: -1e9, max: 1e9 }).map((n) => n / 1000),
          fc.constantFrom(
            0,
            -0,
            0.0005,
            0.0000005,
            0.9999999,
            9223372036854.775,
            9223372036854.777,
            Number.NaN,
          ),
        ),
        (ms) => {
          const text = formatGoDuration(ms);
          const parsed = parseGoDurationNs(text);
          if (!Number.isFinite(ms)) {
            assert.equal(parsed, 0n);
            return;
          }
          if (Math.abs(ms) * 1e6 >= 2 ** 63) {
            assert.equal(parsed, ms < 0 ? MIN_INT64 : MAX_INT64, text);
            return;
          }
          // |ms| splits exactly into whole and fraction; the fraction's nanoseconds round once.
          const abs = Math.abs(ms);
          const whole = Math.trunc(abs);
          const nearest = BigInt(whole) * 1_000_000n + BigInt(Math.round((abs - whole) * 1e6));
          const expected = ms < 0 ? -nearest : nearest;
          assert.equal(parsed, expected, `${ms} → ${text}`);
        },
      ),
      10_000,
    );
  });

  it("parseGoDurationNs: int64 nanoseconds or a time: error for any text, and its value formats back", () => {
    const durationText = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."0123456789.+-hmsuµμn "), maxLength: 14 }),
      fc
        .array(
          fc.tuple(
            fc.stringMatching(/^\d{1,12}(\.\d{0,12})?$/),
            fc.constantFrom("h", "m", "s", "ms", "us", "µs", "ns"),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        )
        .map((terms) => terms.map(([n, u]) => n + u).join("")),
    );
    fuzz(
      fc.property(durationText, (text) => {
        let ns: bigint;
        try {
          ns = parseGoDurationNs(text);
        } catch (err) {
          assert.ok(err instanceof Error && err.message.startsWith("time: "), `threw ${String(err)}`);
          return;
        }
        assert.ok(ns >= MIN_INT64 && ns <= MAX_INT64, text);
        assert.equal(parseGoDurationNs(formatGoDurationNs(ns)), ns, text);
      }),
      8_000,
    );
  });
});

describe("the Go formats' fuzz findings", () => {
  it("a cpu or memory figure beyond 2^53 is written with its exact digits, and saturates at int64", () => {
    // String(1e25) is "1e+25": "1e+25n" was no quantity. String(2 ** 60) rounded the digits.
    assert.equal(formatCpu(2 ** 60), "1152921504606846976n");
    assert.equal(formatCpu(1e25), "9223372036854775807n");
    assert.equal(formatCpu(-1e25), "-9223372036854775808n");
    assert.equal(formatMemory(1e300), "9223372036854775807");
    assert.equal(formatMemory(-(2 ** 63)), "-8Ei");
    assert.equal(formatMemory(2 ** 62 + 2 ** 12), "4503599627370500Ki");
  });

  it("a duration beyond int64 nanoseconds saturates, as Go's Time.Sub does", () => {
    // Before: "2.777777777777778e+293h24m36s".
    assert.equal(formatGoDuration(1e300), "2562047h47m16.854775807s");
    assert.equal(formatGoDuration(-1e300), "-2562047h47m16.854775808s");
    assert.equal(formatGoDurationNs(2n ** 70n), "2562047h47m16.854775807s");
  });

  it("a quantity with a huge exponent is infinite or zero, at once", () => {
    // 10n ** BigInt(999999999) took minutes and gigabytes; an exponent past a double's made
    // BigInt(Infinity) throw a RangeError.
    assert.equal(parseQuantity("1e999999999"), Number.POSITIVE_INFINITY);
    assert.equal(parseQuantity(`-1e${"9".repeat(400)}`), Number.NEGATIVE_INFINITY);
    assert.equal(parseQuantity("5e-999999999"), 0);
    assert.equal(parseQuantity("5e-999999999", 0, "ceil"), 1);
    assert.equal(parseQuantity("0e999999999"), 0);
  });
});
