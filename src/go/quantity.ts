// Kubernetes canonical quantity strings (apimachinery resource.Quantity's canonical form), so that
// clients comparing or re-parsing our values see exactly the bytes upstream metrics-server sends.
//
// Inputs are JavaScript numbers: integer values up to 2^53 (9,007,199,254,740,992) are exact, which
// covers 9 million cores in nanocores and 8 PiB of memory. Larger values are formatted from their
// nearest double, fractions are truncated toward zero, and NaN/±Infinity format as "0".

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

/** CPU usage in nanocores as a decimal-SI quantity: 123456789 → "123456789n", 50000000 → "50m". */
export function formatCpu(nanocores: number): string {
  return formatDecimal(toInteger(nanocores), -9);
}

/** Memory in bytes as a binary-SI quantity: 1048576 → "1Mi"; below 1024 decimal-SI (1000 → "1k"). */
export function formatMemory(bytes: number): string {
  const value = toInteger(bytes);
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
