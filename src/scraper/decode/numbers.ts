// Token parsers for the Prometheus text exposition (0.0.4) as decode.ts reads it: sample values with
// Go's strconv.ParseFloat syntax, integer millisecond timestamps, and label sets. The functions that
// take a string work on a range of one decoded body string, so no per-line substrings are made unless
// a value needs one; their *Bytes twins below read an ASCII body's bytes directly (decode-bytes.ts)
// and must give the same value or the same error for the same characters.

import { Buffer } from "node:buffer";
import type { ContainerAccumulator } from "./accumulators.ts";
import { asciiString } from "./byte-ranges.ts";

export const CH_TAB = 9;
export const CH_CR = 13;
export const CH_SPACE = 32;
export const CH_HASH = 35;
export const CH_LBRACE = 123;
export const CH_LF = 10;
const CH_QUOTE = 34;
const CH_PLUS = 43;
const CH_COMMA = 44;
const CH_MINUS = 45;
const CH_DOT = 46;
const CH_0 = 48;
const CH_9 = 57;
const CH_COLON = 58;
const CH_EQUALS = 61;
const CH_BACKSLASH = 92;
const CH_RBRACE = 125;

// The families the decoders store (reference upstream-behaviour.md §1.5), by metric name.
export const NODE_CPU = "node_cpu_usage_seconds_total";
export const NODE_MEMORY = "node_memory_working_set_bytes";
export const CONTAINER_CPU = "container_cpu_usage_seconds_total";
export const CONTAINER_MEMORY = "container_memory_working_set_bytes";
export const CONTAINER_START = "container_start_time_seconds";
// Swap (reference wire-formats.md §1) is read for the optional swap usage only; upstream ignores it,
// so these samples never set a timestamp and never make a point complete or incomplete.
export const NODE_SWAP = "node_swap_usage_bytes";
export const CONTAINER_SWAP = "container_swap_usage_bytes";

export const FAMILY_NODE_CPU = 1;
export const FAMILY_NODE_MEMORY = 2;
export const FAMILY_CONTAINER_CPU = 3;
export const FAMILY_CONTAINER_MEMORY = 4;
export const FAMILY_CONTAINER_START = 5;
export const FAMILY_NODE_SWAP = 6;
export const FAMILY_CONTAINER_SWAP = 7;

/** A counter or byte count that is NaN, infinite or negative cannot be used; 0 marks it missing. */
export function usable(v: number): number {
  return Number.isFinite(v) && v > 0 ? v : 0;
}

/** A swap byte count: NaN (unknown) unless finite and non-negative; 0 is a real value (swap off). */
export function swapAmount(v: number): number {
  return Number.isFinite(v) && v >= 0 ? Math.trunc(v) : Number.NaN;
}

/** A node's own point while a /metrics/resource body is decoded. */
export class NodeSamples {
  timestampMs = 0;
  cpuNs = 0;
  memoryBytes = 0;
  /** NaN = not reported. */
  swapBytes = Number.NaN;
}

/**
 * Records one sample line in `node` when it belongs to a node family (or to no family the decoders
 * keep) and returns true; returns false for a container family, whose sample goes to containerSample.
 * As upstream reads them (reference §1.5): CPU and memory both set the point's time, the later line
 * winning; swap never does, and never makes a point complete or incomplete.
 */
export function nodeSample(node: NodeSamples, family: number, value: number, timestampMs: number): boolean {
  switch (family) {
    case 0:
      return true;
    case FAMILY_NODE_CPU:
      node.cpuNs = Math.trunc(usable(value) * 1e9);
      node.timestampMs = timestampMs;
      return true;
    case FAMILY_NODE_MEMORY:
      node.memoryBytes = Math.trunc(usable(value));
      node.timestampMs = timestampMs;
      return true;
    case FAMILY_NODE_SWAP:
      node.swapBytes = swapAmount(value);
      return true;
    default:
      return false;
  }
}

