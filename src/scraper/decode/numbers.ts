// Sample values and timestamps, read from a body's bytes: values with Go's strconv.ParseFloat syntax
// (what upstream's decoder accepts), timestamps as int64 milliseconds. The common tokens (what kubelets
// write) are computed in the same pass that finds their end, without making a string; the rest go
// through parseGoFloat.
import { parseGoFloat } from "../../go/index.ts";
import * as ranges from "./byte-ranges.ts";
import * as syntax from "./syntax.ts";

// Module constants, not imported bindings, in the per-line loops: V8 reads an import through its
// module cell at every use, which made these loops measurably slower (docs/scraping.md).
const { asciiText, utf8Text } = ranges;
const {
  atLineEnd,
  CH_0,
  CH_DOT,
  CH_MINUS,
  CH_PLUS,
  endsToken,
  isBlank,
  isDigit,
  ParseError,
  quoteToken,
  tokenEnd,
} = syntax;

// Powers of ten that are exact doubles (10^22 is the largest).
const EXACT_POW10: number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Digits whose integer value is always below 2^53, so it is held exactly. */
const MAX_EXACT_DIGITS = 15;

/**
 * What the last successful readDecimal or readTimestamp read: the number (in a Float64Array: a double
 * returned from a call that is not inlined, or stored in an object field, is boxed, which was an
 * allocation per sample line) and the index after its token.
 */
export const scanned = { number: new Float64Array(1), end: 0 };

const TWO_TO_53 = 2 ** 53;
const TWO_TO_24 = 2 ** 24;
/** Decimal digits readDecimal reads into a number: 10^19 < 2^64, which nearestDecimal relies on. */
const MAX_DECIMAL_DIGITS = 19;

/**
 * The fast path for the value token at `start` (not at a line end), without first finding the
 * token's end: true, with the value in `scanned`, for a plain decimal of at most 19 digits that is
 * read exactly here (see below); false for any other token, which the caller then reads with
 * goFloatBytes over [start, tokenEnd).
 *
 * Its digits make an integer m and the dot and exponent a scale s; the value is m × 10^s. When m is
 * below 2^53 and |s| ≤ 22, m and 10^|s| are exact doubles and one multiplication or division rounds
 * once, to the double Number() gives. Longer mantissas, such as the 17-digit start times kubelets
 * write (`1.7327340564563818e+09`), go through nearestDecimal for -15 ≤ s ≤ 0.
 */
export function readDecimal(bytes: Uint8Array, start: number): boolean {
  const len = bytes.length;
  let i = start;
  // Past the body, c reads as 0: no digit, sign, dot or 'e'.
  let c = bytes[i];
  const negative = c === CH_MINUS;
  if (negative || c === CH_PLUS) c = ++i < len ? bytes[i] : 0;
  // m = mantissa × 10^lowDigits + low: the first 15 digits, then up to 4 more.
  let mantissa = 0;
  let low = 0;
  let lowDigits = 0;
  let digits = 0;
  let scale = 0;
  let fraction = false;
  for (;;) {
    if (isDigit(c)) {
      if (digits < MAX_EXACT_DIGITS) mantissa = mantissa * 10 + (c - CH_0);
      else {
        low = low * 10 + (c - CH_0);
        lowDigits++;
      }
      digits++;
      if (fraction) scale--;
    } else if (c === CH_DOT && !fraction) fraction = true;
    else break;
    c = ++i < len ? bytes[i] : 0;
  }
  if (digits === 0 || digits > MAX_DECIMAL_DIGITS) return false;
  if (c === 101 || c === 69 /* e E */) {
    c = ++i < len ? bytes[i] : 0;
    const negativeExponent = c === CH_MINUS;
    if (negativeExponent || c === CH_PLUS) c = ++i < len ? bytes[i] : 0;
    let exponent = 0;
    let exponentDigits = 0;
    while (isDigit(c) && exponentDigits < 4) {
      exponent = exponent * 10 + (c - CH_0);
      exponentDigits++;
      c = ++i < len ? bytes[i] : 0;
    }
    if (exponentDigits === 0) return false;
    scale += negativeExponent ? -exponent : exponent;
  }
  // The number must be the whole token (`1.5x` is not one).
  if (!endsToken(bytes, i)) return false;
  // Below 2^53 the sum is exact: rounding is monotone, so a sum that rounded is at least 2^53.
  const whole = lowDigits === 0 ? mantissa : mantissa * EXACT_POW10[lowDigits] + low;
  if (whole < TWO_TO_53) {
    if (scale < -22 || scale > 22) return false;
    const magnitude = scale < 0 ? whole / EXACT_POW10[-scale] : whole * EXACT_POW10[scale];
    scanned.number[0] = negative ? -magnitude : magnitude;
  } else {
    if (scale < -MAX_EXACT_DIGITS || scale > 0) return false;
    if (!nearestDecimal(mantissa, lowDigits, low, -scale)) return false;
    if (negative) scanned.number[0] = -scanned.number[0];
  }
  scanned.end = i;
  return true;
}

