// Encoded texts of a response's times and windows by their number. The items of a large list share
// a few thousand distinct values (one per node scrape) in no order, where a Map keyed by doubles
// cost more than writing the rest of an item; a direct-mapped table costs a multiply and a compare.
// A collision overwrites the slot, so memory stays bounded and a value is at worst encoded again.

// Per response; plain arrays live on the V8 heap (a 64 KiB typed array would be mmap'd under the
// launcher's MALLOC_MMAP_THRESHOLD_).
const SLOTS = 8192; // 2^13
const SHIFT = 32 - 13;

export class NumberKeyedBytes {
  readonly #keys = new Array<number>(SLOTS).fill(Number.NaN);
  readonly #values = new Array<Uint8Array | undefined>(SLOTS).fill(undefined);
  readonly #bits = new Float64Array(1);
  readonly #words = new Uint32Array(this.#bits.buffer);
  readonly #encode: (value: number) => Uint8Array;

  constructor(encode: (value: number) => Uint8Array) {
    this.#encode = encode;
  }

  get(value: number): Uint8Array {
    this.#bits[0] = value;
    const slot =
      (Math.imul(this.#words[0] ^ Math.imul(this.#words[1], 0x9e3779b1), 0x85ebca6b) >>> SHIFT) | 0;
    const cached = this.#values[slot];
    // NaN never equals itself: it is encoded every time (it never occurs in practice).
    if (cached !== undefined && this.#keys[slot] === value) return cached;
    const bytes = this.#encode(value);
    this.#keys[slot] = value;
    this.#values[slot] = bytes;
    return bytes;
  }
}