/** Records one sample line of a container family in its container, as nodeSample does for nodes. */
export function containerSample(
  c: ContainerAccumulator,
  family: number,
  value: number,
  timestampMs: number,
): void {
  if (family === FAMILY_CONTAINER_CPU) {
    c.cpuNs = Math.trunc(usable(value) * 1e9);
    c.timestampMs = timestampMs;
  } else if (family === FAMILY_CONTAINER_MEMORY) {
    c.memoryBytes = Math.trunc(usable(value));
    c.timestampMs = timestampMs;
  } else if (family === FAMILY_CONTAINER_SWAP) {
    c.swapBytes = swapAmount(value);
    c.swapSeen = true;
  } else {
    // The start time's own sample timestamp is ignored, as upstream does.
    c.startTimeMs = usable(value) * 1000;
  }
}

export class ParseError extends Error {
  constructor(what: string, line: number) {
    super(`failed parsing metrics: ${what} at line ${line}`);
    this.name = "ParseError";
  }
}

export function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === CH_COLON;
}

export function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= CH_0 && c <= CH_9);
}

export function isBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB;
}

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?inf(?:inity)?$/i;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

/** Go's strconv.ParseFloat syntax (decimal, exponent, Inf/Infinity, NaN, hex with p-exponent). */
export function parseGoFloat(token: string): number | undefined {
  if (DECIMAL_FLOAT.test(token)) return Number(token);
  if (INFINITY.test(token)) return token.charCodeAt(0) === CH_MINUS ? -Infinity : Infinity;
  if (token.length === 3 && token.toLowerCase() === "nan") return Number.NaN;
  const hex = HEX_FLOAT.exec(token);
  if (hex && (hex[2].length > 0 || (hex[3] ?? "").length > 0)) {
    const fraction = hex[3] ?? "";
    const mantissa = Number.parseInt((hex[2] || "0") + fraction, 16);
    const value = mantissa * 2 ** (Number(hex[4]) - 4 * fraction.length);
    return hex[1] === "-" ? -value : value;
  }
  return undefined;
}

// Powers of ten that are exact doubles (10^22 is the largest).
const EXACT_POW10: number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Digits whose integer value is always below 2^53, so it is held exactly. */
const MAX_EXACT_DIGITS = 15;

/**
 * The value of text[start, end) as Go's ParseFloat reads it, or undefined if it is not a number.
 * Plain decimals with at most 15 digits and a small exponent (what kubelets write: `1457.392812`,
 * `1.8239488e+07`) are computed here without a substring: an exact integer mantissa times or divided
 * by an exact power of ten is one correctly rounded operation, so the result is the same double
 * Number() gives. Everything else (longer mantissas, Inf, NaN, hex floats) goes through parseGoFloat.
 */
export function parseValue(text: string, start: number, end: number): number | undefined {
  let i = start;
  let c = text.charCodeAt(i);
  const negative = c === CH_MINUS;
  if (negative || c === CH_PLUS) c = text.charCodeAt(++i);
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  while (i < end && isDigit(c)) {
    mantissa = mantissa * 10 + (c - CH_0);
    digits++;
    c = text.charCodeAt(++i);
  }
  if (i < end && c === CH_DOT) {
    c = text.charCodeAt(++i);
    while (i < end && isDigit(c)) {
      mantissa = mantissa * 10 + (c - CH_0);
      digits++;
      scale--;
      c = text.charCodeAt(++i);
    }
  }
  if (digits === 0 || digits > MAX_EXACT_DIGITS) return parseGoFloat(text.slice(start, end));
  if (i < end && (c === 101 || c === 69) /* e E */) {
    c = text.charCodeAt(++i);
    const negativeExponent = c === CH_MINUS;
    if (negativeExponent || c === CH_PLUS) c = text.charCodeAt(++i);
    let exponent = 0;
    let exponentDigits = 0;
    while (i < end && isDigit(c) && exponentDigits < 4) {
      exponent = exponent * 10 + (c - CH_0);
      exponentDigits++;
      c = text.charCodeAt(++i);
    }
    if (exponentDigits === 0) return parseGoFloat(text.slice(start, end));
    scale += negativeExponent ? -exponent : exponent;
  }
  if (i !== end || scale < -22 || scale > 22) return parseGoFloat(text.slice(start, end));
  const magnitude = scale < 0 ? mantissa / EXACT_POW10[-scale] : mantissa * EXACT_POW10[scale];
  return negative ? -magnitude : magnitude;
}

/** A token for an error message, shortened so a garbage body cannot make a giant log line. */
export function quoteToken(token: string): string {
  return JSON.stringify(token.length > 40 ? token.slice(0, 40) + "..." : token);
}

