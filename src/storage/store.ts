// The two-point metrics store (reference §2): keeps the newest point and the point before it for every
// node and container, and serves CPU as the rate between the two.
//
// Deliberate differences from upstream metrics-server:
// - Containers of a pod are stored and served in a stable order (sorted by name), not Go map order.
// - No zero-prev quirk: a container missing from the old prev pod gets no prev (upstream keeps a zero point).
// - A pod whose every container's rate errors is not served at all (upstream serves it with no containers).
// - A CPU counter or startTime decrease is logged once when the batch is stored, not on every API read.
// - A startTime decrease is only an error when both start times are known (0 means unknown).
// - A node that appears twice in one batch is skipped as a whole (its node point and its pods), one log line.
// - A malformed node scrape or pod (non-finite/negative numbers, non-string names) is skipped and logged.
// - Swap usage (an optional gauge upstream does not read) is kept as the newest value and served
//   beside memory; a missing, negative or non-finite swap value only makes the swap unknown.
// - CPU counters past 2^53 (Summary API) are kept exact: each counter is a (double, remainder) pair,
//   and deltas and counter-reset checks use the pair (upstream's uint64 arithmetic, without BigInt).
//
// Performance: store() runs once per resolution and logs every rate error up front; reads (one per API
// call) look up slots and compute the rates from the two stored points. Data is columnar (see
// generation.ts); each tick builds a generation sized for its batch and frees the one it replaces.
// Reading one pod costs O(its containers).

import * as log from "../log/index.ts";
import { Generation, NO_PREV, stringHash } from "./generation.ts";
import { setStoragePoints } from "./monitoring.ts";
import type {
  ContainerMetricsPoint,
  MetricsReader,
  NodeMetricsPoint,
  NodeScrape,
  PodMetricsPoint,
  PodRef,
} from "./types.ts";

/** Below this age a container's counter is too young to give an accurate rate (upstream's 10 s). */
const FRESH_CONTAINER_MIN_AGE_MS = 10_000;

const CPU_DECREASE = "unexpected decrease in cumulative CPU usage value";
const START_DECREASE = "unexpected decrease in startTime of node/container";

export interface TwoPointStoreOptions {
  /** The scrape interval (--metric-resolution); containers younger than this are served after one scrape. */
  resolutionMs: number;
}

function isTime(v: number): boolean {
  return Number.isFinite(v) && v > 0;
}

function isStartTime(v: number): boolean {
  return Number.isFinite(v) && v >= 0;
}

function isAmount(v: number): boolean {
  return Number.isFinite(v) && v >= 0;
}

/** An exact-counter correction: a (small) integer of either sign. */
function isRemainder(v: number): boolean {
  return Number.isSafeInteger(v);
}

/** A swap reading as stored: the value when it is a usable amount, else NaN (unknown). */
function swapOrUnknown(v: unknown): number {
  return typeof v === "number" && isAmount(v) ? v : Number.NaN;
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return (
    Array.isArray(v) ||
    (ArrayBuffer.isView(v) && typeof (v as unknown as ArrayLike<unknown>).length === "number")
  );
}

/** How many containers of a scrape can be read safely, or -1 if the scrape is not usable at all. */
function usableContainerCount(s: NodeScrape): number {
  if (s === null || typeof s !== "object" || typeof s.node !== "string") return -1;
  const columns: unknown[] = [
    s.namespaces,
    s.pods,
    s.containers,
    s.startTimeMs,
    s.timestampMs,
    s.cpuNs,
    s.memoryBytes,
  ];
  let count = Number.isSafeInteger(s.containerCount) && s.containerCount >= 0 ? s.containerCount : 0;
  for (const column of columns) {
    if (!isArrayLike(column)) return count === 0 && column === undefined ? 0 : -1;
    count = Math.min(count, column.length);
  }
  // Optional columns: absent means every remainder is 0 and every swap value unknown.
  for (const optional of [s.cpuNsRemainder, s.swapBytes] as unknown[]) {
    if (optional === undefined) continue;
    if (!isArrayLike(optional)) return -1;
    count = Math.min(count, optional.length);
  }
  return count;
}

/**
 * Exact CPU used between two points, each given as (nearest double, remainder). For counters past
 * 2^53 (Summary API) the doubles are close, so their difference is exact (Sterbenz lemma) and adding
 * the difference of the small remainders restores the exact integer delta. With remainders 0 (the
 * resource path) this is the plain difference.
 */
