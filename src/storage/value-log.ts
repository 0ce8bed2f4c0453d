// The store's error lines about one node's values (a point it skips, a rate it cannot compute, a
// value the node cannot have), kept from flooding the log: while a batch is stored each node's
// errors are collected, one line per kind with the first item named and how many there were; when
// the batch is swapped in, a node's set of kinds is logged if it is new or changed, and otherwise
// once per interval.
// A node whose values are valid again after errors gets one info line. (Upstream logs each error
// every time it is met.)

import * as log from "../log/index.ts";
import { type LeftOutPod, MAX_LEFT_OUT_PER_NODE } from "./types.ts";

type KV = Record<string, string | number | undefined>;

interface Kind {
  err: Error | undefined;
  msg: string;
  kv: KV;
  count: number;
}

export interface ValueLogOptions {
  /** How often an unchanged set of errors is logged again (default REPEAT_LOG_INTERVAL_MS). */
  intervalMs?: number;
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number;
  /** Told at each flush, per node stored, what was refused from its scrape (see RefusedSink). */
  onRefused?: RefusedSink;
}

/**
 * A node's refusals in the batch just swapped in: the pods and containers (at most
 * MAX_LEFT_OUT_PER_NODE) and the cause of its own point's, if any; empty when nothing was refused.
 */
export type RefusedSink = (node: string, refused: LeftOutPod[], nodeRefused: string | undefined) => void;

interface Refusals {
  items: LeftOutPod[];
  node: string | undefined;
}

export class ValueLog {
  readonly #limiter: log.RepeatLimiter;
  /** The node being stored. */
  #node: string | undefined;
  /**
   * The errors of each node stored since the last flush, by kind (the message plus the error's
   * text), nodes in the order first stored. A node that appears twice in a batch shares one entry.
   */
  readonly #pending = new Map<string, Map<string, Kind>>();
  readonly #onRefused: RefusedSink | undefined;
  /** Per node stored since the last flush, what was refused (only with onRefused). */
  readonly #refused = new Map<string, Refusals>();

  constructor(opts: ValueLogOptions = {}) {
    this.#limiter = new log.RepeatLimiter({ intervalMs: opts.intervalMs, now: opts.now });
    this.#onRefused = opts.onRefused;
  }

  /** Starts collecting the errors of one node's scrape. */
  begin(node: string): void {
    this.#node = node;
    if (!this.#pending.has(node)) this.#pending.set(node, new Map());
  }

  /** One error of the current node: `kv` names the item (pod, container); the node is added. */
  error(err: Error | undefined, msg: string, kv: KV = {}): void {
    const kinds = this.#node === undefined ? undefined : this.#pending.get(this.#node);
    if (kinds === undefined) return;
    const key = err === undefined ? msg : `${msg}\u0000${err.message}`;
    const kind = kinds.get(key);
    if (kind !== undefined) kind.count++;
    else kinds.set(key, { err, msg, kv, count: 1 });
    if (this.#onRefused !== undefined) this.#refuse(this.#node as string, err, msg, kv);
  }

  #refuse(node: string, err: Error | undefined, msg: string, kv: KV): void {
    let r = this.#refused.get(node);
    if (r === undefined) {
      r = { items: [], node: undefined };
      this.#refused.set(node, r);
    }
    const cause = err === undefined ? msg : err.message;
    const pod = kv.pod;
    if (typeof pod !== "string") {
      r.node ??= cause;
      return;
    }
    if (r.items.length >= MAX_LEFT_OUT_PER_NODE) return;
    const slash = pod.indexOf("/");
    const item: LeftOutPod = { namespace: pod.slice(0, slash), pod: pod.slice(slash + 1), cause };
    if (typeof kv.container === "string") item.container = kv.container;
    r.items.push(item);
  }

  /** Ends the current node's scrape. */
  end(): void {
    this.#node = undefined;
  }

  /** Writes the lines that are due for every node stored since the last flush (once per batch). */
  flush(): void {
    const onRefused = this.#onRefused;
    if (onRefused !== undefined) {
      for (const node of this.#pending.keys()) {
        const r = this.#refused.get(node);
        onRefused(node, r?.items ?? [], r?.node);
      }
      this.#refused.clear();
    }
    for (const [node, kinds] of this.#pending) {
      if (kinds.size === 0) {
        if (this.#limiter.recovered(node) !== undefined) log.info("Node metrics are valid again", { node });
        continue;
      }
      const held = this.#limiter.failed(node, [...kinds.keys()].sort().join("\u0001"));
      if (held === undefined) continue;
      let first = true;
      for (const { err, msg, kv, count } of kinds.values()) {
        const line: KV = { ...kv, node };
        if (count > 1) line.count = count;
        if (first && held > 0) line.timesNotLogged = held;
        first = false;
        log.error(err, msg, line);
      }
    }
    this.#pending.clear();
  }

  /** Drops what was collected since the last flush, unlogged (a build whose lines are not wanted). */
  discard(): void {
    this.#pending.clear();
    this.#refused.clear();
    this.#node = undefined;
  }

  /** Forgets nodes not in `keep` (gone from the cluster), so the table stays bounded. */
  retain(keep: { has(node: string): boolean }): void {
    this.#limiter.retain(keep);
  }

  /** Nodes whose errors are remembered. */
  get size(): number {
    return this.#limiter.size;
  }
}
