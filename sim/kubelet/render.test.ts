// The precomputed /metrics/resource renderer against a straightforward reference built on
// renderFamilies (sort everything per request), on random pods, and the layout cache's behaviour
// when pods change.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { reportedContainers, type SimContainer, type SimNode, type SimPod } from "../types.ts";
import { type Family, formatGoFloat, renderFamilies, type Sample } from "./promtext.ts";
import { renderResourceMetrics } from "./resourcemetrics.ts";
import { containerCpuSeconds, NodeCounterState } from "./usage.ts";

const NOW = 1732741801205;

const NODE: SimNode = {
  name: "node-a",
  uid: "u",
  labels: {},
  internalIP: "127.9.1.1",
  hostname: "node-a",
  kubeletPort: 10250,
  cpuCores: 4,
  memoryBytes: 8 * 2 ** 30,
  overheadCpuMilli: 100,
  overheadMemoryBytes: 314572800,
  overheadSwapBytes: 4096,
  bootTimeMs: NOW - 1_000_000,
  creationTimestampMs: NOW - 2_000_000,
  ready: true,
};

/** The exposition written the slow, obvious way (no state, so no retired CPU). */
function reference(node: SimNode, pods: readonly SimPod[], tMs: number): string {
  const cpu: Sample[] = [];
  const mem: Sample[] = [];
  const start: Sample[] = [];
  const swap: Sample[] = [];
  const podCpu: Sample[] = [];
  const podMem: Sample[] = [];
  let podsCpu = 0;
  let podsMem = 0;
  let podsSwap = 0;
  const key = (p: SimPod) => `${p.namespace}\0${p.name}`;
  const sorted = [...pods].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  for (const p of sorted) {
    if (p.nodeName !== node.name) continue;
    const cs = reportedContainers(p);
    if (cs.length === 0) continue;
    const podLabels = [
      ["namespace", p.namespace],
      ["pod", p.name],
    ] as const;
    let pc = 0;
    let pm = 0;
    for (const c of cs) {
      const labels = [
        ["pod", p.name],
        ["container", c.name],
        ["namespace", p.namespace],
      ] as const;
      const seconds = containerCpuSeconds(c, tMs);
      pc += seconds;
      pm += c.memoryBytes;
      podsSwap += c.swapBytes ?? 0;
      cpu.push({ labels, value: seconds, timestampMs: tMs });
      mem.push({ labels, value: c.memoryBytes, timestampMs: tMs });
      swap.push({ labels, value: c.swapBytes ?? 0, timestampMs: tMs });
      if (c.startTimeMs > 0) start.push({ labels, value: c.startTimeMs / 1000 });
    }
    podsCpu += pc;
    podsMem += pm;
    podCpu.push({ labels: podLabels, value: pc, timestampMs: tMs });
    podMem.push({ labels: podLabels, value: pm, timestampMs: tMs });
  }
  const nodeCpu =
    containerCpuSeconds({ cpuMilli: node.overheadCpuMilli, startTimeMs: node.bootTimeMs }, tMs) + podsCpu + 0;
  const fam = (name: string, help: string, type: "counter" | "gauge", samples: Sample[]): Family => ({
    name,
    help,
    type,
    samples,
  });
  return renderFamilies([
    fam(
      "resource_scrape_error",
      "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
      "gauge",
      [{ labels: [], value: 0 }],
    ),
    fam("pod_memory_working_set_bytes", "[STABLE] Current working set of the pod in bytes", "gauge", podMem),
    fam(
      "pod_cpu_usage_seconds_total",
      "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
      "counter",
      podCpu,
    ),
    fam(
      "node_swap_usage_bytes",
      "[ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems",
      "gauge",
      [{ labels: [], value: (node.overheadSwapBytes ?? 0) + podsSwap, timestampMs: tMs }],
    ),
    fam("node_memory_working_set_bytes", "[STABLE] Current working set of the node in bytes", "gauge", [
      { labels: [], value: node.overheadMemoryBytes + podsMem, timestampMs: tMs },
    ]),
    fam(
      "node_cpu_usage_seconds_total",
      "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
      "counter",
      [{ labels: [], value: nodeCpu, timestampMs: tMs }],
    ),
    fam(
      "container_swap_usage_bytes",
      "[ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems",
      "gauge",
      swap,
    ),
    fam(
      "container_start_time_seconds",
      "[STABLE] Start time of the container since unix epoch in seconds",
      "gauge",
      start,
    ),
    fam(
      "container_memory_working_set_bytes",
      "[STABLE] Current working set of the container in bytes",
      "gauge",
      mem,
    ),
    fam(
      "container_cpu_usage_seconds_total",
      "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
      "counter",
      cpu,
    ),
  ]);
}

