// How long storing a large batch takes, how long it blocks the event loop (a store must not hold up
// the requests queued behind it) and how much memory the filled store holds. Timings depend on the
// machine. Run:
//
//   node bench/micro/store-batch.ts [--nodes 500] [--pods 30] [--containers 2] [--rounds 3] [--mode sync|async|both]
//   node --expose-gc bench/micro/store-batch.ts --mode memory [--ticks 6] [--first-tick-nodes N]
//   node --expose-gc bench/micro/store-batch.ts --mode parts
//
// The defaults are a quick run; the scale worth recording is --nodes 5000 (150,000 pods).
// Both: [--namespaces 20] (pods spread evenly over them), [--swap] [--remainders] (every container
// reports swap / a CPU remainder, as from the Summary API).
//
// sync/async (both = the two): for each store, the wall time, the longest event-loop block seen by
// monitorEventLoopDelay (10 ms sampling; a block is recorded in full) and the GC pauses meanwhile.
// memory: storeAsync ticks as the scrape loop runs them; after each, the batch is dropped and a full GC
// forced, and process.memoryUsage() is compared with the same reading taken before the store existed:
// what remains is the store (its typed arrays are the arrayBuffers line, everything else the heap
// line). The build's peak is the most arrayBuffers seen while the tick was built, batch excluded
// (sampled on every turn the build yields; the heap has no such line: without a forced GC it
// counts garbage). The store time printed includes that sampling: take times from --mode async.
// With --first-tick-nodes the first tick is smaller, as when nodes come up after the server starts.
// parts: a tick stored in two parts, as while one kubelet hangs: every node but node-0 with node-0
// pending, then the tick's last store; each timed against one storeAsync of the whole batch, and the
// typed-array memory held after each (the part keeps the tick's base generation alive).

import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { type NodeScrape, TwoPointStore } from "../../src/storage/index.ts";
import { note, type Row, report } from "./report.ts";

/** A fixed wall-clock origin for the synthetic scrapes (far from 0, which means "unknown" to the store). */
const T0 = 1_700_000_000_000;

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "500" },
    pods: { type: "string", default: "30" },
    containers: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    mode: { type: "string", default: "both" },
    "slice-ms": { type: "string", default: "5" },
    ticks: { type: "string", default: "6" },
    namespaces: { type: "string", default: "20" },
    swap: { type: "boolean", default: false },
    remainders: { type: "boolean", default: false },
    "first-tick-nodes": { type: "string" },
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
if (mode !== "sync" && mode !== "async" && mode !== "both" && mode !== "memory" && mode !== "parts") {
  throw new RangeError(`--mode must be sync, async, both, memory or parts, got ${mode}`);
}
const ticks = positiveInt("ticks", values.ticks);
const firstTickNodes =
  values["first-tick-nodes"] === undefined
    ? nodeCount
    : Math.min(nodeCount, positiveInt("first-tick-nodes", values["first-tick-nodes"]));

// Like the decoder's output: names interned, a handful of namespaces, container names shared. Passed
// through JSON so they are flat strings, as postMessage delivers them: built by concatenation they
// would be cons strings, and whichever code first reads their characters would flatten them and
// change the heap readings of --mode memory.
const namespaceNames: string[] = flat(
  Array.from({ length: positiveInt("namespaces", values.namespaces) }, (_, i) => `namespace-${i}`),
);
const containerNames: string[] = flat(Array.from({ length: containersPerPod }, (_, i) => `container-${i}`));
const nodeNames: string[] = flat(Array.from({ length: nodeCount }, (_, i) => `node-${i}`));
const podNames: string[][] = flat(
  nodeNames.map((node) => Array.from({ length: podsPerNode }, (_, p) => `pod-${node}-${p}`)),
);

function flat<T>(names: T): T {
  return JSON.parse(JSON.stringify(names));
}

