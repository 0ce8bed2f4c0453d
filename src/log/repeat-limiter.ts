// Keeps a failure that repeats every tick from flooding the log: per key (a node, a reflector), each
// cause is logged the first time, the same cause again only once per interval (with how many were
// held back), and the end of the failures ("recovered") at most once per interval too. Causes are
// remembered across a recovery and a few per key, so neither a key that flaps between failing and
// working nor two causes that alternate log every time. Upstream metrics-server logs every failed
// scrape, so a dead node writes a line per node and resolution forever.

/** How often a cause that keeps repeating is logged again. */
export const REPEAT_LOG_INTERVAL_MS = 5 * 60_000;

/** Causes remembered per key; past that, the one logged longest ago is forgotten (and logs again). */
const MAX_CAUSES_PER_KEY = 8;

export interface RepeatLimiterOptions {
  intervalMs?: number;
  /** A monotonic clock in ms (default performance.now; tests inject one). */
  now?: () => number;
}

interface KeyState {
  /** Its causes in the order they were last logged. */
  causes: Map<string, Cause>;
  /** Failed since the last recovery. */
  failing: boolean;
  /** When a recovery was last logged (-Infinity before any). */
  recoveryLoggedAtMs: number;
  /** When it last failed or recovered. */
  lastSeenMs: number;
}

interface Cause {
  loggedAtMs: number;
  /** Failures with this cause since its last line that were not logged. */
  held: number;
}

export class RepeatLimiter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #keys = new Map<string, KeyState>();

  constructor(opts: RepeatLimiterOptions = {}) {
    this.#intervalMs = opts.intervalMs ?? REPEAT_LOG_INTERVAL_MS;
    this.#now = opts.now ?? (() => performance.now());
  }

  /**
   * A failure of `key` with `cause`: undefined when it should not be logged, else the number of
   * failures with this cause held back since its last line (0 for a new cause).
   */
  failed(key: string, cause: string): number | undefined {
    const now = this.#now();
    let k = this.#keys.get(key);
    if (k === undefined) {
      k = { causes: new Map(), failing: true, recoveryLoggedAtMs: Number.NEGATIVE_INFINITY, lastSeenMs: now };
      this.#keys.set(key, k);
    }
    k.failing = true;
    k.lastSeenMs = now;
    const causes = k.causes;
    const c = causes.get(cause);
    if (c !== undefined && now - c.loggedAtMs < this.#intervalMs) {
      c.held++;
      return undefined;
    }
    const held = c?.held ?? 0;
    causes.delete(cause);
    causes.set(cause, { loggedAtMs: now, held: 0 });
    if (causes.size > MAX_CAUSES_PER_KEY) causes.delete(causes.keys().next().value as string);
    return held;
  }

  /**
   * A success of `key`: when it was failing and no recovery was logged within the interval, returns
   * the number of its failures held back so far (the caller logs the recovery); else undefined.
   */
  recovered(key: string): number | undefined {
    const k = this.#keys.get(key);
    if (k === undefined || !k.failing) return undefined;
    const now = this.#now();
    k.failing = false;
    k.lastSeenMs = now;
    if (now - k.recoveryLoggedAtMs < this.#intervalMs) return undefined;
    k.recoveryLoggedAtMs = now;
    let held = 0;
    for (const c of k.causes.values()) held += c.held;
    return held;
  }

  /**
   * Forgets every key that `keep` does not have (nodes gone), and keys that have worked for a whole
   * interval, so the table stays bounded.
   */
  retain(keep: { has(key: string): boolean }): void {
    const now = this.#now();
    for (const [key, k] of this.#keys) {
      if (!keep.has(key) || (!k.failing && now - k.lastSeenMs >= this.#intervalMs)) this.#keys.delete(key);
    }
  }

  /** Keys currently failing. */
  get size(): number {
    let n = 0;
    for (const k of this.#keys.values()) if (k.failing) n++;
    return n;
  }
}