function cpuDelta(lastCpu: number, lastRem: number, prevCpu: number, prevRem: number): number {
  return lastCpu - prevCpu + (lastRem - prevRem);
}

/** Why a rate cannot be computed between two points, or undefined when it can. */
function rateError(lastStart: number, prevStart: number, delta: number): string | undefined {
  if (lastStart !== 0 && prevStart !== 0 && lastStart < prevStart) return START_DECREASE;
  // A counter reset: compared on the exact (double, remainder) pair, not on the doubles alone.
  if (delta < 0) return CPU_DECREASE;
  return undefined;
}

/** The end of the pod group that starts at container `from`: containers of one pod are contiguous. */
function podGroupEnd(s: NodeScrape, from: number, count: number): number {
  const namespace = s.namespaces[from];
  const pod = s.pods[from];
  let to = from + 1;
  while (to < count && s.namespaces[to] === namespace && s.pods[to] === pod) to++;
  return to;
}

/** Nanocores: trunc(Δcpu / window in seconds), as upstream computes it. */
function cpuRate(delta: number, lastTs: number, prevTs: number): number {
  return Math.trunc(delta / ((lastTs - prevTs) / 1000));
}

function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/** What is served for a node: undefined without a prev point or when the rate cannot be computed. */
function nodePoint(g: Generation, slot: number): NodeMetricsPoint | undefined {
  const prevTs = g.nodePrevTs[slot];
  if (Number.isNaN(prevTs)) return undefined;
  const ts = g.nodeLastTs[slot];
  const delta = cpuDelta(
    g.nodeLastCpu[slot],
    g.nodeLastCpuRem[slot],
    g.nodePrevCpu[slot],
    g.nodePrevCpuRem[slot],
  );
  if (rateError(g.nodeLastStart[slot], g.nodePrevStart[slot], delta) !== undefined) return undefined;
  const point: NodeMetricsPoint = {
    timestampMs: ts,
    windowMs: ts - prevTs,
    cpuNanocores: cpuRate(delta, ts, prevTs),
    memoryBytes: g.nodeLastMem[slot],
  };
  const swap = g.nodeLastSwap[slot];
  if (!Number.isNaN(swap)) point.swapBytes = swap;
  return point;
}

/**
 * What is served for a pod: undefined while any of its containers lacks a prev point (upstream hides
 * the pod, e.g. for a container just added) or when no container's rate can be computed; else the
 * containers with a rate, and the timestamp and window of the earliest of them.
 */
function podPoint(g: Generation, slot: number): PodMetricsPoint | undefined {
  const containers: ContainerMetricsPoint[] = [];
  let earliestTs = Number.POSITIVE_INFINITY;
  let earliestWindow = 0;
  for (let c = g.podFirst[slot]; c < g.podFirst[slot + 1]; c++) {
    const prevTs = g.containerPrevTs[c];
    if (Number.isNaN(prevTs)) return undefined;
    const ts = g.containerLastTs[c];
    const delta = cpuDelta(
      g.containerLastCpu[c],
      g.containerLastCpuRemAt(c),
      g.containerPrevCpu[c],
      g.containerPrevCpuRemAt(c),
    );
    if (rateError(g.containerLastStart[c], g.containerPrevStartAt(c), delta) !== undefined) continue;
    const point: ContainerMetricsPoint = {
      name: g.containerName[c],
      cpuNanocores: cpuRate(delta, ts, prevTs),
      memoryBytes: g.containerLastMem[c],
    };
    const swap = g.containerLastSwapAt(c);
    if (!Number.isNaN(swap)) point.swapBytes = swap;
    containers.push(point);
    if (ts < earliestTs) {
      earliestTs = ts;
      earliestWindow = ts - prevTs;
    }
  }
  if (containers.length === 0) return undefined;
  return { timestampMs: earliestTs, windowMs: earliestWindow, containers };
}

export interface StoreAsyncOptions {
  /** Work done between two yields to the event loop, in ms (default 5). */
  sliceMs?: number;
}

const DEFAULT_SLICE_MS = 5;

/**
 * An in-progress build of the next generation (store() runs it at once, storeAsync in slices). A first
 * pass counts what the batch holds, so the next generation is allocated at its exact size; the
 * second stores the scrapes into it.
 */
