import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseBenchArgs, UsageError } from "./args.ts";
import { parseCpuSeconds, parseMemory } from "./procfs.ts";
import { parseScrapeFinished, parseTickFinished } from "./run.ts";
import {
  histogramDelta,
  histogramQuantile,
  parseGauge,
  parseGoDurationMs,
  parseHistogram,
  percentile,
  summarize,
} from "./stats.ts";

test("percentile is nearest-rank and lies within the samples", () => {
  assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
  assert.ok(Number.isNaN(percentile([], 50)));
  fc.assert(
    fc.property(
      fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1 }),
      fc.integer({ min: 0, max: 100 }),
      (xs, p) => {
        const v = percentile(xs, p);
        assert.ok(xs.includes(v));
        assert.ok(v >= Math.min(...xs) && v <= Math.max(...xs));
      },
    ),
  );
  const s = summarize([1, 2, 3]);
  assert.deepEqual([s.count, s.max, s.mean], [3, 3, 2]);
});

const METRICS_TEXT = (counts: number[], sum: number): string =>
  [
    "# HELP metrics_server_manager_tick_duration_seconds [ALPHA] x",
    "# TYPE metrics_server_manager_tick_duration_seconds histogram",
    `metrics_server_manager_tick_duration_seconds_bucket{le="0.1"} ${counts[0]}`,
    `metrics_server_manager_tick_duration_seconds_bucket{le="1"} ${counts[1]}`,
    `metrics_server_manager_tick_duration_seconds_bucket{le="+Inf"} ${counts[2]}`,
    `metrics_server_manager_tick_duration_seconds_sum ${sum}`,
    `metrics_server_manager_tick_duration_seconds_count ${counts[2]}`,
    'other_bucket{le="1"} 99',
  ].join("\n");

test("histogram quantiles come from the bucket deltas between two scrapes", () => {
  const before = parseHistogram(METRICS_TEXT([2, 2, 2], 0.1), "metrics_server_manager_tick_duration_seconds");
  const after = parseHistogram(METRICS_TEXT([2, 6, 6], 2.1), "metrics_server_manager_tick_duration_seconds");
  assert.ok(before && after);
  const d = histogramDelta(before, after);
  assert.deepEqual(d.counts, [0, 4, 4]);
  assert.equal(d.count, 4);
  // All four in (0.1, 1]: the median interpolates halfway through that bucket.
  assert.ok(Math.abs(histogramQuantile(d, 0.5) - 0.55) < 1e-9);
  assert.ok(histogramQuantile(d, 0.99) <= 1);
  assert.equal(parseHistogram("nothing here", "metrics_server_manager_tick_duration_seconds"), undefined);
  assert.ok(
    Number.isNaN(histogramQuantile({ bounds: [1, Infinity], counts: [0, 0], sum: 0, count: 0 }, 0.5)),
  );
});

test("Go durations as the server logs them", () => {
  assert.equal(parseGoDurationMs("1.5s"), 1500);
  assert.equal(parseGoDurationMs("12.25ms"), 12.25);
  assert.equal(parseGoDurationMs("850µs"), 0.85);
  assert.equal(parseGoDurationMs("1m2s"), 62_000);
  assert.equal(parseGoDurationMs("0s"), 0);
  assert.ok(Number.isNaN(parseGoDurationMs("fast")));
  assert.ok(Number.isNaN(parseGoDurationMs("")));
});

test("the server's Scrape finished line is parsed; other lines are not", () => {
  const line =
    'I1125 03:10:17.199000   1234 scraper.ts:125] "Scrape finished" duration="401.5ms" nodeCount=50 podCount=250';
  assert.deepEqual(parseScrapeFinished(line), { durationMs: 401.5, nodeCount: 50, podCount: 250 });
  assert.equal(parseScrapeFinished('I1125 x.ts:1] "Scraping metrics from nodes" nodeCount=50'), undefined);
  assert.equal(
    parseScrapeFinished('I1125 x.ts:1] "Scrape finished" duration="??" nodeCount=1 podCount=1'),
    undefined,
  );
});

