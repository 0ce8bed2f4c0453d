// Token parsers for the Prometheus text exposition (0.0.4) as decode.ts reads it: sample values with
// Go's strconv.ParseFloat syntax, integer millisecond timestamps, and label sets. Every function works
// on a range of one decoded body string, so no per-line substrings are made unless a value needs one.

export const CH_TAB = 9;
export const CH_CR = 13;
export const CH_SPACE = 32;
export const CH_HASH = 35;
export const CH_LBRACE = 123;
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
