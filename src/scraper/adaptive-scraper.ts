// Where the scrape runs, chosen by cluster size. A worker thread (WorkerScraper) keeps TLS, gunzip and
// decoding of thousands of kubelet bodies off the API's event loop, but its isolate costs ~30 MiB of
// RSS (a second heap, module copies, its own young generation) and wakes a second thread. A small
// cluster does not need it: 10 nodes measured 148 → 120 MiB RSS scraping inline, and its ticks
// decode in a few milliseconds. So ticks run inline (Scraper + KubeletClient on this thread) until
// a tick's node count passes the threshold; from then on they run in the worker. A cluster that
// shrinks again stays in the worker: the switch is one-way, so the mode cannot flap.
import type { Node } from "../kube/index.ts";
import * as log from "../log/index.ts";
import type { NodeScrape } from "../storage/index.ts";
import type { ScrapeEndpoint } from "./endpoint.ts";
import { KubeletClient } from "./kubelet/index.ts";
import { type NodeResultSink, Scraper } from "./scraper.ts";
import { splitScraperOptions, WorkerScraper, type WorkerScraperOptions } from "./worker/index.ts";

/**
 * Ticks with more nodes than this run in the worker thread. Measured with the bench's API load on 2
 * shared cores (BENCHMARKS.md): at 100 nodes × 60 containers inline saves ~45 MiB of RSS (170 → 128
 * MiB) but the API's tail grows (the HPA call's p99 58 and 82 ms against 10 and 51 ms in the worker,
 * two alternating pairs on a loaded machine), so larger clusters keep the worker.
 */
export const DEFAULT_INLINE_MAX_NODES = 100;

export interface AdaptiveScraperOptions extends WorkerScraperOptions {
  /** Ticks with more nodes than this run in the worker thread (default 100; 0: always). */
  inlineMaxNodes?: number;
}

export class AdaptiveScraper {
  readonly #opts: WorkerScraperOptions;
  readonly #inlineMaxNodes: number;
  #client: KubeletClient | undefined;
  #inline: Scraper | undefined;
  #worker: WorkerScraper | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: AdaptiveScraperOptions) {
    const { inlineMaxNodes = DEFAULT_INLINE_MAX_NODES, ...workerOpts } = opts;
    if (!(Number.isInteger(inlineMaxNodes) && inlineMaxNodes >= 0)) {
      throw new Error(`inlineMaxNodes must be a non-negative integer, got ${inlineMaxNodes}`);
    }
    this.#opts = workerOpts;
    this.#inlineMaxNodes = inlineMaxNodes;
    if (inlineMaxNodes === 0) {
      this.#worker = new WorkerScraper(workerOpts);
      return;
    }
    const { client, scraper, bearerToken, onReport, onDuplicatePods } = splitScraperOptions(workerOpts);
    // Bad options fail here, as they do in WorkerScraper's constructor.
    this.#client = new KubeletClient({ ...client, bearerToken });
    this.#inline = new Scraper({ ...scraper, client: this.#client, onReport, onDuplicatePods });
  }

  /** "inline" or "worker": where the next tick runs (unless it passes the threshold). */
  get mode(): "inline" | "worker" {
    return this.#worker ? "worker" : "inline";
  }

  /** The worker isolate's V8 heap; undefined while scraping inline (this thread's heap is nodejs_heap_*). */
  heapStatistics(): ReturnType<WorkerScraper["heapStatistics"]> {
    return this.#worker?.heapStatistics() ?? Promise.resolve(undefined);
  }

  /** The endpoint a node was last scraped from, as of the last finished tick. */
  endpointOf(node: string): ScrapeEndpoint | undefined {
    return this.#worker ? this.#worker.endpointOf(node) : this.#inline?.endpointOf(node);
  }

  /**
   * Scrapes every Ready node; failed nodes are logged and left out. `onResult` hears of each node as
   * it finishes (see Scraper.scrape). Ticks run one at a time.
   */
  scrape(nodes: readonly Node[], deadline: AbortSignal, onResult?: NodeResultSink): Promise<NodeScrape[]> {
    const run = this.#queue.then(() => this.#scrapeOnce(nodes, deadline, onResult));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Stops the worker or closes the inline connections. Later scrapes are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([this.#worker?.close(), this.#client?.close()]);
  }

  #scrapeOnce(
    nodes: readonly Node[],
    deadline: AbortSignal,
    onResult: NodeResultSink | undefined,
  ): Promise<NodeScrape[]> {
    if (this.#closed) return Promise.reject(new Error("AdaptiveScraper is closed"));
    if (!this.#worker && nodes.length > this.#inlineMaxNodes) {
      log.V(1).info("Scraping in a worker thread from now on", {
        nodeCount: nodes.length,
        inlineMaxNodes: this.#inlineMaxNodes,
      });
      this.#worker = new WorkerScraper(this.#opts);
      // The inline connections are not used again; the worker opens its own.
      const client = this.#client;
      this.#client = undefined;
      void client?.close().catch(() => {});
    }
    if (this.#worker) return this.#worker.scrape(nodes, deadline, onResult);
    return (this.#inline as Scraper).scrape(nodes, deadline, onResult);
  }
}
