// Go's time.Duration: time.ParseDuration for flags and Duration.String() for flags' help, log lines
// and the `window` of metrics.k8s.io objects. Durations travel as milliseconds (fractions allowed)
// through the program, and as exact int64 nanoseconds (bigint) where a flag value is parsed.

import { goQuote } from "./quote.ts";

const NS_PER_MS = 1_000_000n;
const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);
const TWO_TO_63 = 2 ** 63;

const unitNs: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // µ MICRO SIGN, what Go prints
  "\u03bcs": 1_000n, // μ GREEK SMALL LETTER MU, also accepted by Go
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/**
 * Go's time.ParseDuration, returning nanoseconds exactly. Grammar: optional sign, then one or more
 * `<decimal><unit>` terms ("1h2m3.5s"); the bare string "0" is allowed without a unit.
 */
export function parseGoDurationNs(input: string): bigint {
  const invalid = () => new Error("time: invalid duration " + goQuote(input));
  let s = input;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let total = 0n;
  while (s !== "") {
    if (s[0] !== "." && !isDigit(s[0])) throw invalid();
    let i = 0;
    while (isDigit(s[i])) i++;
    const whole = s.slice(0, i);
    s = s.slice(i);
    let fraction = "";
    if (s[0] === ".") {
      let j = 1;
      while (isDigit(s[j])) j++;
      fraction = s.slice(1, j);
      s = s.slice(j);
    }
    if (whole === "" && fraction === "") throw invalid();
    let u = 0;
    while (u < s.length && s[u] !== "." && !isDigit(s[u])) u++;
    if (u === 0) throw new Error("time: missing unit in duration " + goQuote(input));
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = unitNs[unitName];
    if (unit === undefined) {
      throw new Error("time: unknown unit " + goQuote(unitName) + " in duration " + goQuote(input));
    }
    let term = BigInt(whole || "0") * unit;
    if (fraction !== "") {
      // Go truncates the fractional part to whole nanoseconds; exact decimal arithmetic does the same.
      term += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    }
    total += term;
    if (total > 1n << 63n) throw invalid();
  }
  if (!negative && total > MAX_INT64) throw invalid();
  return negative ? -total : total;
}

/** Go's time.ParseDuration in milliseconds (fractions kept, e.g. "1.5us" → 0.0015). */
export function parseGoDuration(input: string): number {
  return nsToMs(parseGoDurationNs(input));
}

/** Nanoseconds to milliseconds without losing precision for whole milliseconds. */
export function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;
}

/** Milliseconds (fractions allowed) to whole nanoseconds, rounding the sub-nanosecond rest. */
export function msToNs(ms: number): bigint {
  if (!Number.isFinite(ms)) throw new RangeError(`not a finite duration: ${ms}`);
  const whole = Math.trunc(ms);
  return BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
}

/**
 * Go's Duration.String() for a millisecond value, rounded to whole nanoseconds: "10s", "1.5ms",
 * "1m30s", "0s". Not-finite values print as "0s"; values beyond a Duration's int64 nanoseconds as its
 * limit, as Go's Time.Sub saturates.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "0s";
  const abs = Math.abs(ms);
  if (abs * 1e6 >= TWO_TO_63) return formatGoDurationNs(ms < 0 ? MIN_INT64 : MAX_INT64);
  let wholeMs = Math.trunc(abs);
  let subMsNs = Math.round((abs - wholeMs) * 1e6);
  if (subMsNs === 1e6) {
    wholeMs++;
    subMsNs = 0;
  }
  const seconds = Math.floor(wholeMs / 1000);
  return formatParts(ms < 0, seconds, (wholeMs - seconds * 1000) * 1e6 + subMsNs);
}

/**
 * Go's Duration.String() for a nanosecond count: "1m0s", "1.5µs", "-2h45m0s". A bigint is exact over
 * all of int64; a number is truncated to whole nanoseconds and exact below 2^53 (about 104 days).
 * Beyond int64 either saturates at its limit, as formatGoDuration.
 */
export function formatGoDurationNs(ns: bigint | number): string {
  if (typeof ns === "bigint") {
    if (ns > MAX_INT64 || ns < MIN_INT64) ns = ns < 0n ? MIN_INT64 : MAX_INT64;
    const u = ns < 0n ? -ns : ns;
    return formatParts(ns < 0n, Number(u / 1_000_000_000n), Number(u % 1_000_000_000n));
  }
  if (!Number.isFinite(ns)) return "0s";
  if (Math.abs(ns) >= TWO_TO_63) return formatGoDurationNs(ns < 0 ? MIN_INT64 : MAX_INT64);
  const u = Math.trunc(Math.abs(ns));
  const seconds = Math.floor(u / 1e9);
  return formatParts(ns < 0, seconds, u - seconds * 1e9);
}

/** The text of (seconds + nanos / 1e9) seconds, nanos in [0, 1e9). */
function formatParts(negative: boolean, seconds: number, nanos: number): string {
  if (seconds === 0 && nanos === 0) return "0s";
  const sign = negative ? "-" : "";
  if (seconds === 0) {
    // Below a second Go picks the largest unit that keeps an integer part, µ as U+00B5 MICRO SIGN.
    if (nanos < 1e3) return `${sign}${nanos}ns`;
    if (nanos < 1e6) return `${sign}${decimal(nanos, 3)}\u00b5s`;
    return `${sign}${decimal(nanos, 6)}ms`;
  }
  let out = `${seconds % 60}${fractionDigits(nanos, 9)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes > 0) {
    out = `${minutes % 60}m${out}`;
    const hours = Math.floor(minutes / 60);
    if (hours > 0) out = `${hours}h${out}`;
  }
  return sign + out;
}

/** v / 10^digits as "integer[.fraction]" without trailing zeros. */
function decimal(v: number, digits: number): string {
  const unit = 10 ** digits;
  const integer = Math.floor(v / unit);
  return `${integer}${fractionDigits(v - integer * unit, digits)}`;
}

/** ".ddd" for a fraction of 10^digits, without trailing zeros; "" when it is zero. */
function fractionDigits(remainder: number, digits: number): string {
  if (remainder === 0) return "";
  return "." + String(remainder).padStart(digits, "0").replace(/0+$/, "");
}