interface Build {
  scrapes: readonly NodeScrape[];
  /** Usable container count per scrape, -1 for a malformed scrape. */
  counts: Int32Array;
  /** Scrapes counted so far (first pass). */
  counted: number;
  containerTotal: number;
  /** Each pod group becomes at most one pod slot: an upper bound (skipped pods leave a few unused). */
  podTotal: number;
  /** The generation reads see meanwhile; prev points come from it. Never written; freed at the swap. */
  old: Generation;
  /** Allocated once every scrape is counted. */
  next: Generation | undefined;
  seenNodes: Set<string>;
  /** Index of the next scrape to store (second pass). */
  nextScrape: number;
}

export class TwoPointStore implements MetricsReader {
  readonly #resolutionMs: number;
  /** What reads see. */
  #current = new Generation(0, 0, 0);
  /** storeAsync calls not yet finished (running or queued); store() is refused meanwhile. */
  #asyncStores = 0;
  /** The tail of the storeAsync queue (never rejects). */
  #queue: Promise<void> = Promise.resolve();
  #loggedNodesReady = false;
  #loggedPodsReady = false;

  constructor(opts: TwoPointStoreOptions) {
    const resolutionMs = opts?.resolutionMs;
    if (typeof resolutionMs !== "number" || !Number.isFinite(resolutionMs) || resolutionMs <= 0) {
      throw new RangeError(
        `TwoPointStore: resolutionMs must be a positive number, got ${String(resolutionMs)}`,
      );
    }
    this.#resolutionMs = resolutionMs;
  }

  /**
   * Replaces the stored data with one tick's batch (nodes and pods absent from it vanish), in one
   * synchronous step. For tests and small batches; the scrape loop uses storeAsync.
   */
  store(batch: readonly NodeScrape[]): void {
    if (this.#asyncStores > 0) {
      // An asynchronous build reads the current generation until its swap frees it: a second writer
      // would free it under that build, or be silently overwritten.
      throw new Error("TwoPointStore.store: an asynchronous store is in progress; await storeAsync first");
    }
    const build = this.#beginBuild(batch);
    const next = this.#buildSlice(build, Number.POSITIVE_INFINITY);
    if (next !== undefined) this.#finishBuild(build.old, next);
  }

