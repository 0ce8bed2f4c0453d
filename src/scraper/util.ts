// Small helpers for the Scraper: a counting semaphore, a generational string interner, Go durations.
import { Buffer } from "node:buffer";

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

/**
 * A 32-bit hash of bytes [start, end) of `view`, four bytes at a time (MurmurHash3's mixing; about
 * 1.5x faster than FNV-1a byte by byte on label sets). Depends only on the bytes, not on where they
 * are in the body.
 */
export function hashBytes(view: DataView, start: number, end: number): number {
  let h = end - start;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    let k = Math.imul(view.getInt32(i, true), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  for (; i < end; i++) h = Math.imul(h ^ view.getUint8(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** bytes[start, end) as a string; ASCII only (one byte is one UTF-16 unit). */
export function asciiString(bytes: Uint8Array, start: number, end: number): string {
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString("latin1", start, end);
}

/**
 * A copy of `s` that does not share memory with a larger string. A decoder's substring of a body
 * is a view that keeps the whole body alive (V8 sliced strings), and an interned name lives for many
 * ticks: 5,000 nodes' names would pin 5,000 bodies (~150 MiB). Only strings new to the interner pay
 * for this (V8 copies substrings shorter than 13 characters anyway). The JSON round trip is exact
 * for every string, lone surrogates included.
 */
function ownCopy(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/**
 * Interns strings across scrapes so the names of 150,000 containers are stored once, not once per
 * tick. Two generations: a string not seen during the last completed scrape is dropped at the next
 * rotation, so pod churn cannot grow the table forever.
 */
export class Interner {
  // One map, each entry stamped with the last scrape that used it: a hit is one lookup and a store,
  // where two generation maps cost a miss, a hit and an insert into a map that is rebuilt (and
  // rehashed as it grows) every scrape.
  readonly #entries = new Map<string, { value: string; generation: number }>();
  #generation = 0;
  #usedThisGeneration = 0;
  readonly #copy: (s: string) => string;

  /**
   * @param copyNew store a copy of each new string (see ownCopy): for strings cut out of larger
   * ones, as decoders make. Strings that arrive whole (from postMessage) need no copy.
   */
  constructor(copyNew = true) {
    this.#copy = copyNew ? ownCopy : (s) => s;
  }

  readonly intern = (s: string): string => {
    const entry = this.#entries.get(s);
    if (entry !== undefined) {
      if (entry.generation !== this.#generation) {
        entry.generation = this.#generation;
        this.#usedThisGeneration++;
      }
      return entry.value;
    }
    const value = this.#copy(s);
    this.#entries.set(value, { value, generation: this.#generation });
    this.#usedThisGeneration++;
    return value;
  };

  /** Call once per scrape, after it: strings unused in the scrape just finished are forgotten next time. */
  rotate(): void {
    for (const [key, entry] of this.#entries) {
      if (entry.generation !== this.#generation) this.#entries.delete(key);
    }
    this.#generation++;
    this.#usedThisGeneration = 0;
  }

  /** Strings used since the last rotation. */
  get size(): number {
    return this.#usedThisGeneration;
  }
}
