// Ranges of a body's bytes: hashed, and read as text.
import { Buffer } from "node:buffer";

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
