// Numbers for the benchmark report: exact percentiles of raw samples, Prometheus histogram
// quantiles from bucket deltas, and Go duration strings (the server logs durations that way).
import { parseGoDuration } from "../src/go/index.ts";

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  let sum = 0;
  for (const s of samples) sum += s;
  return sum / samples.length;
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    count: samples.length,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max:
      samples.length === 0 ? Number.NaN : samples.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY),
    mean: mean(samples),
  };
}

/** One histogram family read from Prometheus text: cumulative bucket counts by upper bound. */
export interface HistogramSnapshot {
  /** Ascending upper bounds; the last is +Infinity. */
  bounds: number[];
  /** Cumulative counts per bound. */
  counts: number[];
  sum: number;
  count: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

/** Reads histogram `name` (no labels besides `le`) from Prometheus text; undefined if absent. */
export function parseHistogram(text: string, name: string): HistogramSnapshot | undefined {
  const buckets = new Map<number, number>();
  let sum: number | undefined;
  let count: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (m[1] === `${name}_bucket`) {
      const le = /le="([^"]*)"/.exec(m[2] ?? "")?.[1];
      if (le === undefined) continue;
      buckets.set(le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), value);
    } else if (m[1] === `${name}_sum`) sum = value;
    else if (m[1] === `${name}_count`) count = value;
  }
  if (buckets.size === 0 || sum === undefined || count === undefined) return undefined;
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  return { bounds, counts: bounds.map((b) => buckets.get(b)!), sum, count };
}

/** after − before, bucket by bucket (the observations made between the two scrapes). */
export function histogramDelta(before: HistogramSnapshot, after: HistogramSnapshot): HistogramSnapshot {
  if (before.bounds.join() !== after.bounds.join()) {
    throw new Error("histogram buckets changed between the two scrapes");
  }
  return {
    bounds: after.bounds,
    counts: after.counts.map((c, i) => c - before.counts[i]!),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * The q-quantile (0..1) as Prometheus' histogram_quantile computes it: linear interpolation inside
 * the bucket that holds the rank, so the answer is only as fine as the buckets. A rank in the +Inf
 * bucket answers the highest finite bound. NaN for an empty histogram.
 */
export function histogramQuantile(h: HistogramSnapshot, q: number): number {
  const total = h.counts[h.counts.length - 1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < h.bounds.length; i++) {
    if (h.counts[i]! >= rank) {
      const upper = h.bounds[i]!;
      const lower = i === 0 ? 0 : h.bounds[i - 1]!;
      if (upper === Number.POSITIVE_INFINITY) return lower;
      const below = i === 0 ? 0 : h.counts[i - 1]!;
      const inBucket = h.counts[i]! - below;
      if (inBucket <= 0) return upper;
      return lower + ((upper - lower) * (rank - below)) / inBucket;
    }
  }
  return h.bounds[h.bounds.length - 2] ?? Number.NaN;
}

/** A Go duration ("1m2.5s", "12.3ms", "850µs", "0s") in milliseconds; NaN if it is not one. */
export function parseGoDurationMs(text: string): number {
  try {
    return parseGoDuration(text);
  } catch {
    return Number.NaN;
  }
}

/**
 * The value of one sample of a Prometheus text exposition: `name` with exactly the given labels
 * (written as they appear, e.g. 'kind="used"'), or NaN when there is no such sample.
 */
export function parseGauge(text: string, name: string, labels = ""): number {
  const series = labels === "" ? name : `${name}{${labels}}`;
  for (const line of text.split("\n")) {
    if (line.startsWith(series) && line.charAt(series.length) === " ") {
      return Number(
        line
          .slice(series.length + 1)
          .trim()
          .split(/\s+/)[0],
      );
    }
  }
  return Number.NaN;
}