test("/proc stat and status parsing", () => {
  // A command name with spaces and ')' must not shift the fields.
  const stat = "42 (node (x) y) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 0 0";
  assert.equal(parseCpuSeconds(stat, 100), 3);
  assert.throws(() => parseCpuSeconds("garbage", 100), /malformed/);
  assert.deepEqual(
    parseMemory(
      "Name:\tnode\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nRssAnon:\t   900 kB\nRssFile:\t   124 kB\n",
    ),
    { rss: 1024, hwm: 2048, anon: 900, file: 124 },
  );
  assert.throws(() => parseMemory("Name:\tnode\n"), /VmRSS/);
});

test("bench flags: defaults, values, and clear errors", () => {
  const a = parseBenchArgs(["--nodes", "5000", "--resolution=15s", "--rate", "200"], "/out");
  assert.equal(a.nodes, 5000);
  assert.equal(a.resolutionMs, 15_000);
  assert.equal(a.label, "5000x30x2");
  assert.equal(a.outDir, "/out");
  assert.throws(() => parseBenchArgs(["--nodes", "-1"], "/out"), UsageError);
  assert.throws(() => parseBenchArgs(["--resolution", "fast"], "/out"), /--resolution/);
  assert.throws(() => parseBenchArgs(["--rate", "-1"], "/out"), /--rate/);
  assert.throws(() => parseBenchArgs(["--list-rate", "0.001"], "/out"), /--list-rate.*0\.01/);
  assert.equal(parseBenchArgs(["--rate", "0"], "/out").rate, 0);
  assert.throws(() => parseBenchArgs(["--label", "../x"], "/out"), /--label/);
  assert.throws(() => parseBenchArgs(["--bogus"], "/out"), /unknown flag/);
  assert.throws(() => parseBenchArgs(["--cycles"], "/out"), /needs an argument/);
  assert.equal(parseBenchArgs(["--help"], "/out").help, true);
});

test("bench presets: each sets its case, explicit flags override it, unknown names are refused", () => {
  const small = parseBenchArgs(["--preset", "small"], "/out");
  assert.deepEqual(
    [small.nodes, small.podsPerNode, small.containersPerPod, small.rate, small.listRate, small.getRate],
    [10, 10, 1, 0, 0, 0],
  );
  assert.equal(small.hpaReplicas, 0);
  assert.equal(small.label, "small");
  const big = parseBenchArgs(["--preset=5k", "--cycles", "2"], "/out");
  assert.deepEqual([big.nodes, big.podsPerNode, big.containersPerPod, big.cycles], [5000, 30, 2, 2]);
  assert.equal(big.rate, 200);
  assert.equal(parseBenchArgs(["--preset", "dense"], "/out").containersPerPod, 10);
  assert.equal(parseBenchArgs(["--preset", "medium", "--label", "m1"], "/out").label, "m1");
  assert.throws(
    () => parseBenchArgs(["--preset", "huge"], "/out"),
    /--preset: want one of small, medium, 5k, dense/,
  );
});

test("gauges are read by exact name and labels", () => {
  const text = [
    "# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.",
    "nodejs_heap_size_used_bytes 123456",
    "nodejs_heap_size_used_bytes_extra 1",
    'nodejs_scraper_worker_heap_size_bytes{kind="total"} 2e+06',
    'nodejs_scraper_worker_heap_size_bytes{kind="used"} 1500000',
  ].join("\n");
  assert.equal(parseGauge(text, "nodejs_heap_size_used_bytes"), 123456);
  assert.equal(parseGauge(text, "nodejs_scraper_worker_heap_size_bytes", 'kind="total"'), 2e6);
  assert.equal(parseGauge(text, "nodejs_scraper_worker_heap_size_bytes", 'kind="used"'), 1.5e6);
  assert.ok(Number.isNaN(parseGauge(text, "nodejs_heap_size_total_bytes")));
  assert.ok(Number.isNaN(parseGauge(text, "nodejs_scraper_worker_heap_size_bytes", 'kind="x"')));
});

test("the server's Tick finished line is parsed; other lines are not", () => {
  const line =
    'I1202 16:07:15.560000   32430 manager.ts:92] "Tick finished" duration="3833ms" storeDuration="112.4ms" nodes=5000';
  assert.equal(parseTickFinished(line), 3833);
  assert.equal(
    parseTickFinished('I1202 x.ts:1] "Scrape finished" duration="1s" nodeCount=1 podCount=1'),
    undefined,
  );
  assert.equal(parseTickFinished('I1202 x.ts:1] "Tick finished" duration="soon"'), undefined);
});