  /**
   * Same result as store(), but the next generation is built over several event-loop turns: after
   * about `sliceMs` (default 5) of work, between two nodes, it yields with setImmediate so API
   * requests are served meanwhile. Reads keep seeing the previous generation until the new one is
   * complete and swapped in at once. Calls made while one is running are queued and run in order.
   */
  storeAsync(batch: readonly NodeScrape[], opts?: StoreAsyncOptions): Promise<void> {
    const requested = opts?.sliceMs;
    const sliceMs =
      typeof requested === "number" && Number.isFinite(requested) && requested > 0
        ? requested
        : DEFAULT_SLICE_MS;
    // Chained on the previous call whatever its outcome: one failed store must not wedge the queue.
    this.#asyncStores++;
    const run = this.#queue
      .then(() => this.#storeInSlices(batch, sliceMs))
      .finally(() => {
        this.#asyncStores--;
      });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #storeInSlices(batch: readonly NodeScrape[], sliceMs: number): Promise<void> {
    const build = this.#beginBuild(batch);
    for (;;) {
      const next = this.#buildSlice(build, performance.now() + sliceMs);
      if (next !== undefined) {
        this.#finishBuild(build.old, next);
        return;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Validates the batch and prepares to build the next generation from the current one. */
  #beginBuild(batch: readonly NodeScrape[]): Build {
    let scrapes: readonly NodeScrape[] = batch;
    if (!Array.isArray(batch)) {
      log.error(undefined, "Ignoring malformed metrics batch, storing an empty one", { type: typeof batch });
      scrapes = [];
    }
    return {
      scrapes,
      counts: new Int32Array(scrapes.length),
      counted: 0,
      containerTotal: 0,
      podTotal: 0,
      old: this.#current,
      next: undefined,
      seenNodes: new Set(),
      nextScrape: 0,
    };
  }

  /**
   * Goes on with the build until it is complete (returns the next generation) or `deadlineMs`
   * (performance.now() time) has passed after a node (returns undefined; call again to go on).
   */
  #buildSlice(build: Build, deadlineMs: number): Generation | undefined {
    const { scrapes, counts } = build;
    // Counting is a pass over every container too (pod groups): sliced like the build itself.
    while (build.counted < scrapes.length) {
      const i = build.counted++;
      const count = usableContainerCount(scrapes[i]);
      counts[i] = count;
      if (count > 0) {
        build.containerTotal += count;
        for (let from = 0; from < count; from = podGroupEnd(scrapes[i], from, count)) build.podTotal++;
      }
      if (performance.now() >= deadlineMs) return undefined;
    }
    build.next ??= new Generation(scrapes.length, build.podTotal, build.containerTotal);
    const { old, next, seenNodes } = build;
    while (build.nextScrape < scrapes.length) {
      const i = build.nextScrape++;
      const scrape = scrapes[i];
      if (counts[i] < 0) {
        const node = typeof scrape?.node === "string" ? scrape.node : "<unknown>";
        log.error(undefined, "Skipping malformed node scrape", { node });
      } else if (seenNodes.has(scrape.node)) {
        log.error(undefined, "Got duplicate node point", { node: scrape.node });
      } else {
        seenNodes.add(scrape.node);
        this.#storeNode(old, next, scrape);
        this.#storePods(old, next, scrape, counts[i]);
      }
      if (performance.now() >= deadlineMs && build.nextScrape < scrapes.length) return undefined;
    }
    return next;
  }

  /** Swaps the completed generation in: from here on every read sees it whole. */
  #finishBuild(old: Generation, next: Generation): void {
    this.#current = next;
    // Reads are synchronous and only ever see #current, so nothing can read the old one any more.
    // Kept as a spare for the next build, it would double the store's resident memory between ticks.
    old.release();
    setStoragePoints(next.nodesWithPrev, next.containersWithPrev);
    this.#logReadinessChange();
  }

  #storeNode(old: Generation, next: Generation, s: NodeScrape): void {
    const node = s.node;
    const ts = s.nodeTimestampMs;
    if (ts === 0) return; // the node's own point was incomplete: the node is absent this tick
    const start = s.nodeStartTimeMs ?? 0;
    const cpu = s.nodeCpuNs;
    const cpuRem = s.nodeCpuNsRemainder ?? 0;
    const mem = s.nodeMemoryBytes;
    if (!isTime(ts) || !isStartTime(start) || !isAmount(cpu) || !isRemainder(cpuRem) || !isAmount(mem)) {
      log.error(undefined, "Skipping invalid node metrics point", { node, timestampMs: ts, cpuNs: cpu });
      return;
    }
    const slot = next.nodeCount++;
    next.nodeIndex.set(node, slot);
    next.nodeLastStart[slot] = start;
    next.nodeLastTs[slot] = ts;
    next.nodeLastCpu[slot] = cpu;
    next.nodeLastCpuRem[slot] = cpuRem;
    next.nodeLastMem[slot] = mem;
    next.nodeLastSwap[slot] = swapOrUnknown(s.nodeSwapBytes);

    let prevTs = NO_PREV;
    let prevStart = 0;
    let prevCpu = 0;
    let prevCpuRem = 0;
    const oldSlot = old.nodeIndex.get(node);
    // A start time at or after the stored point means the node rebooted: its counter began again.
    if (oldSlot !== undefined && (start === 0 || start < old.nodeLastTs[oldSlot])) {
      const oldLastTs = old.nodeLastTs[oldSlot];
      const oldPrevTs = old.nodePrevTs[oldSlot];
      if (ts > oldLastTs) {
        prevTs = oldLastTs;
        prevStart = old.nodeLastStart[oldSlot];
        prevCpu = old.nodeLastCpu[oldSlot];
        prevCpuRem = old.nodeLastCpuRem[oldSlot];
      } else if (!Number.isNaN(oldPrevTs)) {
        if (oldPrevTs < ts) {
          prevTs = oldPrevTs;
          prevStart = old.nodePrevStart[oldSlot];
          prevCpu = old.nodePrevCpu[oldSlot];
          prevCpuRem = old.nodePrevCpuRem[oldSlot];
        } else {
          log.V(2).info("Found new node metrics point is older then stored previous, drop previous", {
            node,
            previousTimestamp: isoTime(oldPrevTs),
            timestamp: isoTime(ts),
          });
        }
      }
    }
    next.nodePrevTs[slot] = prevTs;
    next.nodePrevStart[slot] = prevStart;
    next.nodePrevCpu[slot] = prevCpu;
    next.nodePrevCpuRem[slot] = prevCpuRem;
    if (Number.isNaN(prevTs)) return;

    next.nodesWithPrev++;
    // Logged once here; reads find the same error again and leave the node out.
    const err = rateError(start, prevStart, cpuDelta(cpu, cpuRem, prevCpu, prevCpuRem));
    if (err !== undefined) log.error(new Error(err), "Skipping node usage metric", { node });
  }

