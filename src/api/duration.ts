// Go's time.Duration.String() and metav1.Time JSON, the two time encodings of metrics.k8s.io objects.

const NS_PER_US = 1_000;
const NS_PER_MS = 1_000_000;
const NS_PER_S = 1_000_000_000;

/**
 * The fraction v / 10^precision as ".ddd" with trailing zeros dropped ("" when it is zero), plus the
 * integer part.
 */
function splitFraction(v: number, precision: number): { integer: number; fraction: string } {
  const unit = 10 ** precision;
  const integer = Math.floor(v / unit);
  const remainder = v - integer * unit;
  if (remainder === 0) return { integer, fraction: "" };
  const digits = String(remainder).padStart(precision, "0").replace(/0+$/, "");
  return { integer, fraction: "." + digits };
}

/**
 * Formats integer nanoseconds like Go's time.Duration.String(): "0s", "1ns", "1.5µs", "999ms",
 * "15.006s", "1m0.5s", "1h0m0s", "-2s". Fractions are truncated to whole nanoseconds; exact for
 * |ns| < 2^53 (about 104 days).
 */
export function formatGoDuration(ns: number): string {
  if (!Number.isFinite(ns)) return "0s";
  const negative = ns < 0;
  const u = Math.trunc(negative ? -ns : ns);
  const sign = negative && u !== 0 ? "-" : "";
  if (u === 0) return "0s";
  if (u < NS_PER_S) {
    // Below one second Go picks a single unit, with µ written as U+00B5 MICRO SIGN.
    if (u < NS_PER_US) return `${sign}${u}ns`;
    const [precision, unit] = u < NS_PER_MS ? [3, "µs"] : [6, "ms"];
    const { integer, fraction } = splitFraction(u, precision);
    return `${sign}${integer}${fraction}${unit}`;
  }
  const { integer: totalSeconds, fraction } = splitFraction(u, 9);
  const seconds = totalSeconds % 60;
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes === 0) return `${sign}${seconds}${fraction}s`;
  const minutes = totalMinutes % 60;
  const hours = Math.floor(totalMinutes / 60);
  if (hours === 0) return `${sign}${minutes}m${seconds}${fraction}s`;
  return `${sign}${hours}h${minutes}m${seconds}${fraction}s`;
}

// Items of one response carry a handful of distinct seconds (one per scrape round, plus the request
// time), interleaved: remember a few recent ones rather than only the last.
const TIMESTAMP_CACHE_LIMIT = 64;
const timestampCache = new Map<number, string | null>();

/**
 * A Unix-milliseconds time as metav1.Time's JSON string: RFC 3339 in UTC truncated to whole seconds
 * ("2025-05-01T10:00:01Z"). 0 (Go's zero time) and unrepresentable times give null, which is what
 * metav1.Time marshals its zero value to.
 */
export function formatTimestamp(ms: number): string | null {
  if (ms === 0 || !Number.isFinite(ms)) return null;
  const second = Math.floor(ms / 1000);
  const cached = timestampCache.get(second);
  if (cached !== undefined) return cached;
  const date = new Date(second * 1000);
  const year = date.getUTCFullYear();
  const formatted =
    Number.isNaN(year) || year < 0 || year > 9999 ? null : date.toISOString().replace(".000Z", "Z");
  if (timestampCache.size >= TIMESTAMP_CACHE_LIMIT) timestampCache.clear();
  timestampCache.set(second, formatted);
  return formatted;
}
