// Kubernetes canonical quantity strings (apimachinery resource.Quantity's canonical form), so that
// clients comparing or re-parsing our values see exactly the bytes upstream metrics-server sends.
//
// Inputs are JavaScript numbers: integer values up to 2^53 (9,007,199,254,740,992) are exact, which
// covers 9 million cores in nanocores and 8 PiB of memory. Larger values are formatted from their
// nearest double, fractions are truncated toward zero, and NaN/±Infinity format as "0". Upstream's
// quantities hold an int64 (resource.NewScaledQuantity(int64(nanocores), -9)), so values beyond it
// saturate at its limits, which also keeps every text within 21 bytes.

// Decimal SI suffixes by power-of-ten exponent (multiples of 3 only).
const DECIMAL_SUFFIXES: ReadonlyMap<number, string> = new Map([
  [-9, "n"],
  [-6, "u"],
  [-3, "m"],
  [0, ""],
  [3, "k"],
  [6, "M"],
  [9, "G"],
  [12, "T"],
  [15, "P"],
  [18, "E"],
]);

// Binary SI suffixes by power of 1024.
const BINARY_SUFFIXES = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"] as const;

const MAX_INT64 = 2n ** 63n - 1n;
const MIN_INT64 = -(2n ** 63n);

/** An integer double beyond 2^53 as an exact bigint, saturated at int64's limits. */
function int64Of(value: number): bigint {
  if (value >= 2 ** 63) return MAX_INT64;
  if (value <= -(2 ** 63)) return MIN_INT64;
  return BigInt(value);
}

function toInteger(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.trunc(value) || 0; // `|| 0` turns -0 into 0
}

/**
 * value × 10^exponent in canonical decimal-SI form: trailing decimal zeros move into the exponent,
 * then the exponent is lowered to a multiple of 3 so it has an SI suffix.
 */
function formatDecimal(value: number, exponent: number): string {
  if (value === 0) return "0";
  if (!Number.isSafeInteger(value)) return formatDecimalBig(int64Of(value), exponent);
  const negative = value < 0;
  let mantissa = negative ? -value : value;
  let exp = exponent;
  while (mantissa >= 10 && mantissa % 10 === 0) {
    mantissa /= 10;
    exp++;
  }
  const excess = ((exp % 3) + 3) % 3;
  if (excess === 1) mantissa *= 10;
  else if (excess === 2) mantissa *= 100;
  exp -= excess;
  const suffix = DECIMAL_SUFFIXES.get(exp) ?? `e${exp}`; // beyond E apimachinery writes an exponent
  return (negative ? "-" : "") + String(mantissa) + suffix;
}

/**
 * formatDecimal for an integer beyond 2^53, from its exact value: String() of such a double rounds
 * its digits ("1152921504606847000" for 2^60) or turns to an exponent ("1e+25"), neither the value's
 * canonical form, and the second no quantity at all.
 */
function formatDecimalBig(value: bigint, exponent: number): string {
  const negative = value < 0n;
  let mantissa = negative ? -value : value;
  let exp = exponent;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exp++;
  }
  const excess = ((exp % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(excess);
  exp -= excess;
  const suffix = DECIMAL_SUFFIXES.get(exp) ?? `e${exp}`;
  return (negative ? "-" : "") + mantissa.toString() + suffix;
}

/** CPU usage in nanocores as a decimal-SI quantity: 123456789 → "123456789n", 50000000 → "50m". */
export function formatCpu(nanocores: number): string {
  return formatDecimal(toInteger(nanocores), -9);
}

/** Memory in bytes as a binary-SI quantity: 1048576 → "1Mi"; below 1024 decimal-SI (1000 → "1k"). */
export function formatMemory(bytes: number): string {
  const value = toInteger(bytes);
  if (!Number.isSafeInteger(value)) return formatBinaryBig(int64Of(value));
  // apimachinery prints small binary quantities in decimal form to avoid confusing suffixes.
  if (value > -1024 && value < 1024) return formatDecimal(value, 0);
  const negative = value < 0;
  let mantissa = negative ? -value : value;
  let power = 0;
  while (power < BINARY_SUFFIXES.length - 1 && mantissa % 1024 === 0) {
    mantissa /= 1024;
    power++;
  }
  return (negative ? "-" : "") + String(mantissa) + BINARY_SUFFIXES[power];
}

/** formatMemory beyond 2^53, from the exact value (see formatDecimalBig). */
function formatBinaryBig(value: bigint): string {
  const negative = value < 0n;
  let mantissa = negative ? -value : value;
  let power = 0;
  while (power < BINARY_SUFFIXES.length - 1 && mantissa % 1024n === 0n) {
    mantissa /= 1024n;
    power++;
  }
  return (negative ? "-" : "") + mantissa.toString() + BINARY_SUFFIXES[power];
}

const QUANTITY_PATTERN = /^([+-]?)(\d+)(?:\.(\d*))?(?:([numkMGTPE]|[KMGTPE]i)|[eE]([+-]?\d+))?$/;
const DECIMAL_EXPONENTS: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/** 10^309 is past the largest double. */
const MAX_DOUBLE_EXPONENT = 309;
/** Digits a binary suffix adds at most (1024^6 < 10^19). */
const MAX_BINARY_DIGITS = 19;

/**
 * Parses a quantity string and returns its value in units of 10^scale, e.g.
 * parseQuantity("50m", -9) === 50000000 (nanocores) and parseQuantity("12240Ki") === 12533760.
 * Exact (BigInt arithmetic) up to the final conversion to number; a value that is not a whole number
 * of units is truncated toward zero, or with `rounding` "ceil" rounded toward +Infinity (a byte count
 * that must hold at least the quantity). Throws on malformed input.
 */
export function parseQuantity(text: string, scale = 0, rounding: "truncate" | "ceil" = "truncate"): number {
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) throw new Error(`quantities must match the regular expression '${QUANTITY_PATTERN.source}'`);
  const [, sign, whole, fraction = "", suffix = "", exponentText] = match;
  let numerator = BigInt(whole + fraction);
  let decimalExponent = -fraction.length - scale;
  if (exponentText !== undefined) decimalExponent += Number(exponentText);
  else if (suffix.endsWith("i")) numerator *= 1024n ** BigInt("KMGTPE".indexOf(suffix[0]) + 1);
  else if (suffix !== "") decimalExponent += DECIMAL_EXPONENTS[suffix];
  // A huge exponent ("1e999999999") must not make a huge bigint: past any double the value is
  // infinite, and far below one unit it truncates to 0 (or, rounded up, to 1).
  if (decimalExponent > MAX_DOUBLE_EXPONENT) {
    if (numerator === 0n) return 0;
    return sign === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (decimalExponent < -(whole.length + fraction.length + MAX_BINARY_DIGITS)) {
    return rounding === "ceil" && sign !== "-" && numerator !== 0n ? 1 : 0;
  }
  let result: bigint;
  if (decimalExponent >= 0) result = numerator * 10n ** BigInt(decimalExponent);
  else {
    const divisor = 10n ** BigInt(-decimalExponent);
    result = numerator / divisor;
    // Magnitudes round toward zero; toward +Infinity only a positive value with a remainder moves.
    if (rounding === "ceil" && sign !== "-" && numerator % divisor !== 0n) result += 1n;
  }
  return Number(sign === "-" ? -result : result);
}
