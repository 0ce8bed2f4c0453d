// The two-point metrics store, as kubernetes-sigs/metrics-server pkg/storage (node.go, pod.go): keeps the
// newest point and the point before it for every node and container, and serves CPU as the rate
// between the two. store-scrape.ts stores one scrape, points.ts computes what is served.
//
// Deliberate differences from upstream metrics-server:
// - Containers of a pod are stored and served in a stable order (sorted by name), not Go map order.
// - No zero-prev quirk: a container missing from the old prev pod gets no prev (upstream keeps a zero point).
// - A pod whose every container's rate errors is not served at all (upstream serves it with no containers).
// - A CPU counter or startTime decrease is logged once when the batch is stored, not on every API read.
// - A startTime decrease is only an error when both start times are known (0 means unknown).
// - A node that appears twice in one batch is skipped as a whole (its node point and its pods), one log line.
// - A malformed node scrape or pod (non-finite/negative numbers, non-string names) is skipped and logged.
// - Values no node can produce are not served (scrape-checks.ts): a point with a timestamp ahead of
//   our clock or memory above the node's capacity is skipped (a container's: its whole pod); a rate
//   faster than the node's cores or over a window longer than consecutive scrapes can span (three
//   resolutions) has no prev point. A point older than the stored one that gets no rate does not
//   become the newest (upstream keeps it, and the next rate pairs a counter with a wrong time).
// - A node's errors are logged one line per kind, and an unchanged set of them once per 5 minutes
//   (value-log.ts); upstream logs each one every time.
// - Swap usage (an optional gauge upstream does not read) is kept as the newest value and served
//   beside memory; a missing, negative or non-finite swap value only makes the swap unknown.
// - CPU counters past 2^53 (Summary API) are kept exact: each counter is a (double, remainder) pair,
//   and deltas and counter-reset checks use the pair (upstream's uint64 arithmetic, without BigInt).
//
// A tick may also be stored in parts (StoreAsyncOptions.pending): nodes that have answered get their new
// points at once, nodes still pending keep theirs, and the tick's last store, without pending nodes,
// completes it. Every store of a tick computes the new points against the generation the tick began
// with (its base, pinned until the last store), so the result after the last store is exactly that of
// one store of the final batch, duplicate pods decided in batch order included; the earlier stores
// only make answered nodes' points visible sooner. Only the last store logs what it finds in the
// points (rate errors, invalid points, duplicates): the same lines, once, as one store would.
//
// Performance: store() runs once per resolution and logs every rate error up front; reads (one per API
// call) look up slots and compute the rates from the two stored points. Data is columnar (see
// generation.ts); each tick builds a generation sized for its batch and frees the one it replaces.
// Reading one pod costs O(its containers).
//
// Over 400 lines on purpose: the build steps (begin, slices, finish) share the Build state and the
// generation swap with the readers; each step's work already lives in its own file.

import * as log from "../log/index.ts";
import { describeNode, describePod } from "./describe.ts";
import { Generation } from "./generation.ts";
import { setStoragePoints } from "./monitoring.ts";
import { ListReader, readNodeMetrics, readPodMetrics } from "./reads.ts";
import { maxWindowMs, podGroupEnd, type StoreContext, usableContainerCount } from "./scrape-checks.ts";
import { carriedSize, carryNode } from "./store-carry.ts";
import { storeNode, storePods } from "./store-scrape.ts";
import type {
  MetricsReader,
  NodeMetricsPoint,
  NodeScrape,
  PodMetricsPoint,
  PodObject,
  PodRef,
  StoreDescriber,
  StoredNodeView,
  StoredPodView,
} from "./types.ts";
import { type RefusedSink, ValueLog } from "./value-log.ts";

