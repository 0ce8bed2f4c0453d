// The scrape loop (upstream pkg/server/server.go tick): every resolution, scrape the selected nodes and
// replace the store's batch. Ticks never overlap; a tick that overruns delays the next one and missed
// ticks are dropped (Go ticker semantics), and each tick is bounded by a deadline of one resolution.
import type { Histogram } from "prom-client";
import type { LabelSelector, Node, ObjectStore } from "../kube/index.ts";
import * as log from "../log/index.ts";
import type { NodeScrape } from "../storage/index.ts";

export interface BatchScraper {
  scrape(nodes: readonly Node[], deadline: AbortSignal): Promise<NodeScrape[]>;
}

export interface BatchStore {
  /**
   * Stores one tick's batch without blocking the event loop for long (API requests are served
   * while it runs); resolves once readers see the new batch.
   */
  storeAsync(batch: readonly NodeScrape[]): Promise<void>;
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

  constructor(opts: ScrapeManagerOptions) {
    this.#opts = opts;
  }

  /** Start time of the latest tick, 0 before the first (feeds the metric-collection-timely check). */
  get tickLastStartMs(): number {
    return this.#tickLastStartMs;
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
      const batch = await this.#opts.scraper.scrape(nodes, deadline);
      log.V(6).info("Storing metrics");
      const storeStart = performance.now();
      // Awaited: the tick (and its duration) covers the store, and ticks never overlap.
      await this.#opts.store.storeAsync(batch);
      if (log.V(1).enabled) {
        // The whole tick, store included ("Scrape finished" covers the requests only): what the
        // tick-duration histogram observes, exact rather than bucketed, for the benchmark.
        log.V(1).info("Tick finished", {
          duration: `${Date.now() - start}ms`,
          storeDuration: `${(performance.now() - storeStart).toFixed(1)}ms`,
          nodes: batch.length,
        });
      }
      log.V(6).info("Scraping cycle complete");
    } catch (err) {
      log.error(err, "Failed to scrape and store metrics");
    } finally {
      this.#opts.tickDuration.observe((Date.now() - start) / 1000);
    }
  }
}
