import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import { InternedCounter, InternedHistogram } from "./interned-metrics.ts";

// The same observations through prom-client's classes and through ours give the same exposition.
test("interned families expose exactly what prom-client's Counter and Histogram would", async () => {
  const a = { verb: "LIST", resource: "nodes", code: "200" };
  const b = { verb: "GET", resource: "pods", code: "404" };
  const theirs = new Registry();
  const ours = new Registry();
  const buckets = [0.005, 0.05, 1, 60];
  const counter = new Counter({
    name: "c",
    help: "h",
    labelNames: ["verb", "resource", "code"],
    registers: [theirs],
  });
  const histogram = new Histogram({
    name: "h_seconds",
    help: "[ALPHA] h",
    labelNames: ["verb", "resource", "code"],
    buckets,
    registers: [theirs],
  });
  const internedCounter = new InternedCounter<typeof a>("c", "h");
  const internedHistogram = new InternedHistogram<typeof a>("h_seconds", "[ALPHA] h", buckets);
  ours.registerMetric(internedCounter as unknown as Counter);
  ours.registerMetric(internedHistogram as unknown as Histogram);
  const observations: [typeof a, number][] = [
    [a, 0.001],
    [a, 0.05],
    [b, 3],
    [a, 100],
    [b, 0.0049],
  ];
  for (const [labels, value] of observations) {
    counter.inc(labels);
    histogram.observe(labels, value);
    internedCounter.inc(labels);
    internedHistogram.observe(labels, value);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.match(
    await ours.metrics(),
    /^h_seconds_bucket\{le="0.05",verb="LIST",resource="nodes",code="200"\} 2$/m,
  );
});

test("a family with no observations exposes its HELP and TYPE only, as prom-client's", async () => {
  const theirs = new Registry();
  const ours = new Registry();
  new Histogram({ name: "h", help: "h", labelNames: ["x"], buckets: [1], registers: [theirs] });
  ours.registerMetric(new InternedHistogram<{ x: string }>("h", "h", [1]) as unknown as Histogram);
  assert.equal(await ours.metrics(), await theirs.metrics());
});
