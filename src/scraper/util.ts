// Small helpers for the Scraper: a counting semaphore, a generational string interner, Go durations.

/** A counting semaphore whose waiters give up when their signal aborts. */
export class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new Error(`permits must be >= 1, got ${permits}`);
    this.#free = permits;
  }

  /** Resolves with a release function once a permit is held; rejects with the reason on abort. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve(this.#releaser());
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/**
 * Interns strings across scrapes so the names of 150,000 containers are stored once, not once per
 * tick. Two generations: a string not seen during the last completed scrape is dropped at the next
 * rotation, so pod churn cannot grow the table forever.
 */
export class Interner {
  #current = new Map<string, string>();
  #previous = new Map<string, string>();

  readonly intern = (s: string): string => {
    const hit = this.#current.get(s);
    if (hit !== undefined) return hit;
    const old = this.#previous.get(s) ?? s;
    this.#current.set(old, old);
    return old;
  };

  /** Call once per scrape, after it: strings unused in the scrape just finished are forgotten next time. */
  rotate(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  get size(): number {
    return this.#current.size;
  }
}

function fraction(whole: number, remainder: number, digits: number): string {
  if (remainder === 0) return String(whole);
  return `${whole}.${String(remainder).padStart(digits, "0").replace(/0+$/, "")}`;
}

/** Go's time.Duration.String() for a duration in milliseconds: "10s", "1.5ms", "1m30s", "0s". */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  ns = Math.abs(ns);
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return `${sign}${fraction(Math.floor(ns / 1e3), ns % 1e3, 3)}µs`;
  if (ns < 1e9) return `${sign}${fraction(Math.floor(ns / 1e6), ns % 1e6, 6)}ms`;
  const hours = Math.floor(ns / 3.6e12);
  const minutes = Math.floor((ns % 3.6e12) / 6e10);
  const secNs = ns % 6e10;
  let out = sign;
  if (hours > 0) out += `${hours}h`;
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  return `${out}${fraction(Math.floor(secNs / 1e9), secNs % 1e9, 9)}s`;
}