export interface TwoPointStoreOptions {
  /** The scrape interval (--metric-resolution); containers younger than this are served after one scrape. */
  resolutionMs: number;
  /** Wall clock, Unix ms (default Date.now): timestamps ahead of it and windows are checked. */
  now?: () => number;
  /**
   * When scraping began, Unix ms (default: now() at construction): no window is longer than the
   * time since (plus the skew allowed). Tests that feed old synthetic timestamps set it.
   */
  startedAtMs?: number;
  /**
   * The longest window of consecutive scrapes (default three resolutions; see
   * scrape-checks.ts maxWindowMs). Tests of the upstream rules over arbitrary timestamps lift it.
   */
  consecutiveWindowMs?: number;
  /** How often a node's unchanged value errors are logged again (default 5 min). */
  repeatLogIntervalMs?: number;
  /** Monotonic clock in ms for that interval (default performance.now). */
  monotonicNow?: () => number;
  /** Told, when a tick's batch is swapped in, what was refused from each node's scrape. */
  onRefused?: RefusedSink;
}

export interface StoreAsyncOptions {
  /** Work done between two yields to the event loop, in ms (default 5). */
  sliceMs?: number;
  /**
   * Nodes of the tick whose kubelets have not answered yet: each keeps the points it had when the
   * tick began (unless the batch has it too). With at least one, the store is a part of the tick; the
   * tick's next store without any completes it (see the file comment).
   */
  pending?: Iterable<string>;
}

const discardLine = (): void => {};

const DEFAULT_SLICE_MS = 5;

/**
 * An in-progress build of the next generation (store() runs it at once, storeAsync in slices). A first
 * pass counts what the batch holds, so the next generation is allocated at its exact size; the
 * second stores the scrapes into it.
 */
interface Build {
  scrapes: readonly NodeScrape[];
  /** Pending nodes not in the batch, whose entries are carried over from `old`. */
  carried: string[];
  /** A part of a tick (some nodes pending): logs nothing, keeps the base pinned. */
  partial: boolean;
  /** Usable container count per scrape, -1 for a malformed scrape. */
  counts: Int32Array;
  /** Scrapes counted so far (first pass). */
  counted: number;
  containerTotal: number;
  /** Each pod group becomes at most one pod slot: an upper bound (skipped pods leave a few unused). */
  podTotal: number;
  /**
   * The tick's base: prev points and carried nodes come from it. Never written; freed at the swap
   * that completes the tick.
   */
  old: Generation;
  /** Allocated once every scrape is counted. */
  next: Generation | undefined;
  seenNodes: Set<string>;
  /** Index of the next scrape to store, then of the next node to carry (second pass). */
  nextScrape: number;
  ctx: StoreContext;
}

export class TwoPointStore implements MetricsReader, StoreDescriber {
  readonly #resolutionMs: number;
  readonly #now: () => number;
  /** When scraping began: every window lies within the store's life. */
  readonly #startedAtMs: number;
  readonly #consecutiveWindowMs: number | undefined;
  readonly #valueLog: ValueLog;
  /** What reads see. */
  #current = new Generation(0, 0, 0);
  /** While a tick is stored in parts: the generation it began with (see the file comment). */
  #base: Generation | undefined;
  /** storeAsync calls not yet finished (running or queued); store() is refused meanwhile. */
  #asyncStores = 0;
  /** The tail of the storeAsync queue (never rejects). */
  #queue: Promise<void> = Promise.resolve();
  #loggedNodesReady = false;
  #loggedPodsReady = false;
  readonly #listReader = new ListReader();

