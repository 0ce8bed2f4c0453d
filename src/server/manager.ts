// The scrape loop (upstream pkg/server/server.go tick): every resolution, scrape the selected nodes and
// replace the store's batch. Ticks never overlap; a tick that overruns delays the next one and missed
// ticks are dropped (Go ticker semantics), and each tick is bounded by a deadline of one resolution.
// Unlike upstream, nodes that answered are stored before slow ones have (tick-parts.ts); the tick ends,
// and its duration is measured, when its last store is in.
import type { Histogram } from "prom-client";
import type { LabelSelector, Node, ObjectStore } from "../kube/index.ts";
import * as log from "../log/index.ts";
import type { NodeScrape } from "../storage/index.ts";
import { nodeOrder, quietPeriodMs, TickParts } from "./tick-parts.ts";

export interface BatchScraper {
  /** The tick's batch; `onResult` hears of each node as soon as it has answered or failed. */
  scrape(
    nodes: readonly Node[],
    deadline: AbortSignal,
    onResult?: (node: string, scrape: NodeScrape | undefined) => void,
  ): Promise<NodeScrape[]>;
}

export interface BatchStore {
  /**
   * Stores one tick's batch without blocking the event loop for long (API requests are served
   * while it runs); resolves once readers see the new batch. With `pending` nodes, a part of the
   * tick: those keep their points until the tick's store without pending nodes.
   */
  storeAsync(batch: readonly NodeScrape[], opts?: { pending?: Iterable<string> }): Promise<void>;
}

export interface ScrapeManagerOptions {
  scraper: BatchScraper;
  store: BatchStore;
  nodes: ObjectStore<Node>;
  nodeSelector: LabelSelector;
  resolutionMs: number;
  tickDuration: Histogram;
}

export class ScrapeManager {
  #opts: ScrapeManagerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #abort = new AbortController();
  #tickLastStartMs = 0;
  #lastTick: { startMs: number; durationMs: number } | undefined;

  constructor(opts: ScrapeManagerOptions) {
    this.#opts = opts;
  }

  /** Start time of the latest tick, 0 before the first (feeds the metric-collection-timely check). */
  get tickLastStartMs(): number {
    return this.#tickLastStartMs;
  }

  /** How long the latest finished tick took, store included, in ms; undefined before the first. */
  get tickLastDurationMs(): number | undefined {
    return this.#lastTick?.durationMs;
  }

  /** Start and duration of the latest finished tick (the diagnostics group's ServerStatus). */
  get lastTick(): { startMs: number; durationMs: number } | undefined {
    return this.#lastTick;
  }

  /** Runs the first tick now, then one every resolution. */
  start(): void {
    const begin = Date.now();
    let n = 0;
    const loop = async (): Promise<void> => {
      if (this.#stopped) return;
      await this.tick();
      if (this.#stopped) return;
      // Next slot on the resolution grid after now; slots missed while a tick overran are skipped.
      const now = Date.now();
      n = Math.max(n + 1, Math.ceil((now - begin) / this.#opts.resolutionMs));
      const next = begin + n * this.#opts.resolutionMs;
      this.#timer = setTimeout(() => {
        this.#running = loop();
      }, next - now);
    };
    this.#running = loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running;
  }

  /** One scrape-and-store cycle. Never throws: a failed tick is logged and the loop goes on. */
  async tick(): Promise<void> {
    const start = Date.now();
    this.#tickLastStartMs = start;
    const deadline = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#opts.resolutionMs)]);
    try {
      const selector = this.#opts.nodeSelector;
      const nodes = selector.empty
        ? this.#opts.nodes.list()
        : this.#opts.nodes.list().filter((n) => selector.matches(n.metadata.labels));
      log.V(6).info("Scraping metrics");
      const store = this.#opts.store;
      const parts = new TickParts(store, nodeOrder(nodes), quietPeriodMs(this.#opts.resolutionMs));
      let batch: NodeScrape[];
      try {
        batch = await this.#opts.scraper.scrape(nodes, deadline, parts.onResult);
      } catch (err) {
        await parts.close();
        // A tick stored in part is completed with what it has: the next one must start afresh.
        if (parts.parts > 0) await store.storeAsync(parts.answered());
        throw err;
      }
      await parts.close();
      log.V(6).info("Storing metrics");
      const storeStart = performance.now();
      // Awaited: the tick (and its duration) covers the store, and ticks never overlap.
      await store.storeAsync(batch);
      if (log.V(1).enabled) {
        // The whole tick, store included ("Scrape finished" covers the requests only): what the
        // tick-duration histogram observes, exact rather than bucketed, for the benchmark. Parts:
        // stores of the nodes that answered while others were pending, before this last one.
        log.V(1).info("Tick finished", {
          duration: `${Date.now() - start}ms`,
          storeDuration: `${(performance.now() - storeStart).toFixed(1)}ms`,
          nodes: batch.length,
          parts: parts.parts,
        });
      }
      log.V(6).info("Scraping cycle complete");
    } catch (err) {
      log.error(err, "Failed to scrape and store metrics");
    } finally {
      const durationMs = Date.now() - start;
      this.#lastTick = { startMs: start, durationMs };
      this.#opts.tickDuration.observe(durationMs / 1000);
    }
  }
}