/** Veltkamp's splitter for doubles, 2^27 + 1: splits a double into two halves of 26 bits. */
const SPLITTER = 134217729;
const doubleBits = new DataView(new ArrayBuffer(8));

/** The double next to the finite x > 0: above it when `up`, else below it. */
function adjacentDouble(x: number, up: boolean): number {
  doubleBits.setFloat64(0, x);
  let high = doubleBits.getUint32(0);
  let low = doubleBits.getUint32(4);
  if (up) {
    low = (low + 1) >>> 0;
    if (low === 0) high++;
  } else {
    if (low === 0) high--;
    low = (low - 1) >>> 0;
  }
  doubleBits.setUint32(0, high);
  doubleBits.setUint32(4, low);
  return doubleBits.getFloat64(0);
}

/** x > 0 has an even significand (the one round-half-even picks). */
function isEvenDouble(x: number): boolean {
  doubleBits.setFloat64(0, x);
  return (doubleBits.getUint32(4) & 1) === 0;
}

/**
 * Puts in scanned.number[0] the double nearest m / 10^t (ties to even), for m = mantissa × 10^k + low
 * with mantissa < 10^15, k ≤ 4, low < 10^k (so m < 10^19 < 2^64), m ≥ 2^53, and 0 ≤ t ≤ 15; false if
 * it is not settled (meant never to happen; the caller then reads the token as a string). The result
 * goes through `scanned` rather than being returned, so that it is not boxed.
 *
 * m is not a double, so it is held exactly as head + tail (head the double nearest m). A first
 * estimate q = head / 10^t is within two doubles of the answer. For a candidate q, the remainder
 * r = m − q × 10^t is computed exactly (Dekker's product gives q × 10^t as p + e exactly; head − p is
 * exact by Sterbenz's lemma, and every sum after it is a multiple of q's last place below 2^53 of
 * them, because 10^t < 2^51), and compared with half the gap to the neighbour on r's side, itself
 * exact (a power of two times 10^t). Within it, q is the answer; on it, the even one of the two;
 * beyond it, the neighbour is the next candidate.
 */
function nearestDecimal(mantissa: number, k: number, low: number, t: number): boolean {
  // mantissa = upper × 2^24 + lower, whose products with 10^k (< 2^14) are exact; then TwoSum.
  const upper = Math.floor(mantissa / TWO_TO_24);
  const lower = mantissa - upper * TWO_TO_24;
  const a = upper * EXACT_POW10[k] * TWO_TO_24;
  const b = lower * EXACT_POW10[k] + low;
  const head = a + b;
  const bPart = head - a;
  const tail = a - (head - bPart) + (b - bPart);
  const out = scanned.number;
  if (t === 0) {
    out[0] = head;
    return true;
  }
  const d = EXACT_POW10[t];
  let c = SPLITTER * d;
  const dHigh = c - (c - d);
  const dLow = d - dHigh;
  let q = head / d;
  for (let step = 0; step < 4; step++) {
    const p = q * d;
    c = SPLITTER * q;
    const qHigh = c - (c - q);
    const qLow = q - qHigh;
    const e = qHigh * dHigh - p + qHigh * dLow + qLow * dHigh + qLow * dLow;
    const r = head - p - e + tail;
    const next = adjacentDouble(q, r > 0);
    const half = Math.abs(next - q) * d * 0.5;
    const distance = Math.abs(r);
    if (distance < half) {
      out[0] = q;
      return true;
    }
    if (distance === half) {
      out[0] = isEvenDouble(q) ? q : next;
      return true;
    }
    q = next;
  }
  return false;
}

/**
 * The end of the token at `start` if it is a plain decimal (what DECIMAL_FLOAT matches, any number of
 * digits), else -1.
 */
