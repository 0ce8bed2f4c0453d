import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Histogram, Registry } from "prom-client";
import { FakeMetrics, FakeStore, node, pod } from "../../test/support/fake-stores.ts";
import { MetricsApi } from "./handler.ts";
import {
  FRESHNESS_BUCKETS,
  FRESHNESS_METRIC_NAME,
  FreshnessHistogram,
  metricFreshness,
  registerApiMetrics,
} from "./monitoring.ts";

async function observations(): Promise<{ count: number; sum: number }> {
  const { values } = await metricFreshness.get();
  const value = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  return {
    count: value("metrics_server_api_metric_freshness_seconds_count"),
    sum: value("metrics_server_api_metric_freshness_seconds_sum"),
  };
}

// Upstream observes the freshness of every item a list or get returns (kubernetes-sigs/metrics-server
// pkg/api/pod.go and node.go).
describe("metrics_server_api_metric_freshness_seconds", () => {
  it("has upstream's name, help text and 20 exponential buckets", async () => {
    const registry = new Registry();
    registerApiMetrics(registry);
    registerApiMetrics(registry); // idempotent
    const text = await registry.metrics();
    assert.match(
      text,
      /^# HELP metrics_server_api_metric_freshness_seconds \[ALPHA\] Freshness of metrics exported$/m,
    );
    assert.match(text, /^# TYPE metrics_server_api_metric_freshness_seconds histogram$/m);
    assert.equal(FRESHNESS_BUCKETS.length, 20);
    assert.equal(FRESHNESS_BUCKETS[0], 1);
    assert.equal(FRESHNESS_BUCKETS[1], 1.364);
    assert.ok(Math.abs(FRESHNESS_BUCKETS[19] - 364.31) < 0.01);
    assert.match(text, /_bucket\{le="364\.31163045936864"\}/);
  });

  it("observes now − timestamp for every item returned by list and get", async () => {
    const now = 1_746_093_607_000;
    const metrics = new FakeMetrics();
    metrics.nodes.set("n1", { timestampMs: now - 5000, windowMs: 15000, cpuNanocores: 1, memoryBytes: 1 });
    metrics.nodes.set("n2", { timestampMs: now - 2000, windowMs: 15000, cpuNanocores: 1, memoryBytes: 1 });
    metrics.pods.set("a/p", {
      timestampMs: now - 1000,
      windowMs: 15000,
      containers: [{ name: "c", cpuNanocores: 1, memoryBytes: 1 }],
    });
    // All containers skipped: zero timestamp, not a meaningful age, not observed.
    metrics.pods.set("a/q", { timestampMs: 0, windowMs: 0, containers: [] });
    const api = new MetricsApi({
      nodes: new FakeStore([node("n1"), node("n2"), node("n3")]),
      pods: new FakeStore([pod("a", "p"), pod("a", "q")]),
      metrics,
      serverAddress: "127.0.0.1:4443",
      now: () => now,
    });
    const req = (path: string) => ({ method: "GET", path, query: new URLSearchParams(), accept: undefined });

    const before = await observations();
    api.handle(req("/apis/metrics.k8s.io/v1beta1/nodes"));
    let after = await observations();
    assert.equal(after.count - before.count, 2);
    assert.equal(after.sum - before.sum, 7);

    api.handle(req("/apis/metrics.k8s.io/v1beta1/namespaces/a/pods/p"));
    api.handle(req("/apis/metrics.k8s.io/v1beta1/namespaces/a/pods"));
    after = await observations();
    assert.equal(after.count - before.count, 4);
    assert.equal(after.sum - before.sum, 9);

    // Errors and discovery observe nothing.
    api.handle(req("/apis/metrics.k8s.io/v1beta1/nodes/n3"));
    api.handle(req("/apis/metrics.k8s.io/v1beta1"));
    assert.equal((await observations()).count - before.count, 4);
  });
});

it("exposes what prom-client's Histogram exposes for the same observations (property)", async () => {
  const seconds = fc.oneof(
    fc.double({ min: -10, max: 1000, noNaN: true }),
    fc.constantFrom(...FRESHNESS_BUCKETS, 0, 364.31163045936864, 1e9),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(seconds, { maxLength: 200 }), async (observations) => {
      const ours = new FreshnessHistogram();
      const theirs = new Histogram({
        name: FRESHNESS_METRIC_NAME,
        help: "[ALPHA] Freshness of metrics exported",
        buckets: [...FRESHNESS_BUCKETS],
        registers: [],
      });
      for (const v of observations) {
        ours.observe(v);
        theirs.observe(v);
      }
      const text = async (metric: Histogram): Promise<string> => {
        const registry = new Registry();
        registry.registerMetric(metric);
        return registry.metrics();
      };
      assert.equal(await text(ours as unknown as Histogram), await text(theirs));
      // get() too (what getMetricsAsJSON reads), but for prom-client's exemplar slots (all empty).
      const plain = (values: readonly object[]) =>
        values.map((v) => Object.fromEntries(Object.entries(v).filter(([k]) => k !== "exemplar")));
      assert.deepEqual(plain((await ours.get()).values), plain((await theirs.get()).values));
    }),
    { numRuns: 200 },
  );
});
