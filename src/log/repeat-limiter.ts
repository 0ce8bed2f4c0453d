// Keeps a failure that repeats every tick from flooding the log: per key (a node), the first failure
// of a cause is logged, the same cause again only once per interval (with how many were held back),
// a new cause at once, and the end of the failures once ("recovered"). Upstream metrics-server logs
// every failed scrape, so a dead node writes a line per node and resolution forever.

/** How often a cause that keeps repeating is logged again. */
export const REPEAT_LOG_INTERVAL_MS = 5 * 60_000;

export interface RepeatLimiterOptions {
  intervalMs?: number;
  /** A monotonic clock in ms (default performance.now; tests inject one). */
  now?: () => number;
}

interface Failing {
  cause: string;
  loggedAtMs: number;
  /** Failures since the last line that were not logged. */
  held: number;
}

export class RepeatLimiter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #failing = new Map<string, Failing>();

  constructor(opts: RepeatLimiterOptions = {}) {
    this.#intervalMs = opts.intervalMs ?? REPEAT_LOG_INTERVAL_MS;
    this.#now = opts.now ?? (() => performance.now());
  }

  /**
   * A failure of `key` with `cause`: undefined when it should not be logged, else the number of
   * failures of the key held back since its last line (0 for a first or changed cause).
   */
  failed(key: string, cause: string): number | undefined {
    const now = this.#now();
    const f = this.#failing.get(key);
    if (f === undefined) {
      this.#failing.set(key, { cause, loggedAtMs: now, held: 0 });
      return 0;
    }
    if (f.cause !== cause || now - f.loggedAtMs >= this.#intervalMs) {
      const held = f.held;
      f.cause = cause;
      f.loggedAtMs = now;
      f.held = 0;
      return held;
    }
    f.held++;
    return undefined;
  }

  /**
   * A success of `key`: when it was failing, forgets it and returns the number of its failures that
   * were held back (the caller logs the recovery once); else undefined.
   */
  recovered(key: string): number | undefined {
    const f = this.#failing.get(key);
    if (f === undefined) return undefined;
    this.#failing.delete(key);
    return f.held;
  }

  /** Forgets every key that `keep` does not have (nodes gone), so the table stays bounded. */
  retain(keep: { has(key: string): boolean }): void {
    for (const key of this.#failing.keys()) if (!keep.has(key)) this.#failing.delete(key);
  }

  /** Keys currently failing. */
  get size(): number {
    return this.#failing.size;
  }
}
