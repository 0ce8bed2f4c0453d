// The latest scrape outcome of every node, for explanations and the diagnostics API: the scraper's
// report of each tick (NodeScrapeReport), how long the node has been failing, and what the store and
// the tick's merge refused from its scrape. One small record per node, replaced every tick.
import {
  type LeftOutPod,
  MAX_LEFT_OUT_PER_NODE,
  type NodeScrapeReport,
  type NodeScrapeStatus,
  type ScrapeStatusReader,
} from "./types.ts";

interface Entry {
  latest: NodeScrapeReport;
  consecutiveFailures: number;
  failingSinceMs: number | undefined;
  lastSuccessMs: number | undefined;
  /** The store's refusals from the node's latest stored scrape. */
  refused: LeftOutPod[] | undefined;
  nodeRefused: string | undefined;
  /** Pods the tick's merge dropped because an earlier node reported them too. */
  duplicates: LeftOutPod[] | undefined;
}

export class ScrapeStatusBook implements ScrapeStatusReader {
  readonly #nodes = new Map<string, Entry>();

  /** Records a node's report of one tick. */
  record(report: NodeScrapeReport): void {
    const node = report.node;
    let e = this.#nodes.get(node);
    if (e === undefined) {
      e = {
        latest: report,
        consecutiveFailures: 0,
        failingSinceMs: undefined,
        lastSuccessMs: undefined,
        refused: undefined,
        nodeRefused: undefined,
        duplicates: undefined,
      };
      this.#nodes.set(node, e);
    }
    e.latest = report;
    if (report.outcome === "Failed") {
      if (e.consecutiveFailures === 0) e.failingSinceMs = report.startMs;
      e.consecutiveFailures++;
    } else {
      e.consecutiveFailures = 0;
      e.failingSinceMs = undefined;
      if (report.outcome === "Succeeded") e.lastSuccessMs = report.startMs;
    }
    // Duplicates are decided when the tick's results are merged, after the reports: a new report
    // starts the node's list afresh.
    e.duplicates = undefined;
  }

  /**
   * What the store refused from the node's latest stored scrape (none: `refused` empty and
   * `nodeRefused` undefined). Replaces what was recorded before.
   */
  recordRefused(node: string, refused: readonly LeftOutPod[], nodeRefused: string | undefined): void {
    const e = this.#nodes.get(node);
    if (e === undefined) return;
    e.refused = refused.length > 0 ? refused.slice(0, MAX_LEFT_OUT_PER_NODE) : undefined;
    e.nodeRefused = nodeRefused;
  }

  /** Pods the tick's merge dropped from the node because an earlier node reported them too. */
  recordDuplicates(node: string, pods: readonly LeftOutPod[]): void {
    const e = this.#nodes.get(node);
    if (e === undefined) return;
    e.duplicates = (e.duplicates ?? []).concat(pods).slice(0, MAX_LEFT_OUT_PER_NODE);
  }

  /** Forgets nodes not in `keep` (gone from the cluster or no longer selected). */
  retain(keep: { has(node: string): boolean }): void {
    for (const node of this.#nodes.keys()) if (!keep.has(node)) this.#nodes.delete(node);
  }

  status(node: string): NodeScrapeStatus | undefined {
    const e = this.#nodes.get(node);
    return e === undefined ? undefined : view(e);
  }

  *all(): Iterable<NodeScrapeStatus> {
    for (const e of this.#nodes.values()) yield view(e);
  }

  /** Nodes with a report. */
  get size(): number {
    return this.#nodes.size;
  }
}

function view(e: Entry): NodeScrapeStatus {
  const s: NodeScrapeStatus = { latest: e.latest, consecutiveFailures: e.consecutiveFailures };
  if (e.failingSinceMs !== undefined) s.failingSinceMs = e.failingSinceMs;
  if (e.lastSuccessMs !== undefined) s.lastSuccessMs = e.lastSuccessMs;
  const refused =
    e.duplicates === undefined
      ? e.refused
      : (e.refused ?? []).concat(e.duplicates).slice(0, MAX_LEFT_OUT_PER_NODE);
  if (refused !== undefined) s.refused = refused;
  if (e.nodeRefused !== undefined) s.nodeRefused = e.nodeRefused;
  return s;
}
