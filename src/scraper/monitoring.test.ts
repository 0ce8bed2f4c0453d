import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Gauge, Histogram, Registry } from "prom-client";
import {
  KUBELET_LAST_REQUEST_TIME,
  KUBELET_REQUEST_DURATION,
  KubeletNodeSeries,
  kubeletNodeFamilies,
  observeKubeletRequest,
  redirectKubeletRequestMetrics,
} from "./monitoring.ts";

/**
 * The two per-node families exactly as they were declared with prom-client before the compact
 * store replaced them: the reference the rendering must match byte for byte.
 */
function promClientReference(): {
  registry: Registry;
  observe(node: string, seconds: number, endTimeMs: number): void;
  forget(node: string): void;
} {
  const duration = new Histogram({
    name: KUBELET_REQUEST_DURATION,
    help: "[ALPHA] Duration of requests to Kubelet API in seconds",
    labelNames: ["node"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  });
  const lastTime = new Gauge({
    name: KUBELET_LAST_REQUEST_TIME,
    help: "[ALPHA] Time of last request performed to Kubelet API since unix epoch in seconds",
    labelNames: ["node"] as const,
    registers: [],
  });
  const registry = new Registry();
  registry.registerMetric(duration);
  registry.registerMetric(lastTime);
  return {
    registry,
    observe(node, seconds, endTimeMs) {
      duration.observe({ node }, seconds);
      lastTime.set({ node }, endTimeMs / 1000);
    },
    forget(node) {
      duration.remove({ node });
      lastTime.remove({ node });
    },
  };
}

// Names that need escaping (backslash, quote, newline), look like numbers, or are not ASCII.
const ODD_NAMES = [
  "node-a",
  'quote"d',
  "back\\slash",
  "new\nline",
  'all\\"\n\\n',
  "",
  "0",
  "123",
  "ünïcødé-ノード",
  "comma,node=x}",
];
// Bucket bounds exactly, just above them, beyond the last bound, zero, negative, fractions.
const DURATIONS = [0, 0.005, 0.0050001, 0.01, 0.1, 0.3, 1, 2.5, 10, 10.5, 1234.5678, -1, 1e-9, 0.1 + 0.2];

const render = (series: KubeletNodeSeries, nodesPerChunk?: number): string =>
  [...series.render(nodesPerChunk)].join("");

describe("KubeletNodeSeries", () => {
  it("renders byte for byte what prom-client rendered, odd names included", async () => {
    const ref = promClientReference();
    const series = new KubeletNodeSeries();
    let t = 1_700_000_000_123.456;
    for (const [i, node] of ODD_NAMES.entries()) {
      for (let k = 0; k <= i % 4; k++) {
        const seconds = DURATIONS[(i * 3 + k) % DURATIONS.length]!;
        t += 1234.5;
        ref.observe(node, seconds, t);
        series.observe(node, seconds, t);
      }
    }
    ref.forget("node-a");
    series.forget("node-a");
    ref.observe("node-a", 0.02, 1_700_000_100_000);
    series.observe("node-a", 0.02, 1_700_000_100_000);
    const expected = await ref.registry.metrics();
    assert.match(expected, /node="all\\\\\\"\\n\\\\n"/, "the reference escapes as expected");
    assert.equal(render(series), expected);
    assert.equal(render(series, 3), expected, "chunking does not change the text");
  });

  it("renders the empty families as prom-client does", async () => {
    assert.equal(render(new KubeletNodeSeries()), await promClientReference().registry.metrics());
  });

  it("matches prom-client for any sequence of observations and forgets", async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("observe" as const),
        node: fc.constantFrom(...ODD_NAMES),
        seconds: fc.oneof(fc.constantFrom(...DURATIONS), fc.double({ min: -5, max: 50, noNaN: true })),
        endTimeMs: fc.oneof(
          fc.integer({ min: 0, max: 2 ** 42 }),
          fc.double({ min: 0, max: 2e12, noNaN: true }),
        ),
      }),
      fc.record({ kind: fc.constant("forget" as const), node: fc.constantFrom(...ODD_NAMES) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        async (ops, perChunk) => {
          const ref = promClientReference();
          const series = new KubeletNodeSeries();
          for (const o of ops) {
            if (o.kind === "observe") {
              ref.observe(o.node, o.seconds, o.endTimeMs);
              series.observe(o.node, o.seconds, o.endTimeMs);
            } else {
              ref.forget(o.node);
              series.forget(o.node);
            }
          }
          assert.equal(render(series, perChunk), await ref.registry.metrics());
        },
      ),
      { numRuns: 200 },
    );
  });

  it("forgetting a node removes its lines; a node seen again starts afresh, last", () => {
    const series = new KubeletNodeSeries();
    series.observe("a", 0.02, 1000);
    series.observe("b", 0.02, 2000);
    series.observe("b", 20, 3000);
    series.forget("b");
    series.forget("never-seen");
    assert.equal(series.size, 1);
    let text = render(series);
    assert.ok(!text.includes('node="b"'), text);
    assert.equal(text.match(/node="a"/g)?.length, 15, "11 buckets, +Inf, sum, count and the gauge");

    series.observe("b", 0.5, 4000);
    series.observe("a", 0.5, 5000);
    text = render(series);
    assert.match(text, /_count\{node="b"\} 1\n/, "the old observations are gone");
    assert.match(text, /_sum\{node="b"\} 0.5\n/);
    assert.ok(text.indexOf('_count{node="b"}') > text.indexOf('_count{node="a"}'), "b comes back last");
    assert.match(text, /seconds\{node="b"\} 4\n/);
  });

  it("renders 5,000 nodes in chunks of at most the requested number of nodes", () => {
    const series = new KubeletNodeSeries();
    for (let i = 0; i < 5000; i++) series.observe(`node-${i}`, (i % 97) / 10, 1_700_000_000_000 + i);
    const chunks = [...series.render(500)];
    assert.equal(chunks.length, 2 + 10 + 10, "two heads, ten chunks per family");
    for (const chunk of chunks) {
      const nodes = new Set([...chunk.matchAll(/node="([^"]*)"/g)].map((m) => m[1]));
      assert.ok(nodes.size <= 500, `a chunk holds ${nodes.size} nodes`);
    }
    const text = chunks.join("");
    assert.equal(text.match(/_count\{/g)?.length, 5000);
    assert.equal(text.match(new RegExp(`^${KUBELET_LAST_REQUEST_TIME}\\{`, "gm"))?.length, 5000);
  });

  it("renders each chunk when asked: nodes that come and go meanwhile appear at most once", () => {
    const series = new KubeletNodeSeries();
    for (let i = 0; i < 10; i++) series.observe(`n${i}`, 0.1, 1000);
    const chunks = series.render(2);
    const seen: string[] = [chunks.next().value!, chunks.next().value!];
    assert.match(seen[1]!, /node="n0"/);
    // After the first chunk: n5 is forgotten, n1 (already written) and n7 are forgotten and come
    // back, possibly in each other's slots, and a new node arrives.
    series.forget("n5");
    series.forget("n1");
    series.forget("n7");
    series.observe("n7", 0.2, 2000);
    series.observe("n1", 0.2, 2000);
    series.observe("late", 0.2, 2000);
    for (const chunk of chunks) seen.push(chunk);
    const text = seen.join("");
    assert.ok(!text.includes('node="n5"'), "a node forgotten before its chunk is left out");
    const countLines = text.match(/_count\{node="[^"]*"\}/g) ?? [];
    assert.equal(new Set(countLines).size, countLines.length, `no duplicate series: ${countLines}`);
    const gaugeLines = text.match(/seconds\{node="[^"]*"\}/g) ?? [];
    assert.equal(new Set(gaugeLines).size, gaugeLines.length, `no duplicate series: ${gaugeLines}`);
  });

  it("lets the event loop run between the chunks of a 5,000-node render", async () => {
    const series = new KubeletNodeSeries();
    for (let i = 0; i < 5000; i++) series.observe(`node-${i}`, 0.01, 1_700_000_000_000);
    let immediateRan = false;
    setImmediate(() => {
      immediateRan = true;
    });
    // Consumed as the server's chunked writer does: one turn of the event loop after each chunk.
    const chunks = series.render();
    const first = chunks.next();
    assert.ok(!first.done);
    assert.equal(immediateRan, false, "the first chunk is rendered synchronously");
    let ranBeforeEnd = false;
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = chunks.next();
      if (next.done) break;
      ranBeforeEnd ||= immediateRan;
    }
    assert.ok(ranBeforeEnd, "a callback queued before the render ran before it completed");
  });

  it("does not count a non-finite duration, and keeps the request's end time", () => {
    const series = new KubeletNodeSeries();
    series.observe("x", Number.NaN, 5000);
    series.observe("x", Number.POSITIVE_INFINITY, 6000);
    const text = render(series);
    assert.match(text, /_count\{node="x"\} 0\n/);
    assert.match(text, /_sum\{node="x"\} 0\n/);
    assert.match(text, /seconds\{node="x"\} 6\n/);
  });
});

describe("observeKubeletRequest", () => {
  it("records into the process's families, or hands everything to a redirect", () => {
    const node = `observe-test-${process.pid}`;
    const forwarded: unknown[] = [];
    redirectKubeletRequestMetrics({
      observe: (...args) => forwarded.push(["observe", ...args]),
      forget: (n) => forwarded.push(["forget", n]),
    });
    try {
      observeKubeletRequest(node, 0.2, false, 7000);
      assert.deepEqual(forwarded, [["observe", node, 0.2, false, 7000]]);
      assert.ok(![...kubeletNodeFamilies()].join("").includes(node), "nothing recorded here");
    } finally {
      redirectKubeletRequestMetrics(undefined);
    }
    observeKubeletRequest(node, 0.2, true, 7000);
    const text = [...kubeletNodeFamilies()].join("");
    assert.ok(text.includes(`${KUBELET_REQUEST_DURATION}_count{node="${node}"} 1\n`), text);
    assert.ok(text.includes(`${KUBELET_LAST_REQUEST_TIME}{node="${node}"} 7\n`));
  });
});
