// metav1.Time's JSON: the `timestamp` and `creationTimestamp` of metrics.k8s.io objects, and every
// time this server writes in that form (the diagnostics objects, the explanations).

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