// Small alphabets so names collide and sorting ties are exercised; quotes, backslashes and newlines
// so escaping is.
const name = fc.string({ unit: fc.constantFrom("a", "b", "-", '"', "\\", "\n"), minLength: 1, maxLength: 3 });
const container: fc.Arbitrary<SimContainer> = fc.record({
  name,
  cpuMilli: fc.oneof(fc.integer({ min: 0, max: 64_000 }), fc.double({ min: 0, max: 1e4, noNaN: true })),
  memoryBytes: fc.integer({ min: 0, max: 2 ** 40 }),
  startTimeMs: fc.integer({ min: -1000, max: NOW }),
  swapBytes: fc.option(fc.integer({ min: 0, max: 2 ** 34 }), { nil: undefined }),
});
const pod: fc.Arbitrary<SimPod> = fc.record({
  namespace: name,
  name,
  uid: fc.constant("uid"),
  nodeName: fc.constantFrom("node-a", "node-a", "node-b"),
  labels: fc.constant({}),
  phase: fc.constantFrom("Running", "Running", "Running", "Pending", "Succeeded"),
  creationTimestampMs: fc.constant(NOW - 5_000_000),
  startTimeMs: fc.constant(NOW - 4_000_000),
  containers: fc.array(container, { maxLength: 3 }),
  initContainers: fc.array(
    container.chain((c) => fc.boolean().map((sidecar) => ({ ...c, sidecar }))),
    { maxLength: 2 },
  ),
});

describe("renderResourceMetrics (precomputed layout)", () => {
  test("writes exactly what the per-request sort-everything rendering writes", () => {
    fc.assert(
      fc.property(fc.array(pod, { maxLength: 8 }), fc.integer({ min: 0, max: 600_000 }), (pods, dt) => {
        const t = NOW + dt;
        assert.equal(renderResourceMetrics(NODE, pods, t), reference(NODE, pods, t));
        // And again through a cached layout, at a later time.
        const state = new NodeCounterState();
        renderResourceMetrics(NODE, pods, t, state);
        assert.equal(renderResourceMetrics(NODE, pods, t + 1000, state), reference(NODE, pods, t + 1000));
      }),
      { numRuns: 300 },
    );
  });

  test("a replaced pod (same array, new object) is picked up by a cached layout", () => {
    const web: SimPod = {
      namespace: "default",
      name: "web",
      uid: "u1",
      nodeName: "node-a",
      labels: {},
      phase: "Running",
      creationTimestampMs: NOW - 10_000,
      startTimeMs: NOW - 10_000,
      containers: [{ name: "app", cpuMilli: 100, memoryBytes: 1000, startTimeMs: NOW - 10_000 }],
      initContainers: [],
    };
    const pods: SimPod[] = [web];
    const state = new NodeCounterState();
    assert.match(
      renderResourceMetrics(NODE, pods, NOW, state),
      /pod_memory_working_set_bytes\{namespace="default",pod="web"\} 1000 /,
    );
    pods[0] = { ...web, containers: [{ ...web.containers[0], memoryBytes: 2000 }] };
    assert.match(
      renderResourceMetrics(NODE, pods, NOW + 1000, state),
      /pod_memory_working_set_bytes\{namespace="default",pod="web"\} 2000 /,
    );
    pods.push({ ...web, name: "api", uid: "u2" });
    assert.match(renderResourceMetrics(NODE, pods, NOW + 2000, state), /pod="api"/);
  });

  test("the node CPU counter keeps a container's CPU after a cached layout is replaced", () => {
    const c: SimContainer = { name: "app", cpuMilli: 500, memoryBytes: 1, startTimeMs: NOW - 60_000 };
    const p: SimPod = {
      namespace: "ns",
      name: "p",
      uid: "u",
      nodeName: "node-a",
      labels: {},
      phase: "Running",
      creationTimestampMs: NOW - 60_000,
      startTimeMs: NOW - 60_000,
      containers: [c],
      initContainers: [],
    };
    const state = new NodeCounterState();
    const nodeCpu = (body: string) => Number(/^node_cpu_usage_seconds_total (\S+)/m.exec(body)?.[1]);
    renderResourceMetrics(NODE, [p], NOW, state);
    // Seen again 50 s later through the same layout (the fast path), then the pod goes away.
    const before = nodeCpu(renderResourceMetrics(NODE, [p], NOW + 50_000, state));
    const after = nodeCpu(renderResourceMetrics(NODE, [], NOW + 51_000, state));
    const overhead = (t: number) =>
      containerCpuSeconds({ cpuMilli: NODE.overheadCpuMilli, startTimeMs: NODE.bootTimeMs }, t);
    assert.ok(after >= before, `${after} >= ${before}`);
    // The retired CPU is the container's at its last sighting (NOW + 50 s), not at the first one.
    assert.equal(after, overhead(NOW + 51_000) + containerCpuSeconds(c, NOW + 50_000));
  });
});

describe("formatGoFloat fast path", () => {
  // Go's 'g' rule spelled out: exponent form below 1e-4 and from 1e6 on, by the shortest digits' exponent.
  const slow = (v: number) => {
    const [mantissa, e] = v.toExponential().split("e");
    const exp = Number(e);
    if (exp < -4 || exp >= 6)
      return `${mantissa}e${exp < 0 ? "-" : "+"}${Math.abs(exp) < 10 ? "0" : ""}${Math.abs(exp)}`;
    return String(v);
  };
  test("agrees with the exponent rule on and around the boundaries", () => {
    const near = (x: number) => fc.integer({ min: -5, max: 5 }).map((k) => x + k * Number.EPSILON * x);
    fc.assert(
      fc.property(
        fc.oneof(near(1e-4), near(1e6), fc.double({ min: 1e-5, max: 1e7, noNaN: true })),
        fc.boolean(),
        (v, negative) => {
          const x = negative ? -v : v;
          if (x !== 0) assert.equal(formatGoFloat(x), slow(x));
        },
      ),
    );
  });
});