/** One tick's batch of the first `nodes` nodes: every counter advanced by `round` steps of 15 s. */
function buildBatch(round: number, nodes = nodeCount): NodeScrape[] {
  const tsMs = T0 + 3_600_000 + round * 15_000 + 0.125;
  const batch: NodeScrape[] = [];
  for (let n = 0; n < nodes; n++) {
    const count = podsPerNode * containersPerPod;
    const namespaces: string[] = new Array(count);
    const pods: string[] = new Array(count);
    const containers: string[] = new Array(count);
    const startTimeMs = new Float64Array(count).fill(T0);
    const timestampMs = new Float64Array(count).fill(tsMs);
    const cpuNs = new Float64Array(count);
    const memoryBytes = new Float64Array(count);
    // The Summary API's shape: exact-counter remainders (small integers) and swap for every container.
    const cpuNsRemainder = values.remainders ? new Float64Array(count) : undefined;
    const swapBytes = values.swap ? new Float64Array(count) : undefined;
    for (let p = 0; p < podsPerNode; p++) {
      for (let c = 0; c < containersPerPod; c++) {
        const i = p * containersPerPod + c;
        namespaces[i] = namespaceNames[(n + p) % namespaceNames.length];
        pods[i] = podNames[n][p];
        containers[i] = containerNames[c];
        cpuNs[i] = 1e12 + round * (i + 1) * 1.5e9;
        memoryBytes[i] = 100_000_000 + i;
        if (cpuNsRemainder !== undefined) cpuNsRemainder[i] = (i % 7) - 3;
        if (swapBytes !== undefined) swapBytes[i] = 1_000_000 + i;
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
      ...(cpuNsRemainder === undefined ? {} : { cpuNsRemainder }),
      ...(swapBytes === undefined ? {} : { swapBytes }),
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
  const rows: Row[] = [];
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
    rows.push({
      round,
      "store ms": storeMs,
      "longest event-loop block ms": maxBlockMs,
      "longest gap between timer turns ms": longestGapMs,
      "GC pauses": gcPauses.length,
      "longest GC ms": gcMax,
      "GC total ms": gcTotal,
    });
    const served = store.getPodMetrics([{ namespace: namespaceNames[0], name: podNames[0][0] }])[0];
    if (round === rounds) delay.disable();
    if (round > 1 && served === undefined)
      throw new Error("store-batch: pod-0 of node-0 not served after two stores");
  }
  report(
    `${kind === "sync" ? "store" : "storeAsync"}: ${nodeCount} nodes × ${podsPerNode * containersPerPod} containers = ${nodeCount * podsPerNode * containersPerPod}`,
    rows,
  );
}

const MIB = 2 ** 20;

async function measureParts(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const whole = new TwoPointStore({ resolutionMs: 15_000 });
  const parts = new TwoPointStore({ resolutionMs: 15_000 });
  const rows: Row[] = [];
  const arrayBuffersMiB = (): number => {
    gc();
    return process.memoryUsage().arrayBuffers / MIB;
  };
  const timed = async (fn: () => Promise<void>): Promise<number> => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  for (let round = 1; round <= rounds; round++) {
    const batch = buildBatch(round);
    await sleep(100);
    const wholeMs = await timed(() => whole.storeAsync(batch, { sliceMs }));
    const before = arrayBuffersMiB();
    const partMs = await timed(() => parts.storeAsync(batch.slice(1), { sliceMs, pending: [nodeNames[0]] }));
    const afterPart = arrayBuffersMiB() - before;
    const lastMs = await timed(() => parts.storeAsync(batch, { sliceMs }));
    const afterLast = arrayBuffersMiB() - before;
    rows.push({
      round,
      "one store ms": wholeMs,
      "part ms": partMs,
      "last store ms": lastMs,
      "held after the part +MiB": afterPart,
      "held after the last +MiB": afterLast,
    });
  }
  report(
    `a tick in two parts (node-0 pending) against one store: ${nodeCount} nodes × ${podsPerNode * containersPerPod} containers`,
    rows,
  );
  note(
    "+MiB: typed arrays (process.memoryUsage().arrayBuffers) held after a full GC, over the tick's start.",
  );
}

async function measureMemory(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("--mode memory needs a forced GC: run node --expose-gc");
  const containers = nodeCount * podsPerNode * containersPerPod;
  const rows: Row[] = [];
  /** A full GC, then the turns V8 needs to free the collected ArrayBuffers' memory (it sweeps them concurrently). */
  const collect = async (): Promise<NodeJS.MemoryUsage> => {
    for (let i = 0; i < 2; i++) {
      gc();
      await sleep(20);
    }
    return process.memoryUsage();
  };
  const base = await collect();
  let stored = base;
  const store = new TwoPointStore({ resolutionMs: 15_000 });
  for (let tick = 1; tick <= ticks; tick++) {
    let batch: NodeScrape[] | undefined = buildBatch(tick, tick === 1 ? firstTickNodes : nodeCount);
    const withBatch = await collect();
    const batchArrayBuffers = withBatch.arrayBuffers - stored.arrayBuffers;
    // Sampled on every event-loop turn the build yields: the most the store held at once.
    let peakArrayBuffers = 0;
    let sampling = true;
    const sample = (): void => {
      peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
      if (sampling) setImmediate(sample);
    };
    setImmediate(sample);
    const t0 = performance.now();
    await store.storeAsync(batch, { sliceMs });
    const storeMs = performance.now() - t0;
    sampling = false;
    sample();
    batch = undefined;
    stored = await collect();
    const heap = stored.heapUsed - base.heapUsed;
    const arrayBuffers = stored.arrayBuffers - base.arrayBuffers;
    rows.push({
      tick,
      "store ms": storeMs,
      "typed arrays MiB": arrayBuffers / MIB,
      "heap MiB": heap / MIB,
      "rss + MiB": (stored.rss - base.rss) / MIB,
      "B per container": (arrayBuffers + heap) / containers,
      "typed arrays at build peak MiB": (peakArrayBuffers - base.arrayBuffers - batchArrayBuffers) / MIB,
    });
  }
  if (store.getPodMetrics([{ namespace: namespaceNames[0], name: podNames[0][0] }])[0] === undefined)
    throw new Error("store-batch: pod-0 of node-0 not served after several stores");
  report(
    `store memory: ${nodeCount} nodes × ${podsPerNode} pods × ${containersPerPod} containers = ${containers}`,
    rows,
  );
  note(
    `${ticks} storeAsync ticks${firstTickNodes < nodeCount ? ` (the first with ${firstTickNodes} nodes)` : ""}; ` +
      "readings after a full GC, against the same reading before the store existed",
  );
}

if (mode === "sync" || mode === "both") await measure("sync");
if (mode === "async" || mode === "both") await measure("async");
if (mode === "memory") await measureMemory();
if (mode === "parts") await measureParts();
gcObserver.disconnect();
