// Waiting on one tick deadline from thousands of places: a shared abort listener and a sleep that
// honours it.

/**
 * One "abort" listener on a signal that many waiters share. Node's EventTarget scans its listener list
 * for duplicates on every addEventListener, so thousands of per-node listeners on one tick deadline
 * cost O(n²); here each waiter is an entry in a Set (O(1) to add and remove) and the single listener
 * calls them all.
 */
export class AbortFanout {
  readonly signal: AbortSignal;
  readonly #callbacks = new Set<(reason: unknown) => void>();
  readonly #onAbort = (): void => {
    const callbacks = [...this.#callbacks];
    this.#callbacks.clear();
    for (const cb of callbacks) cb(this.signal.reason);
  };

  constructor(signal: AbortSignal) {
    this.signal = signal;
    if (!signal.aborted) signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  get aborted(): boolean {
    return this.signal.aborted;
  }

  /**
   * Calls `cb` with the abort reason once the signal aborts (synchronously if it already has).
   * Returns a function that cancels the subscription.
   */
  subscribe(cb: (reason: unknown) => void): () => void {
    if (this.signal.aborted) {
      cb(this.signal.reason);
      return () => {};
    }
    // A wrapper per subscription, so the same callback subscribed twice is two entries.
    const entry = (reason: unknown): void => cb(reason);
    this.#callbacks.add(entry);
    return () => {
      this.#callbacks.delete(entry);
    };
  }

  /** Removes the listener from the signal (call when the tick is over). */
  dispose(): void {
    this.signal.removeEventListener("abort", this.#onAbort);
    this.#callbacks.clear();
  }

  /** How many subscriptions are waiting (for tests). */
  get size(): number {
    return this.#callbacks.size;
  }
}

/** Resolves after `ms`, or rejects with the abort reason when `abort` fires first. */
export function abortableSleep(ms: number, abort: AbortFanout): Promise<void> {
  return new Promise((resolve, reject) => {
    if (abort.aborted) {
      reject(abort.signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      unsubscribe();
      resolve();
    }, ms);
    const unsubscribe = abort.subscribe((reason) => {
      clearTimeout(timer);
      reject(reason);
    });
  });
}