/**
 * An int64 millisecond timestamp in text[start, end). Negative ones are before 1970 and upstream's
 * decoder fails on them, so they are rejected here too.
 */
export function parseTimestamp(text: string, start: number, end: number, lineNo: number): number {
  let i = start;
  if (text.charCodeAt(i) === CH_PLUS) i++;
  let ms = 0;
  const digitsStart = i;
  while (i < end && isDigit(text.charCodeAt(i))) {
    ms = ms * 10 + (text.charCodeAt(i) - CH_0);
    i++;
  }
  const token = (): string => text.slice(start, end);
  if (i !== end || i === digitsStart)
    throw new ParseError(`invalid timestamp ${quoteToken(token())}`, lineNo);
  // Up to 15 digits the running value is exact; longer tokens are read whole to check the range.
  if (i - digitsStart > MAX_EXACT_DIGITS) ms = Number(text.slice(digitsStart, end));
  if (!Number.isSafeInteger(ms))
    throw new ParseError(`timestamp out of range ${quoteToken(token())}`, lineNo);
  return ms;
}

/** The three labels the decoder keeps; any other label is validated and ignored. */
export interface ContainerLabels {
  container: string;
  namespace: string;
  pod: string;
}

/** Parses `name="value",...}` starting after `{` into `out`; returns the index after `}`. */
export function parseLabels(
  text: string,
  start: number,
  stop: number,
  lineNo: number,
  out: ContainerLabels,
): number {
  let i = start;
  for (;;) {
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    if (i >= stop) throw new ParseError("unterminated label set", lineNo);
    if (text.charCodeAt(i) === CH_RBRACE) return i + 1;
    const nameStart = i;
    if (!isNameStart(text.charCodeAt(i)) || text.charCodeAt(i) === CH_COLON) {
      throw new ParseError("invalid label name", lineNo);
    }
    while (i < stop && isNameChar(text.charCodeAt(i)) && text.charCodeAt(i) !== CH_COLON) i++;
    const nameEnd = i;
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== CH_EQUALS) throw new ParseError("expected '=' after label name", lineNo);
    i++;
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== CH_QUOTE) throw new ParseError("expected '\"' to start label value", lineNo);
    i++;
    // Fast path: no backslash before the next quote, so that quote closes the value.
    const close = text.indexOf('"', i);
    if (close < 0 || close >= stop) throw new ParseError("unterminated label value", lineNo);
    let escaped = false;
    for (let k = i; k < close; k++) {
      if (text.charCodeAt(k) === CH_BACKSLASH) {
        escaped = true;
        break;
      }
    }
    let value: string;
    if (!escaped) {
      value = text.slice(i, close);
      i = close + 1;
    } else {
      [value, i] = unescapeValue(text, i, stop, lineNo);
    }
    const nameLen = nameEnd - nameStart;
    if (nameLen === 3 && text.startsWith("pod", nameStart)) out.pod = value;
    else if (nameLen === 9) {
      if (text.startsWith("container", nameStart)) out.container = value;
      else if (text.startsWith("namespace", nameStart)) out.namespace = value;
    }
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    const sep = text.charCodeAt(i);
    if (sep === CH_COMMA) i++;
    else if (sep !== CH_RBRACE) throw new ParseError("expected ',' or '}' after label value", lineNo);
  }
}

/** A label value with escapes, from its first character; returns it and the index after its quote. */
function unescapeValue(text: string, start: number, stop: number, lineNo: number): [string, number] {
  let value = "";
  let j = start;
  for (;;) {
    if (j >= stop) throw new ParseError("unterminated label value", lineNo);
    const c = text.charCodeAt(j);
    if (c === CH_QUOTE) return [value, j + 1];
    if (c === CH_BACKSLASH) {
      if (j + 1 >= stop) throw new ParseError("unterminated label value", lineNo);
      const e = text.charCodeAt(j + 1);
      if (e === CH_BACKSLASH) value += "\\";
      else if (e === CH_QUOTE) value += '"';
      else if (e === 110 /* n */) value += "\n";
      else value += text[j] + text[j + 1]; // unknown escapes are kept literally
      j += 2;
    } else {
      value += text[j];
      j++;
    }
  }
}

