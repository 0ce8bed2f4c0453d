import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { T0, TIMELESS } from "../../test/support/node-scrapes.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeScrape } from "./types.ts";

/** One node with one single-container pod, node and container sharing the sample. */
function sample(tsMs: number, cpuNs: number, memory: number): NodeScrape {
  return {
    node: "node1",
    nodeTimestampMs: tsMs,
    nodeCpuNs: cpuNs,
    nodeMemoryBytes: memory,
    nodeStartTimeMs: 0,
    containerCount: 1,
    namespaces: ["ns"],
    pods: ["pod"],
    containers: ["c"],
    startTimeMs: new Float64Array([0]),
    timestampMs: new Float64Array([tsMs]),
    cpuNs: new Float64Array([cpuNs]),
    memoryBytes: new Float64Array([memory]),
  };
}

test("property: monotonic counters and increasing timestamps give rate = trunc(Δcpu / Δt seconds) ≥ 0", () => {
  const step = fc.record({
    // Fractional milliseconds included: kubelet timestamps are not whole milliseconds.
    dtMs: fc.double({ min: 1, max: 600_000, noNaN: true }),
    dCpu: fc.integer({ min: 0, max: 64 * 600 * 1e9 }),
    memory: fc.integer({ min: 1, max: 2 ** 40 }),
  });
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
      const s = new TwoPointStore({ resolutionMs: 60_000, ...TIMELESS });
      let ts = T0;
      let cpu = 1e12;
      s.store([sample(ts, cpu, 1)]);
      for (const { dtMs, dCpu, memory } of steps) {
        const prevTs = ts;
        const prevCpu = cpu;
        ts += dtMs;
        cpu += dCpu;
        if (ts === prevTs) continue; // too small a step to move a 1.7e12 double: not increasing
        s.store([sample(ts, cpu, memory)]);
        const expected = Math.trunc((cpu - prevCpu) / ((ts - prevTs) / 1000));
        const [node] = s.getNodeMetrics(["node1"]);
        const [pod] = s.getPodMetrics([{ namespace: "ns", name: "pod" }]);
        assert.ok(node && pod);
        assert.equal(node.cpuNanocores, expected);
        assert.ok(node.cpuNanocores >= 0);
        assert.equal(node.windowMs, ts - prevTs);
        assert.equal(node.timestampMs, ts);
        assert.equal(node.memoryBytes, memory);
        assert.equal(pod.containers[0].cpuNanocores, expected);
        assert.equal(pod.windowMs, ts - prevTs);
      }
    }),
  );
});

test("property: reads never return entries for names that were not stored", () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(name, name), { selector: ([ns, pod]) => `${ns}/${pod}`, maxLength: 8 }),
      fc.array(fc.tuple(name, name), { maxLength: 10 }),
      fc.uniqueArray(name, { maxLength: 5 }),
      fc.array(name, { maxLength: 8 }),
      (storedPods, queriedPods, storedNodes, queriedNodes) => {
        const s = new TwoPointStore({ resolutionMs: 60_000, ...TIMELESS });
        const batch = (tsMs: number): NodeScrape[] => {
          const scrapes = storedNodes.map((node) => ({ ...sample(tsMs, tsMs, 1), node, containerCount: 0 }));
          const n = storedPods.length;
          scrapes.push({
            ...sample(0, 0, 1),
            node: "pods-holder",
            containerCount: n,
            namespaces: storedPods.map(([ns]) => ns),
            pods: storedPods.map(([, pod]) => pod),
            containers: storedPods.map(() => "c"),
            startTimeMs: new Float64Array(n),
            timestampMs: new Float64Array(n).fill(tsMs),
            cpuNs: new Float64Array(n).fill(tsMs),
            memoryBytes: new Float64Array(n).fill(1),
          });
          return scrapes;
        };
        s.store(batch(T0));
        s.store(batch(T0 + 10_000));
        const storedPodKeys = new Set(storedPods.map(([ns, pod]) => `${ns}/${pod}`));
        const podRefs = [...queriedPods, ...storedPods].map(([namespace, name]) => ({ namespace, name }));
        const pods = s.getPodMetrics(podRefs);
        assert.equal(pods.length, podRefs.length);
        pods.forEach((p, i) => {
          const key = `${podRefs[i].namespace}/${podRefs[i].name}`;
          assert.equal(p !== undefined, storedPodKeys.has(key), key);
        });
        const nodeNames = [...queriedNodes, ...storedNodes];
        const nodes = s.getNodeMetrics(nodeNames);
        assert.equal(nodes.length, nodeNames.length);
        nodes.forEach((n, i) => {
          assert.equal(n !== undefined, storedNodes.includes(nodeNames[i]), nodeNames[i]);
        });
      },
    ),
  );
});
