// The protobuf wire format, as far as the metrics kinds need it: varint and length-delimited fields
// written forward into one growable buffer. A length prefix is reserved as one byte and the payload is
// shifted only when it turns out to need more.

// Tags are (field number << 3) | wire type; every tag used here fits in one byte.
export const VARINT = 0;
export const LEN = 2;
export function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

// Lengths are written as varints below 2^32.
export const TWO_32 = 2 ** 32;
const utf8 = new TextEncoder();

function uvarintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

export class ProtoWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity: number) {
    // Only bytes below pos are ever read: no need to zero them.
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = Buffer.allocUnsafe(capacity);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  bytes(data: Uint8Array): void {
    const n = data.length;
    this.ensure(n);
    if (n > 64) {
      this.buf.set(data, this.pos);
      this.pos += n;
      return;
    }
    // Most are a few bytes (empty fields, map keys): a loop beats a native set() call.
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = data[i];
    this.pos = p;
  }

  /** An unsigned varint below 2^32 (lengths); space must already be ensured. */
  private uvarintAt(pos: number, n: number): number {
    const buf = this.buf;
    while (n >= 0x80) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[pos++] = n;
    return pos;
  }

  /** A varint int64 field. Negative values take ten bytes (two's complement), as in Go. */
  int64(tagByte: number, value: number): void {
    const n = Math.trunc(value) || 0; // NaN → 0
    this.ensure(11);
    const buf = this.buf;
    buf[this.pos++] = tagByte;
    if (n >= 0 && n < 0x80000000) {
      this.pos = this.uvarintAt(this.pos, n);
      return;
    }
    // Split into 32-bit halves; `>>> 0` takes each modulo 2^32, which is two's complement for negatives.
    let lo = n >>> 0;
    let hi = Math.floor(n / TWO_32) >>> 0;
    let pos = this.pos;
    while (hi !== 0 || lo >= 0x80) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  /** A string field, UTF-8 encoded (lone surrogates become U+FFFD, as Go's conversion does). */
  string(tagByte: number, s: string): void {
    const n = s.length;
    this.ensure(6 + 3 * n);
    const buf = this.buf;
    buf[this.pos++] = tagByte;
    const lengthSize = uvarintSize(n);
    const start = this.pos + lengthSize;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[start + i] = c;
    }
    if (i === n) {
      this.uvarintAt(this.pos, n);
      this.pos = start + n;
      return;
    }
    // Non-ASCII: let the platform encoder write it, then fix up the length prefix's size.
    const { written } = utf8.encodeInto(s, buf.subarray(start));
    const actualSize = uvarintSize(written);
    if (actualSize !== lengthSize) buf.copyWithin(this.pos + actualSize, start, start + written);
    this.uvarintAt(this.pos, written);
    this.pos += actualSize + written;
  }

  /** An unsigned varint below 2^32 on its own (a length prefix written ahead of its payload). */
  uvarint(n: number): void {
    this.ensure(5);
    this.pos = this.uvarintAt(this.pos, n);
  }

  /** Starts a length-delimited field; returns the position of its (one-byte, provisional) length. */
  begin(tagByte: number): number {
    this.ensure(2);
    this.buf[this.pos++] = tagByte;
    return this.pos++;
  }

  /** Ends the field begun at `lengthPos`, widening its length prefix if the payload needs it. */
  end(lengthPos: number): void {
    const length = this.pos - lengthPos - 1;
    if (length < 0x80) {
      this.buf[lengthPos] = length;
      return;
    }
    const extra = uvarintSize(length) - 1;
    this.ensure(extra);
    this.buf.copyWithin(lengthPos + 1 + extra, lengthPos + 1, this.pos);
    this.uvarintAt(lengthPos, length);
    this.pos += extra;
  }

  /**
   * Starts a length-delimited field whose payload is expected to take 128 to 16,383 bytes (a list
   * item): its length prefix is reserved as two bytes, so end2 moves the payload only when it is not.
   */
  begin2(tagByte: number): number {
    this.ensure(3);
    this.buf[this.pos++] = tagByte;
    const lengthPos = this.pos;
    this.pos += 2;
    return lengthPos;
  }

  /** Ends the field begun at `lengthPos` by begin2, with the shortest length prefix (as Go writes). */
  end2(lengthPos: number): void {
    const length = this.pos - lengthPos - 2;
    const buf = this.buf;
    if (length >= 0x80 && length < 0x4000) {
      buf[lengthPos] = (length & 0x7f) | 0x80;
      buf[lengthPos + 1] = length >>> 7;
      return;
    }
    const size = uvarintSize(length);
    this.ensure(size - 2);
    this.buf.copyWithin(lengthPos + size, lengthPos + 2, this.pos);
    this.uvarintAt(lengthPos, length);
    this.pos += size - 2;
  }

  /**
   * The bytes written, for keeping: the buffer itself when little of it is spare, else an exact copy
   * (so a batch held until a list is written does not hold up to half a buffer more).
   */
  take(): Uint8Array {
    if (this.pos >= this.buf.length - (this.buf.length >>> 2)) return this.buf.subarray(0, this.pos);
    return this.copy();
  }

  /** A copy of the bytes written (the buffer is a Buffer, whose slice() would be a view). */
  copy(): Uint8Array {
    const out = new Uint8Array(this.pos);
    out.set(this.buf.subarray(0, this.pos));
    return out;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
