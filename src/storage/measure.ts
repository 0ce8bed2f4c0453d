// Measures how long storing a large batch takes and how long it blocks the event loop (issue 7).
// Not a test: timings depend on the machine. Run:
//
//   node src/storage/measure.ts [--nodes 5000] [--pods 30] [--containers 2] [--rounds 3] [--mode sync|async|both]
//
// For each store it prints the wall time, the longest event-loop block seen by
// monitorEventLoopDelay (10 ms sampling; a block is recorded in full) and the GC pauses that happened meanwhile.

import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { TwoPointStore } from "./store.ts";
import { T0 } from "./test-scrapes.ts";
import type { NodeScrape } from "./types.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "5000" },
    pods: { type: "string", default: "30" },
    containers: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    mode: { type: "string", default: "both" },
    "slice-ms": { type: "string", default: "5" },
  },
});

function positiveInt(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new RangeError(`--${name} must be a positive integer, got ${raw}`);
  return n;
}

const nodeCount = positiveInt("nodes", values.nodes);
const podsPerNode = positiveInt("pods", values.pods);
const containersPerPod = positiveInt("containers", values.containers);
const rounds = positiveInt("rounds", values.rounds);
const sliceMs = Number(values["slice-ms"]);
const mode = values.mode;
if (mode !== "sync" && mode !== "async" && mode !== "both") {
  throw new RangeError(`--mode must be sync, async or both, got ${mode}`);
}

// Like the decoder's output: names interned, a handful of namespaces, container names shared.
const namespaceNames = Array.from({ length: 20 }, (_, i) => `namespace-${i}`);
const containerNames = Array.from({ length: containersPerPod }, (_, i) => `container-${i}`);
const nodeNames = Array.from({ length: nodeCount }, (_, i) => `node-${i}`);
const podNames = nodeNames.map((node) => Array.from({ length: podsPerNode }, (_, p) => `pod-${node}-${p}`));

/** One tick's batch: every counter advanced by `round` steps of 15 s. */
function buildBatch(round: number): NodeScrape[] {
  const tsMs = T0 + 3_600_000 + round * 15_000 + 0.125;
  const batch: NodeScrape[] = [];
  for (let n = 0; n < nodeCount; n++) {
    const count = podsPerNode * containersPerPod;
    const namespaces: string[] = new Array(count);
    const pods: string[] = new Array(count);
    const containers: string[] = new Array(count);
    const startTimeMs = new Float64Array(count).fill(T0);
    const timestampMs = new Float64Array(count).fill(tsMs);
    const cpuNs = new Float64Array(count);
    const memoryBytes = new Float64Array(count);
    for (let p = 0; p < podsPerNode; p++) {
      for (let c = 0; c < containersPerPod; c++) {
        const i = p * containersPerPod + c;
        namespaces[i] = namespaceNames[(n + p) % namespaceNames.length];
        pods[i] = podNames[n][p];
        containers[i] = containerNames[c];
        cpuNs[i] = 1e12 + round * (i + 1) * 1.5e9;
        memoryBytes[i] = 100_000_000 + i;
      }
    }
    batch.push({
      node: nodeNames[n],
      nodeTimestampMs: tsMs,
      nodeCpuNs: 5e13 + round * 3e11,
      nodeMemoryBytes: 8e9,
      nodeStartTimeMs: T0,
      containerCount: count,
      namespaces,
      pods,
      containers,
      startTimeMs,
      timestampMs,
      cpuNs,
      memoryBytes,
    });
  }
  return batch;
}

let gcPauses: number[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push(entry.duration);
});
gcObserver.observe({ entryTypes: ["gc"] });

async function measure(kind: "sync" | "async"): Promise<void> {
  const store = new TwoPointStore({ resolutionMs: 15_000 });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  // Enabled for the whole run: the histogram only sees a block once its timer has been armed.
  delay.enable();
  console.log(
    `${kind}: ${nodeCount} nodes × ${podsPerNode * containersPerPod} containers = ${nodeCount * podsPerNode * containersPerPod}`,
  );
  for (let round = 1; round <= rounds; round++) {
    const batch = buildBatch(round);
    // Let the batch's own allocation settle so it is not charged to the store.
    await sleep(100);
    gcPauses = [];
    delay.reset();
    let stopSampling = false;
    let lastTurnMs = performance.now();
    let longestGapMs = 0;
    // A second, independent view: the longest gap between 1 ms timer turns.
    const sample = (): void => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - lastTurnMs);
      lastTurnMs = now;
      if (!stopSampling) setTimeout(sample, 1);
    };
    setTimeout(sample, 1);
    // Started from a timer callback, as the manager's tick continues from an I/O callback.
    const storeMs = await new Promise<number>((resolve, reject) => {
      setTimeout(() => {
        const t0 = performance.now();
        if (kind === "sync") {
          store.store(batch);
          resolve(performance.now() - t0);
        } else {
          store.storeAsync(batch, { sliceMs }).then(() => resolve(performance.now() - t0), reject);
        }
      }, 5);
    });
    // One more timer turn so a block at the very end is recorded.
    await sleep(20);
    stopSampling = true;
    const maxBlockMs = delay.max / 1e6;
    const gcMax = gcPauses.length === 0 ? 0 : Math.max(...gcPauses);
    const gcTotal = gcPauses.reduce((a, b) => a + b, 0);
    console.log(
      `  store ${round}: ${storeMs.toFixed(1)} ms, longest event-loop block ${maxBlockMs.toFixed(1)} ms ` +
        `(longest gap between timer turns ${longestGapMs.toFixed(1)} ms), ` +
        `GC ${gcPauses.length} pauses (longest ${gcMax.toFixed(1)} ms, total ${gcTotal.toFixed(1)} ms)`,
    );
    const served = store.getPodMetrics([{ namespace: namespaceNames[0], name: podNames[0][0] }])[0];
    if (round === rounds) delay.disable();
    if (round > 1 && served === undefined)
      throw new Error("measure: pod-0 of node-0 not served after two stores");
  }
}

if (mode === "sync" || mode === "both") await measure("sync");
if (mode === "async" || mode === "both") await measure("async");
gcObserver.disconnect();
