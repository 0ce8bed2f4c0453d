// Go's strconv scalar parsers, with its error messages: what pflag's bool and int flags (and klog's
// Level) accept on a command line, and ParseFloat's syntax, which kubelet sample values follow.
import { goQuote } from "./quote.ts";

const GO_BOOL_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_BOOL_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** strconv.ParseBool. */
export function parseGoBool(raw: string): boolean {
  if (GO_BOOL_TRUE.has(raw)) return true;
  if (GO_BOOL_FALSE.has(raw)) return false;
  throw new Error(`strconv.ParseBool: parsing ${goQuote(raw)}: invalid syntax`);
}

/** strconv.ParseInt(raw, base, bits): base 0 honours 0x/0o/0b/0 prefixes and `_` separators. */
export function parseGoInt(raw: string, base: 0 | 10, bits: 32 | 64, fn = "ParseInt"): number {
  const syntax = () => new Error(`strconv.${fn}: parsing ${goQuote(raw)}: invalid syntax`);
  let s = raw;
  let sign = 1n;
  if (s[0] === "+" || s[0] === "-") {
    if (s[0] === "-") sign = -1n;
    s = s.slice(1);
  }
  let radix = 10;
  let digits = s;
  if (base === 0) {
    const prefix = s.slice(0, 2).toLowerCase();
    if (prefix === "0x") [radix, digits] = [16, s.slice(2)];
    else if (prefix === "0o") [radix, digits] = [8, s.slice(2)];
    else if (prefix === "0b") [radix, digits] = [2, s.slice(2)];
    else if (s.length > 1 && s[0] === "0") [radix, digits] = [8, s.slice(1)];
    // Underscores are only legal between digits (a base prefix counts as a digit) in base-0 mode.
    const prefixed = digits !== s;
    if (digits.includes("__") || digits.endsWith("_") || (!prefixed && digits.startsWith("_")))
      throw syntax();
    digits = digits.replaceAll("_", "");
  }
  const alphabet = "0123456789abcdef".slice(0, radix);
  if (digits === "" || [...digits.toLowerCase()].some((c) => !alphabet.includes(c))) throw syntax();
  let value = 0n;
  for (const c of digits.toLowerCase()) value = value * BigInt(radix) + BigInt(alphabet.indexOf(c));
  value *= sign;
  const limit = 1n << BigInt(bits - 1);
  if (value >= limit || value < -limit) {
    throw new Error(`strconv.${fn}: parsing ${goQuote(raw)}: value out of range`);
  }
  // int64 values beyond 2^53 lose precision as numbers; no flag of this server needs them.
  return Number(value);
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?inf(?:inity)?$/i;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

/** Go's strconv.ParseFloat syntax (decimal, exponent, Inf/Infinity, NaN, hex with p-exponent). */
export function parseGoFloat(token: string): number | undefined {
  if (DECIMAL_FLOAT.test(token)) return Number(token);
  if (INFINITY.test(token)) return token.charCodeAt(0) === 0x2d /* - */ ? -Infinity : Infinity;
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