export function decimalEnd(bytes: Uint8Array, start: number): number {
  const len = bytes.length;
  let i = start;
  if (i < len && (bytes[i] === CH_MINUS || bytes[i] === CH_PLUS)) i++;
  let digits = 0;
  while (i < len && isDigit(bytes[i])) {
    i++;
    digits++;
  }
  if (i < len && bytes[i] === CH_DOT) {
    i++;
    while (i < len && isDigit(bytes[i])) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return -1;
  if (i < len && (bytes[i] === 101 || bytes[i] === 69) /* e E */) {
    i++;
    if (i < len && (bytes[i] === CH_MINUS || bytes[i] === CH_PLUS)) i++;
    const exponentStart = i;
    while (i < len && isDigit(bytes[i])) i++;
    if (i === exponentStart) return -1;
  }
  return endsToken(bytes, i) ? i : -1;
}

/**
 * parseGoFloat for the token bytes[start, end), without a regular expression for a plain decimal. Read
 * as ASCII: a token with other bytes is no number either way.
 */
export function goFloatBytes(bytes: Uint8Array, start: number, end: number): number | undefined {
  const token = asciiText(bytes, start, end);
  return decimalEnd(bytes, start) === end ? Number(token) : parseGoFloat(token);
}

/**
 * The fast path for the timestamp token at `start` (not at a line end): true, with the value in
 * `scanned`, for 1 to 15 digits (a kubelet's 13); false for any other token, which the caller then
 * reads with timestampBytes over [start, tokenEnd).
 */
export function readTimestamp(bytes: Uint8Array, start: number): boolean {
  const len = bytes.length;
  const limit = Math.min(len, start + MAX_EXACT_DIGITS);
  let ms = 0;
  let i = start;
  for (; i < limit; i++) {
    const digit = bytes[i] - CH_0;
    if (digit < 0 || digit > 9) break;
    ms = ms * 10 + digit;
  }
  if (i === start || !endsToken(bytes, i)) return false;
  scanned.number[0] = ms;
  scanned.end = i;
  return true;
}

/**
 * The int64 millisecond timestamp bytes[start, end). Negative ones are before 1970 and upstream's
 * decoder fails on them, so they are rejected here too.
 */
export function timestampBytes(bytes: Uint8Array, start: number, end: number, lineNo: number): number {
  let i = start;
  if (bytes[i] === CH_PLUS) i++;
  let ms = 0;
  const digitsStart = i;
  while (i < end && isDigit(bytes[i])) {
    ms = ms * 10 + (bytes[i] - CH_0);
    i++;
  }
  if (i !== end || i === digitsStart)
    throw new ParseError(`invalid timestamp ${quoteToken(utf8Text(bytes, start, end))}`, lineNo);
  if (i - digitsStart > MAX_EXACT_DIGITS) ms = Number(asciiText(bytes, digitsStart, end));
  if (!Number.isSafeInteger(ms))
    throw new ParseError(`timestamp out of range ${quoteToken(utf8Text(bytes, start, end))}`, lineNo);
  return ms;
}

// Where readSample puts a line's value and timestamp.
export const SAMPLE_VALUE = 0;
export const SAMPLE_TIMESTAMP = 1;

/**
 * Reads a sample line's value and optional timestamp from `i` (just after the name or label set) into
 * `sample`, checking that nothing else is on the line; returns the line's end. The
 * numbers travel in a Float64Array so that the decoder's loop handles them as raw doubles: mixed with
 * the tagged results of the rare slow paths they were boxed, an allocation per line.
 * @param checkOnly the value is not used (other families): it is validated, not computed.
 */
export function readSample(
  bytes: Uint8Array,
  i: number,
  checkOnly: boolean,
  lineNo: number,
  defaultTimestampMs: number,
  sample: Float64Array,
): number {
  const len = bytes.length;
  if (atLineEnd(bytes, i) || !isBlank(bytes[i])) throw new ParseError("expected a value", lineNo);
  while (i < len && isBlank(bytes[i])) i++;
  if (atLineEnd(bytes, i)) throw new ParseError("expected a value", lineNo);
  if (checkOnly) {
    // Long digit runs (pod_* lines have them) would cost a string each to compute.
    let end = decimalEnd(bytes, i);
    if (end < 0) {
      end = tokenEnd(bytes, i);
      if (goFloatBytes(bytes, i, end) === undefined)
        throw new ParseError(`invalid value ${quoteToken(utf8Text(bytes, i, end))}`, lineNo);
    }
    sample[SAMPLE_VALUE] = 0;
    i = end;
  } else if (readDecimal(bytes, i)) {
    sample[SAMPLE_VALUE] = scanned.number[0];
    i = scanned.end;
  } else {
    const end = tokenEnd(bytes, i);
    const value = goFloatBytes(bytes, i, end);
    if (value === undefined)
      throw new ParseError(`invalid value ${quoteToken(utf8Text(bytes, i, end))}`, lineNo);
    sample[SAMPLE_VALUE] = value;
    i = end;
  }

  // Optional timestamp: integer milliseconds.
  while (i < len && isBlank(bytes[i])) i++;
  sample[SAMPLE_TIMESTAMP] = defaultTimestampMs;
  if (!atLineEnd(bytes, i)) {
    if (readTimestamp(bytes, i)) {
      sample[SAMPLE_TIMESTAMP] = scanned.number[0];
      i = scanned.end;
    } else {
      const end = tokenEnd(bytes, i);
      sample[SAMPLE_TIMESTAMP] = timestampBytes(bytes, i, end, lineNo);
      i = end;
    }
    while (i < len && isBlank(bytes[i])) i++;
    if (!atLineEnd(bytes, i)) throw new ParseError(`unexpected text after timestamp`, lineNo);
  }
  return i;
}
