// One instance of each namespace, pod and container name across scrapes.

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
