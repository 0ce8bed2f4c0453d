// The scraper's log lines about one node, worded as upstream's but not repeated every tick: per node
// the first failure is logged, a different cause at once, the same cause again only once per
// interval with how many were not logged, and the first success after failures once at info.
// Upstream logs every failed scrape, so a dead node writes a line per resolution forever.
import * as log from "../log/index.ts";
import type { NodeScrape } from "../storage/index.ts";

/** What a decoder reports it left out of a body that otherwise decoded (decode/: DecodedScrape). */
interface LeftOut {
  /** The same text every time: what the limiter compares. */
  cause: string;
  count: number;
  series: readonly string[];
}

/** A decoder's result: a NodeScrape, with what it left out when it left something out. */
export type DecoderResult = NodeScrape & { problems?: LeftOut };

const NO_NODE_POINT = "no usable node CPU and memory samples";

/**
 * A failure's cause as compared between ticks: its message, without the times some messages carry
 * (an expired certificate's "current time ... is after ..."), so the same cause stays the same.
 */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})/g, "<time>");
}

export class NodeLog {
  readonly #timeoutText: string;
  /** Per node: its scrape failures. */
  readonly #failures: log.RepeatLimiter;
  /** Per node: what its bodies lacked. */
  readonly #problems: log.RepeatLimiter;

  /**
   * `timeoutText`: --kubelet-request-timeout as upstream prints it; `intervalMs`: how often an
   * unchanged cause is logged again (default 5 min); `now`: a monotonic clock in ms.
   */
  constructor(timeoutText: string, intervalMs?: number, now?: () => number) {
    this.#timeoutText = timeoutText;
    this.#failures = new log.RepeatLimiter({ intervalMs, now });
    this.#problems = new log.RepeatLimiter({ intervalMs, now });
  }

  /** A node's scrape failed (timedOut: the request or the tick's deadline ran out). */
  failed(node: string, err: unknown, timedOut: boolean): void {
    const held = this.#failures.failed(node, timedOut ? "timeout" : errorText(err));
    if (held === undefined) return;
    const repeats = held > 0 ? { failuresNotLogged: held } : undefined;
    if (timedOut) {
      log.error(undefined, "Failed to scrape node, timeout to access kubelet", {
        node,
        timeout: this.#timeoutText,
        ...repeats,
      });
    } else {
      log.error(err, "Failed to scrape node", { node, ...repeats });
    }
  }

  /** A node was scraped: its recovery, and what its body lacked or the decoder left out. */
  scraped(node: string, scrape: DecoderResult): void {
    const held = this.#failures.recovered(node);
    if (held !== undefined) log.info("Scraping node works again", { node, failuresNotLogged: held });
    const problems = scrape.problems;
    // A node point left out (its samples missing, non-finite or negative) would hide the node
    // without a word otherwise: upstream does not log it either.
    const noNodePoint = scrape.nodeTimestampMs === 0;
    if (problems === undefined && !noNodePoint) {
      if (this.#problems.recovered(node) !== undefined) log.info("Node metrics are complete again", { node });
      return;
    }
    // Causes are the same text every time; the series named may differ from body to body.
    const causes = [problems?.cause, noNodePoint ? NO_NODE_POINT : undefined].filter((c) => c !== undefined);
    const cause = causes.join("; ");
    const repeats = this.#problems.failed(node, cause);
    if (repeats === undefined) return;
    log.error(undefined, "Left out node metrics", {
      node,
      cause,
      ...(problems !== undefined ? { count: problems.count, series: problems.series.join(" ") } : undefined),
      ...(repeats > 0 ? { timesNotLogged: repeats } : undefined),
    });
  }

  /** Forgets nodes that are gone, so the tables stay as large as the cluster. */
  retain(names: { has(node: string): boolean }): void {
    this.#failures.retain(names);
    this.#problems.retain(names);
  }
}