  #storePods(old: Generation, next: Generation, s: NodeScrape, count: number): void {
    let from = 0;
    while (from < count) {
      const to = podGroupEnd(s, from, count);
      this.#storePod(old, next, s, from, to);
      from = to;
    }
  }

  /** Stores containers [from, to) of a scrape, which all belong to one pod. */
  #storePod(old: Generation, next: Generation, s: NodeScrape, from: number, to: number): void {
    const namespace = s.namespaces[from];
    const pod = s.pods[from];
    if (typeof namespace !== "string" || typeof pod !== "string") {
      log.error(undefined, "Skipping pod metrics with a non-string name", { node: s.node });
      return;
    }
    if (next.podCount === next.podName.length) {
      // More pods than were counted: the batch was changed while storeAsync was storing it. The
      // generation has no room (and a full pod index would never end a probe): leave the pod out.
      log.error(undefined, "Skipping pod metrics: the batch changed while it was being stored", {
        pod: `${namespace}/${pod}`,
        node: s.node,
      });
      return;
    }
    // One hash of the name serves both lookups: the pod index mixes the namespace in per generation.
    const podNameHash = stringHash(pod);
    const namespaceId = next.addNamespace(namespace);
    const bucket = next.findPod(namespaceId, pod, podNameHash);
    if (bucket >= 0) {
      log.error(undefined, "Got duplicate pod point", { pod: `${namespace}/${pod}`, node: s.node });
      return;
    }
    const names = s.containers;
    const remainders = s.cpuNsRemainder;
    const swaps = s.swapBytes;
    let sorted = true;
    for (let i = from; i < to; i++) {
      if (
        typeof names[i] !== "string" ||
        !isTime(s.timestampMs[i]) ||
        !isStartTime(s.startTimeMs[i]) ||
        !isAmount(s.cpuNs[i]) ||
        (remainders !== undefined && !isRemainder(remainders[i])) ||
        !isAmount(s.memoryBytes[i])
      ) {
        log.error(undefined, "Skipping invalid pod metrics point", {
          pod: `${namespace}/${pod}`,
          container: String(names[i]),
          node: s.node,
        });
        return;
      }
      if (i > from && !(names[i - 1] < names[i])) sorted = false;
    }
    // Duplicates also land here: a stable sort keeps the first of equal names first.
    let order: number[] | undefined;
    if (!sorted) {
      order = [];
      for (let i = from; i < to; i++) order.push(i);
      order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
    }

    const slot = next.addPod(namespaceId, pod, bucket);
    next.podFirst[slot] = next.containerCount;
    const oldNamespaceId = old.namespaceId(namespace);
    const oldSlot = oldNamespaceId === undefined ? -1 : old.findPod(oldNamespaceId, pod, podNameHash);
    let oldCursor = oldSlot < 0 ? 0 : old.podFirst[oldSlot];
    const oldEnd = oldSlot < 0 ? 0 : old.podFirst[oldSlot + 1];

    let withPrev = 0;
    let previousName: string | undefined;
    for (let k = 0; k < to - from; k++) {
      const i = order === undefined ? from + k : order[k];
      const name = names[i];
      if (name === previousName) {
        log.error(undefined, "Got duplicate Container point", {
          container: name,
          pod: `${namespace}/${pod}`,
        });
        continue;
      }
      previousName = name;
      const start = s.startTimeMs[i];
      const ts = s.timestampMs[i];
      const cpu = s.cpuNs[i];
      const cpuRem = remainders === undefined ? 0 : remainders[i];
      const c = next.containerCount++;
      next.containerName[c] = name;
      next.containerLastStart[c] = start;
      next.containerLastTs[c] = ts;
      next.containerLastCpu[c] = cpu;
      next.containerLastMem[c] = s.memoryBytes[i];

      let prevTs = NO_PREV;
      // Without a prev point the prev start is never read; the last start costs no column.
      let prevStart = start;
      let prevCpu = 0;
      let prevCpuRem = 0;
      const age = ts - start;
      if (start !== 0 && start < ts && age >= FRESH_CONTAINER_MIN_AGE_MS && age < this.#resolutionMs) {
        // Young container: its counter started at 0 at its start time, so that is a valid prev.
        prevTs = start;
        prevStart = start;
      } else if (oldSlot >= 0) {
        // Both generations keep a pod's containers sorted by name, so one forward walk finds matches.
        while (oldCursor < oldEnd && old.containerName[oldCursor] < name) oldCursor++;
        if (oldCursor < oldEnd && old.containerName[oldCursor] === name) {
          const oldLastTs = old.containerLastTs[oldCursor];
          // A start time at or after the stored point means a restart: the counter began again.
          if (start === 0 || start < oldLastTs) {
            const oldPrevTs = old.containerPrevTs[oldCursor];
            if (ts > oldLastTs) {
              prevTs = oldLastTs;
              prevStart = old.containerLastStart[oldCursor];
              prevCpu = old.containerLastCpu[oldCursor];
              prevCpuRem = old.containerLastCpuRemAt(oldCursor);
            } else if (!Number.isNaN(oldPrevTs)) {
              if (oldPrevTs < ts) {
                prevTs = oldPrevTs;
                prevStart = old.containerPrevStartAt(oldCursor);
                prevCpu = old.containerPrevCpu[oldCursor];
                prevCpuRem = old.containerPrevCpuRemAt(oldCursor);
              } else {
                log
                  .V(2)
                  .info("Found new container metrics point is older then stored previous , drop previous", {
                    container: name,
                    pod: `${namespace}/${pod}`,
                    previousTimestamp: isoTime(oldPrevTs),
                    timestamp: isoTime(ts),
                  });
              }
            }
          }
        }
      }
      next.containerPrevTs[c] = prevTs;
      next.containerPrevCpu[c] = prevCpu;
      const swap = swaps === undefined ? Number.NaN : swapOrUnknown(swaps[i]);
      next.setContainerOptional(c, cpuRem, prevCpuRem, prevStart, swap);
      if (Number.isNaN(prevTs)) continue;
      withPrev++;
      // Logged once here; reads find the same error again and skip the container.
      const err = rateError(start, prevStart, cpuDelta(cpu, cpuRem, prevCpu, prevCpuRem));
      if (err !== undefined) {
        log.error(new Error(err), "Skipping container usage metric", {
          container: name,
          pod: `${namespace}/${pod}`,
        });
      }
    }
    next.podFirst[slot + 1] = next.containerCount;
    if (withPrev > 0) next.podsWithPrev++;
    next.containersWithPrev += withPrev;
  }

  getNodeMetrics(names: readonly string[]): (NodeMetricsPoint | undefined)[] {
    const g = this.#current;
    if (!Array.isArray(names)) return [];
    const out: (NodeMetricsPoint | undefined)[] = new Array(names.length);
    for (let i = 0; i < names.length; i++) {
      const slot = g.nodeIndex.get(names[i]);
      out[i] = slot === undefined ? undefined : nodePoint(g, slot);
    }
    return out;
  }

  getPodMetrics(pods: readonly PodRef[]): (PodMetricsPoint | undefined)[] {
    const g = this.#current;
    if (!Array.isArray(pods)) return [];
    const out: (PodMetricsPoint | undefined)[] = new Array(pods.length);
    for (let i = 0; i < pods.length; i++) {
      const ref = pods[i];
      const slot = ref !== null && typeof ref === "object" ? g.lookupPod(ref.namespace, ref.name) : undefined;
      out[i] = slot === undefined ? undefined : podPoint(g, slot);
    }
    return out;
  }

  /** True when some node has a prev point (upstream's NodeReady). */
  nodeReady(): boolean {
    return this.#current.nodesWithPrev > 0;
  }

  /** True when some pod has a container with a prev point (upstream's PodReady). */
  podReady(): boolean {
    return this.#current.podsWithPrev > 0;
  }

  /** Both node and pod metrics can be served: the metric-storage-ready health check. */
  ready(): boolean {
    return this.nodeReady() && this.podReady();
  }

  #logReadinessChange(): void {
    const nodes = this.nodeReady();
    const pods = this.podReady();
    if (nodes === this.#loggedNodesReady && pods === this.#loggedPodsReady) return;
    this.#loggedNodesReady = nodes;
    this.#loggedPodsReady = pods;
    const kv = { nodeMetrics: nodes, podMetrics: pods };
    if (nodes && pods) log.V(2).info("Metric storage is ready", kv);
    else if (nodes)
      log
        .V(2)
        .info(
          "Metric storage is not ready, pod metrics are missing, this may indicate a container-runtime or kubelet issue",
          kv,
        );
    else if (pods)
      log
        .V(2)
        .info("Metric storage is not ready, node metrics are missing, this may indicate a kubelet issue", kv);
    else log.V(2).info("Metric storage is not ready", kv);
  }
}