// Byte twins of the parsers above, for a pure-ASCII body read as bytes. A line has no precomputed end
// here: it ends at LF, at the end of the body, or at a CR that is its last character (CRLF), exactly
// where the string decoder's `stop` is, so `i < stop` there is `!atLineEnd(bytes, i)` here. Loops over
// blanks, digits or name characters need no such check: none of those is CR or LF.

/** The current line ends at `i`: LF, the end of the body, or a CR right before LF or the end. */
export function atLineEnd(bytes: Uint8Array, i: number): boolean {
  if (i >= bytes.length) return true;
  const c = bytes[i];
  if (c === CH_LF) return true;
  return c === CH_CR && (i + 1 === bytes.length || bytes[i + 1] === CH_LF);
}

/** The end of the token that starts at `i`: the next blank or the end of the line. */
export function tokenEnd(bytes: Uint8Array, i: number): number {
  const len = bytes.length;
  for (; i < len; i++) {
    const c = bytes[i];
    if (c === CH_SPACE || c === CH_TAB || c === CH_LF) return i;
    if (c === CH_CR && (i + 1 === len || bytes[i + 1] === CH_LF)) return i;
  }
  return i;
}

/** A token that has reached `i` ends there: a blank or the end of the line is next. */
function endsToken(bytes: Uint8Array, i: number): boolean {
  if (i >= bytes.length) return true;
  const c = bytes[i];
  return c === CH_SPACE || c === CH_TAB || atLineEnd(bytes, i);
}

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
 * parseValue's fast path for the token at `start` (not at a line end), without first finding the
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
  // The number must be the whole token (`1.5x` is not one), as parseValue's `i !== end` demands.
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

/** parseGoFloat for the token bytes[start, end), without a regular expression for a plain decimal. */
export function goFloatBytes(bytes: Uint8Array, start: number, end: number): number | undefined {
  const token = asciiString(bytes, start, end);
  return decimalEnd(bytes, start) === end ? Number(token) : parseGoFloat(token);
}

/**
 * parseTimestamp's fast path for the token at `start` (not at a line end): true, with the value in
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

/** parseTimestamp for the token bytes[start, end). */
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
    throw new ParseError(`invalid timestamp ${quoteToken(asciiString(bytes, start, end))}`, lineNo);
  if (i - digitsStart > MAX_EXACT_DIGITS) ms = Number(asciiString(bytes, digitsStart, end));
  if (!Number.isSafeInteger(ms))
    throw new ParseError(`timestamp out of range ${quoteToken(asciiString(bytes, start, end))}`, lineNo);
  return ms;
}

/**
 * Where the three kept labels' values are in the body, as [start, end) byte ranges: a label that is
 * absent is the empty range 0..0, which reads as "" like an empty value. A value with escapes has
 * start -1 and its unescaped text in the *Text field.
 */
export interface LabelSpans {
  containerStart: number;
  containerEnd: number;
  containerText: string;
  namespaceStart: number;
  namespaceEnd: number;
  namespaceText: string;
  podStart: number;
  podEnd: number;
  podText: string;
}

// Byte classes for parseLabelBytes' inner loops: one table load per byte instead of a chain of compares.
const LABEL_NAME_CHAR = 1; // what isNameChar accepts, but ':'
const ENDS_PLAIN_VALUE = 2; // '"', '\\' or LF
const BYTE_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (isNameChar(c) && c !== CH_COLON) BYTE_CLASS[c] |= LABEL_NAME_CHAR;
  if (c === CH_QUOTE || c === CH_BACKSLASH || c === CH_LF) BYTE_CLASS[c] |= ENDS_PLAIN_VALUE;
}

const KEPT_NONE = 0;
const KEPT_CONTAINER = 1;
const KEPT_NAMESPACE = 2;
const KEPT_POD = 3;
const CONTAINER_BYTES = Buffer.from("container", "latin1");
const NAMESPACE_BYTES = Buffer.from("namespace", "latin1");

/** The bytes at `at` are those of `word` (bounds already known to hold). */
function bytesAre(bytes: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let j = 0; j < word.length; j++) if (bytes[at + j] !== word[j]) return false;
  return true;
}

