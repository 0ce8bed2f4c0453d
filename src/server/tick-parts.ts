// Storing a tick in parts, so that one slow or dead kubelet delays nobody else. Upstream stores a tick
// once, after its last node has answered or timed out: one hanging kubelet holds every node's new
// points back for the request timeout (or the tick deadline). Here, once the results have been quiet
// for a short while and some node is still pending, the answers so far are stored as a part of the
// tick: answered nodes get their new points, failed ones vanish (as upstream), pending ones keep
// theirs. The tick's last store, with the whole batch, still decides everything (see
// src/storage/store.ts: the result is exactly that of one store).
//
// Each part rebuilds the store's generation (a full store's work, and the tick's base generation is
// kept until the tick ends), so parts are bounded per tick and only stored while a node is pending.
import * as log from "../log/index.ts";
import type { NodeScrape } from "../storage/index.ts";

export interface PartStore {
  storeAsync(batch: readonly NodeScrape[], opts?: { pending?: Iterable<string> }): Promise<void>;
}

/** Parts stored per tick at most, besides its last store. */
export const MAX_PARTS_PER_TICK = 3;

/**
 * How long no result may have arrived before a part is stored: 1/20 of the resolution, within 200 ms
 * and 1 s. Results of healthy kubelets arrive within the start jitter (≤ 1 s) plus a request; a gap
 * this long means the rest are slow. Short enough that the healthy nodes' points are stored a
 * fraction of a resolution late at most; long enough that a busy machine's pauses rarely cost a part.
 */
export function quietPeriodMs(resolutionMs: number): number {
  return Math.min(1000, Math.max(200, resolutionMs / 20));
}

export class TickParts {
  readonly #store: PartStore;
  /** The tick's node names, each once, in node order. */
  readonly #order: readonly string[];
  readonly #nodes: ReadonlySet<string>;
  readonly #quietMs: number;
  readonly #maxParts: number;
  /** Each settled node's scrape, or null when it failed. */
  readonly #outcomes = new Map<string, NodeScrape | null>();
  /** Outcomes not in a stored part yet. */
  #unstored = 0;
  #parts = 0;
  #timer: NodeJS.Timeout | undefined;
  #storing: Promise<void> | undefined;
  #closed = false;

  constructor(store: PartStore, order: readonly string[], quietMs: number, maxParts = MAX_PARTS_PER_TICK) {
    this.#store = store;
    this.#order = order;
    this.#nodes = new Set(order);
    this.#quietMs = quietMs;
    this.#maxParts = maxParts;
  }

  /** Parts stored so far. */
  get parts(): number {
    return this.#parts;
  }

  /** The scraper's result sink: one call per node, as soon as its outcome is known. */
  readonly onResult = (node: string, scrape: NodeScrape | undefined): void => {
    if (this.#closed || !this.#nodes.has(node) || this.#outcomes.has(node)) return;
    this.#outcomes.set(node, scrape ?? null);
    this.#unstored++;
    this.#arm();
  };

  /** The answers so far, in node order. */
  answered(): NodeScrape[] {
    const batch: NodeScrape[] = [];
    for (const node of this.#order) {
      const s = this.#outcomes.get(node);
      if (s) batch.push(s);
    }
    return batch;
  }

  /** No more parts; resolves once a part being stored is in. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#storing;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed || this.#parts >= this.#maxParts || this.#outcomes.size === this.#order.length) return;
    this.#timer = setTimeout(() => this.#storePart(), this.#quietMs);
    this.#timer.unref();
  }

  #storePart(): void {
    this.#timer = undefined;
    // A part still being stored: the next is considered when it is in.
    if (this.#closed || this.#unstored === 0 || this.#storing !== undefined) return;
    const batch: NodeScrape[] = [];
    const pending: string[] = [];
    for (const node of this.#order) {
      const s = this.#outcomes.get(node);
      if (s === undefined) pending.push(node);
      else if (s !== null) batch.push(s);
    }
    if (pending.length === 0) return; // the tick's last store is about to come
    this.#parts++;
    this.#unstored = 0;
    log.V(2).info("Storing the nodes that answered", { nodes: batch.length, pending: pending.length });
    this.#storing = this.#store
      .storeAsync(batch, { pending })
      .catch((err: unknown) => log.error(err, "Failed to store metrics"))
      .finally(() => {
        this.#storing = undefined;
        if (this.#unstored > 0) this.#arm();
      });
  }
}

/** The names of the nodes a scrape will scrape, each once, in order (as Scraper reads them). */
export function nodeOrder(nodes: readonly { metadata?: { name?: unknown } }[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  for (const node of nodes) {
    const name = node?.metadata?.name;
    if (typeof name !== "string" || seen.has(name)) continue;
    seen.add(name);
    order.push(name);
  }
  return order;
}
