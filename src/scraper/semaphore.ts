// Bounds how many kubelet requests run at once.
import { AbortFanout } from "./abort-fanout.ts";

/** A counting semaphore whose waiters give up when their signal aborts. */
export class Semaphore {
  #free: number;
  // Insertion-ordered, so the first entry is the longest waiter; deleting an aborted waiter is O(1).
  readonly #waiters = new Set<() => void>();

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new Error(`permits must be >= 1, got ${permits}`);
    this.#free = permits;
  }

  /**
   * Resolves with a release function once a permit is held; rejects with the reason on abort. Pass
   * an AbortFanout when many callers share one signal (see there).
   */
  acquire(abort: AbortSignal | AbortFanout): Promise<() => void> {
    const signal = abort instanceof AbortFanout ? abort.signal : abort;
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    const fanout = abort instanceof AbortFanout ? abort : new AbortFanout(abort);
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        unsubscribe();
        if (fanout !== abort) fanout.dispose();
        resolve(this.#releaser());
      };
      const unsubscribe = fanout.subscribe((reason) => {
        this.#waiters.delete(grant);
        if (fanout !== abort) fanout.dispose();
        reject(reason);
      });
      this.#waiters.add(grant);
    });
  }

  /** Waiters queued for a permit (for tests). */
  get waiting(): number {
    return this.#waiters.size;
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.values().next();
      if (next.done) {
        this.#free++;
        return;
      }
      this.#waiters.delete(next.value);
      next.value();
    };
  }
}