function keptLabel(bytes: Uint8Array, nameStart: number, nameEnd: number): number {
  const length = nameEnd - nameStart;
  if (length === 3) {
    return bytes[nameStart] === 112 && bytes[nameStart + 1] === 111 && bytes[nameStart + 2] === 100 // pod
      ? KEPT_POD
      : KEPT_NONE;
  }
  if (length === 9) {
    if (bytesAre(bytes, nameStart, CONTAINER_BYTES)) return KEPT_CONTAINER;
    if (bytesAre(bytes, nameStart, NAMESPACE_BYTES)) return KEPT_NAMESPACE;
  }
  return KEPT_NONE;
}

/**
 * parseLabels for bytes: parses `name="value",...}` from `start` (just after `{`) and records the kept
 * labels' value ranges in `out` (which the caller resets); returns the index after `}`. No string is
 * made unless a kept value has escapes.
 */
export function parseLabelBytes(bytes: Uint8Array, start: number, lineNo: number, out: LabelSpans): number {
  const len = bytes.length;
  let i = start;
  for (;;) {
    while (i < len && isBlank(bytes[i])) i++;
    if (atLineEnd(bytes, i)) throw new ParseError("unterminated label set", lineNo);
    const first = bytes[i];
    if (first === CH_RBRACE) return i + 1;
    if (!isNameStart(first) || first === CH_COLON) throw new ParseError("invalid label name", lineNo);
    const nameStart = i;
    i++;
    while (i < len && (BYTE_CLASS[bytes[i]] & LABEL_NAME_CHAR) !== 0) i++;
    const kept = keptLabel(bytes, nameStart, i);
    while (i < len && isBlank(bytes[i])) i++;
    if (i >= len || bytes[i] !== CH_EQUALS) throw new ParseError("expected '=' after label name", lineNo);
    i++;
    while (i < len && isBlank(bytes[i])) i++;
    if (i >= len || bytes[i] !== CH_QUOTE) throw new ParseError("expected '\"' to start label value", lineNo);
    i++;
    const valueStart = i;
    // Fast path: the value ends at the first quote unless a backslash comes first. A value cannot run
    // past LF (nor past a CRLF's CR, which LF follows), so reaching LF or the end is unterminated.
    while (i < len && (BYTE_CLASS[bytes[i]] & ENDS_PLAIN_VALUE) === 0) i++;
    const c = i < len ? bytes[i] : CH_LF;
    if (c === CH_LF) throw new ParseError("unterminated label value", lineNo);
    let valueEnd: number;
    let text = "";
    if (c === CH_QUOTE) {
      valueEnd = i;
      i++;
    } else {
      valueEnd = -1;
      let j = valueStart;
      for (;;) {
        if (atLineEnd(bytes, j)) throw new ParseError("unterminated label value", lineNo);
        const ch = bytes[j];
        if (ch === CH_QUOTE) break;
        if (ch === CH_BACKSLASH) {
          if (atLineEnd(bytes, j + 1)) throw new ParseError("unterminated label value", lineNo);
          if (kept !== KEPT_NONE) {
            const e = bytes[j + 1];
            if (e === CH_BACKSLASH) text += "\\";
            else if (e === CH_QUOTE) text += '"';
            else if (e === 110 /* n */) text += "\n";
            else text += String.fromCharCode(ch, e); // unknown escapes are kept literally
          }
          j += 2;
        } else {
          if (kept !== KEPT_NONE) text += String.fromCharCode(ch);
          j++;
        }
      }
      i = j + 1;
    }
    // The last occurrence of a label wins, as in parseLabels.
    const spanStart = valueEnd < 0 ? -1 : valueStart;
    const spanEnd = valueEnd < 0 ? -1 : valueEnd;
    if (kept === KEPT_POD) {
      out.podStart = spanStart;
      out.podEnd = spanEnd;
      out.podText = text;
    } else if (kept === KEPT_CONTAINER) {
      out.containerStart = spanStart;
      out.containerEnd = spanEnd;
      out.containerText = text;
    } else if (kept === KEPT_NAMESPACE) {
      out.namespaceStart = spanStart;
      out.namespaceEnd = spanEnd;
      out.namespaceText = text;
    }
    while (i < len && isBlank(bytes[i])) i++;
    const sep = i < len ? bytes[i] : 0;
    if (sep === CH_COMMA) i++;
    else if (sep !== CH_RBRACE) throw new ParseError("expected ',' or '}' after label value", lineNo);
  }
}
