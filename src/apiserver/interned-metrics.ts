// Counters and histograms observed once per request, cheaply. prom-client's Counter.inc and
// Histogram.observe hash the label object into a string on every call (about 2 µs each with the
// request families' eight labels: ~7 µs a request for four families). Here a series is keyed by its
// label object itself, which the caller interns (request-info.ts builds each once), so an
// observation is a Map lookup by identity and a few additions. get() hands the registry what
// prom-client's own classes would, so the exposition is the same, line for line.

/** A series' labels: an object of strings (interfaces of such objects included). */
type Labels = Readonly<Record<string, string>>;

interface HistogramSeries {
  /** Observations per bucket (not cumulative); the last entry counts those above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** What the registry reads of a metric: prom-client's Metric shape. */
interface MetricValue {
  labels: Record<string, string | number>;
  sharedLabels?: Labels;
  value: number;
  metricName?: string;
}

/** A counter whose series are keyed by interned label objects. */
export class InternedCounter<L extends object> {
  readonly type = "counter";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  readonly #series = new Map<L, number>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  /** Adds one to the series of `labels`, which must be the same object for the same series. */
  inc(labels: L): void {
    this.#series.set(labels, (this.#series.get(labels) ?? 0) + 1);
  }

  async get() {
    const values: MetricValue[] = [];
    for (const [labels, value] of this.#series) values.push({ labels: { ...(labels as Labels) }, value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** A histogram whose series are keyed by interned label objects. */
export class InternedHistogram<L extends object> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  readonly #bounds: Float64Array;
  readonly #series = new Map<L, HistogramSeries>();

  constructor(name: string, help: string, buckets: readonly number[]) {
    this.name = name;
    this.help = help;
    this.#bounds = Float64Array.from(buckets);
  }

  /** As Histogram.observe(labels, value) for finite values (others are ignored, where prom-client throws). */
  observe(labels: L, value: number): void {
    if (!Number.isFinite(value)) return;
    let s = this.#series.get(labels);
    if (!s) {
      s = { counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(labels, s);
    }
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && !(value <= bounds[i]!)) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  /** What prom-client's Histogram.get() gives: per series, cumulative buckets, +Inf, sum, count. */
  async get() {
    const values: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [key, s] of this.#series) {
      const labels = key as Labels;
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({
          labels: { le: this.#bounds[i]! },
          sharedLabels: labels,
          value: cumulative,
          metricName: bucketName,
        });
      }
      values.push(
        { labels: { le: "+Inf" }, sharedLabels: labels, value: s.count, metricName: bucketName },
        { labels: {}, sharedLabels: labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
