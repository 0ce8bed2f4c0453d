// A hash table from ranges of the body being decoded to small integers: how the decoder finds a label
// set or a label value it has already seen in this body without making a string of it.
import * as ranges from "./byte-ranges.ts";

// Module constants, not imported bindings, in the per-line loops: V8 reads an import through its
// module cell at every use, which made these loops measurably slower (docs/scraping.md).
const { sameBytes } = ranges;

/**
 * Byte ranges of the body being decoded -> small non-negative integers, by hash and bytes (open
 * addressing, linear probing). Reused from body to body: clear() forgets the entries.
 */
export class SpanTable {
  // Per slot: the value + 1 (0 = empty), the range's hash, start and length.
  #values = new Int32Array(64);
  #hashes = new Int32Array(64);
  #starts = new Int32Array(64);
  #lengths = new Int32Array(64);
  #count = 0;

  clear(): void {
    // One odd body must not make every later clear() pay for its size.
    if (this.#values.length > 1024) this.#allocate(64);
    else this.#values.fill(0);
    this.#count = 0;
  }

  /** The value stored for the body's bytes [start, start + length), or -1. */
  get(view: DataView, start: number, length: number, hash: number): number {
    const values = this.#values;
    const mask = values.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const v = values[slot];
      if (v === 0) return -1;
      if (
        this.#hashes[slot] === hash &&
        this.#lengths[slot] === length &&
        sameBytes(view, this.#starts[slot], start, length)
      ) {
        return v - 1;
      }
    }
  }

  /** Stores `value` for a range that get() did not find. */
  add(start: number, length: number, hash: number, value: number): void {
    if ((this.#count + 1) * 2 > this.#values.length) this.#grow();
    this.#count++;
    this.#put(start, length, hash, value + 1);
  }

  #put(start: number, length: number, hash: number, stored: number): void {
    const mask = this.#values.length - 1;
    let slot = hash & mask;
    while (this.#values[slot] !== 0) slot = (slot + 1) & mask;
    this.#values[slot] = stored;
    this.#hashes[slot] = hash;
    this.#starts[slot] = start;
    this.#lengths[slot] = length;
  }

  #allocate(capacity: number): void {
    this.#values = new Int32Array(capacity);
    this.#hashes = new Int32Array(capacity);
    this.#starts = new Int32Array(capacity);
    this.#lengths = new Int32Array(capacity);
  }

  #grow(): void {
    const values = this.#values;
    const hashes = this.#hashes;
    const starts = this.#starts;
    const lengths = this.#lengths;
    this.#allocate(values.length * 2);
    for (let slot = 0; slot < values.length; slot++) {
      if (values[slot] !== 0) this.#put(starts[slot], lengths[slot], hashes[slot], values[slot]);
    }
  }
}