  constructor(opts: TwoPointStoreOptions) {
    const resolutionMs = opts?.resolutionMs;
    if (typeof resolutionMs !== "number" || !Number.isFinite(resolutionMs) || resolutionMs <= 0) {
      throw new RangeError(
        `TwoPointStore: resolutionMs must be a positive number, got ${String(resolutionMs)}`,
      );
    }
    this.#resolutionMs = resolutionMs;
    this.#now = opts.now ?? Date.now;
    this.#startedAtMs = opts.startedAtMs ?? this.#now();
    this.#consecutiveWindowMs = opts.consecutiveWindowMs;
    this.#valueLog = new ValueLog({
      intervalMs: opts.repeatLogIntervalMs,
      now: opts.monotonicNow,
      onRefused: opts.onRefused,
    });
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
    this.#storeNow(batch, undefined);
  }

  /** store() of a part of a tick: `pending` as in StoreAsyncOptions. */
  storePart(batch: readonly NodeScrape[], pending: Iterable<string>): void {
    if (this.#asyncStores > 0) {
      throw new Error(
        "TwoPointStore.storePart: an asynchronous store is in progress; await storeAsync first",
      );
    }
    this.#storeNow(batch, pending);
  }

  #storeNow(batch: readonly NodeScrape[], pending: Iterable<string> | undefined): void {
    const build = this.#beginBuild(batch, pending);
    try {
      const next = this.#buildSlice(build, Number.POSITIVE_INFINITY);
      if (next !== undefined) this.#finishBuild(build, next);
    } catch (err) {
      this.#buildFailed(build);
      throw err;
    }
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
    const pending = opts?.pending;
    const run = this.#queue
      .then(() => this.#storeInSlices(batch, pending, sliceMs))
      .finally(() => {
        this.#asyncStores--;
      });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #storeInSlices(
    batch: readonly NodeScrape[],
    pending: Iterable<string> | undefined,
    sliceMs: number,
  ): Promise<void> {
    const build = this.#beginBuild(batch, pending);
    try {
      for (;;) {
        const next = this.#buildSlice(build, performance.now() + sliceMs);
        if (next !== undefined) {
          this.#finishBuild(build, next);
          return;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.#buildFailed(build);
      throw err;
    }
  }

  /**
   * A build that threw (a bug) leaves the current generation served. If it was to complete a tick,
   * the tick's base is let go all the same: the next tick must not compute against a stale one.
   */
  #buildFailed(build: Build): void {
    build.ctx.log.discard();
    if (build.partial || this.#base === undefined) return;
    if (this.#base !== this.#current) this.#base.release();
    this.#base = undefined;
  }

  /** Validates the batch and prepares to build the next generation from the tick's base. */
  #beginBuild(batch: readonly NodeScrape[], pending: Iterable<string> | undefined): Build {
    let scrapes: readonly NodeScrape[] = batch;
    if (!Array.isArray(batch)) {
      log.error(undefined, "Ignoring malformed metrics batch, storing an empty one", { type: typeof batch });
      scrapes = [];
    }
    const old = this.#base ?? this.#current;
    const carried: string[] = [];
    let partial = false;
    if (pending !== undefined && pending !== null) {
      const answered = new Set<unknown>();
      for (const s of scrapes) answered.add(s?.node);
      for (const node of pending) {
        partial = true;
        if (typeof node === "string" && !answered.has(node)) carried.push(node);
      }
    }
    if (partial) this.#base = old;
    const nowMs = this.#now();
    return {
      scrapes,
      carried,
      partial,
      counts: new Int32Array(scrapes.length),
      counted: 0,
      containerTotal: 0,
      podTotal: 0,
      old,
      next: undefined,
      seenNodes: new Set(),
      nextScrape: 0,
      ctx: {
        nowMs,
        resolutionMs: this.#resolutionMs,
        maxWindowMs: maxWindowMs(nowMs, this.#startedAtMs, this.#resolutionMs, this.#consecutiveWindowMs),
        log: this.#valueLog,
      },
    };
  }

  /**
   * Goes on with the build until it is complete (returns the next generation) or `deadlineMs`
   * (performance.now() time) has passed after a node (returns undefined; call again to go on).
   */
  #buildSlice(build: Build, deadlineMs: number): Generation | undefined {
    if (!build.partial) return this.#buildSliceLogged(build, deadlineMs);
    // A part of a tick logs nothing: the tick's last store finds (and logs) the same things once.
    // The slice is synchronous, so only its own lines are discarded.
    const sink = log.setSink(discardLine);
    try {
      return this.#buildSliceLogged(build, deadlineMs);
    } finally {
      log.setSink(sink);
    }
  }

  #buildSliceLogged(build: Build, deadlineMs: number): Generation | undefined {
    const { scrapes, counts, carried } = build;
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
    if (build.next === undefined) {
      for (const node of carried) {
        const size = carriedSize(build.old, node);
        build.podTotal += size.pods;
        build.containerTotal += size.containers;
      }
      build.next = new Generation(scrapes.length + carried.length, build.podTotal, build.containerTotal);
    }
    const { old, next, seenNodes, ctx } = build;
    while (build.nextScrape < scrapes.length) {
      const i = build.nextScrape++;
      const scrape = scrapes[i];
      ctx.log.begin(typeof scrape?.node === "string" ? scrape.node : "<unknown>");
      if (counts[i] < 0) {
        ctx.log.error(undefined, "Skipping malformed node scrape");
      } else if (seenNodes.has(scrape.node)) {
        ctx.log.error(undefined, "Got duplicate node point");
      } else {
        seenNodes.add(scrape.node);
        const podFrom = next.podCount;
        storeNode(old, next, scrape, ctx);
        storePods(old, next, scrape, counts[i], ctx);
        next.addOwner(scrape.node, podFrom, next.podCount);
      }
      ctx.log.end();
      if (performance.now() >= deadlineMs && build.nextScrape < scrapes.length + carried.length) {
        return undefined;
      }
    }
    while (build.nextScrape < scrapes.length + carried.length) {
      carryNode(old, next, carried[build.nextScrape++ - scrapes.length]);
      if (performance.now() >= deadlineMs && build.nextScrape < scrapes.length + carried.length) {
        return undefined;
      }
    }
    return next;
  }

  /** Swaps the completed generation in: from here on every read sees it whole. */
  #finishBuild(build: Build, next: Generation): void {
    const replaced = this.#current;
    this.#current = next;
    // Reads are synchronous and only ever see #current, so nothing can read the replaced one any more.
    // A part of a tick logs nothing: the tick's last store logs the same errors once.
    if (build.partial) this.#valueLog.discard();
    else this.#valueLog.flush();
    // A node absent from the tick starts afresh: its value errors are logged again if they recur.
    const carried = new Set(build.carried);
    this.#valueLog.retain({ has: (node) => build.seenNodes.has(node) || carried.has(node) });
    // Kept as a spare for the next build, it would double the store's resident memory between ticks.
    // The base of a tick stored in parts lives until the tick's last store.
    const base = this.#base;
    if (!build.partial) this.#base = undefined;
    if (replaced !== this.#base) replaced.release();
    if (!build.partial && base !== undefined && base !== replaced) base.release();
    setStoragePoints(next.nodesWithPrev, next.containersWithPrev);
    this.#logReadinessChange();
  }

  getNodeMetrics(names: readonly string[]): (NodeMetricsPoint | undefined)[] {
    return readNodeMetrics(this.#current, names);
  }

  getPodMetrics(pods: readonly PodRef[]): (PodMetricsPoint | undefined)[] {
    return readPodMetrics(this.#current, pods);
  }

  getListPodMetrics(pods: readonly PodObject[], from: number, to: number): (PodMetricsPoint | undefined)[] {
    return this.#listReader.read(this.#current, pods, from, to);
  }

  /** The stored points of one pod, for an explanation (not for serving). */
  describePod(namespace: string, name: string): StoredPodView | undefined {
    return describePod(this.#current, namespace, name);
  }

  /** The stored points of one node's own point, for an explanation. */
  describeNode(name: string): StoredNodeView | undefined {
    return describeNode(this.#current, name);
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
