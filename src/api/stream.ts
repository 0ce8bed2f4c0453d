// Large list bodies, produced lazily in chunks. A 150,000-pod list is ~64 MB of JSON: built as one
// string it blocks the event loop for the whole build and holds the text, the item strings and the
// encoded bytes at once. Produced per batch instead, each step is short (the server yields to other
// requests between chunks, so the HPA's small lists are not stuck behind it) and only a chunk or
// two is alive at a time.
//
// Consequence: a list's metrics are read from storage batch by batch, as the chunks are written.
// If a storage tick lands while a list is being written, items after it carry the newer points;
// each item is still one consistent point with its own timestamp and window.
//
// JSON and Table text are written as they are rendered. Protobuf puts the list's total length before
// its items, so bufferedListChunks encodes every batch first (one step each) and writes afterwards:
// the encoded items, about the body's size, are held until then.

import { LIST_TAIL_JSON } from "./objects.ts";

/** Lists with fewer items than this are answered in one piece (a single write, with a length). */
export const STREAM_MIN_ITEMS = 512;

/** Items per chunk: about 100 KB of pod JSON, well under a millisecond of work each. */
export const ITEMS_PER_CHUNK = 256;

/**
 * The body of a list after its head: `renderBatch(from, to)` writes items [from, to) joined by
 * commas, or "" when none of them is served. The last chunk ends with the list's tail. Nothing is
 * rendered until the iterator is advanced.
 */
export function* listChunks(
  count: number,
  renderBatch: (from: number, to: number) => string,
  itemsPerChunk = ITEMS_PER_CHUNK,
): Generator<string, void, undefined> {
  if (count <= 0) {
    yield LIST_TAIL_JSON;
    return;
  }
  let wroteItem = false;
  for (let from = 0; from < count; from += itemsPerChunk) {
    const to = Math.min(count, from + itemsPerChunk);
    const batch = renderBatch(from, to);
    let chunk = batch;
    if (batch !== "") {
      if (wroteItem) chunk = "," + batch;
      wroteItem = true;
    }
    // An empty chunk still gives the server a point to let other requests run.
    yield to === count ? chunk + LIST_TAIL_JSON : chunk;
  }
}

/** The whole body of a response as text: `body` followed by every chunk (tests and tools). */
export function responseText(res: { body: string | Buffer; chunks?: Iterable<string | Buffer> }): string {
  let text = typeof res.body === "string" ? res.body : res.body.toString("utf8");
  if (res.chunks)
    for (const chunk of res.chunks) text += typeof chunk === "string" ? chunk : chunk.toString("utf8");
  return text;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * The whole body of a list whose head depends on the total length of its items (Kubernetes
 * protobuf): items [from, to) are encoded by `encodeBatch` one batch per step, an empty chunk after
 * each so the server lets other requests run, then `envelope(total)`'s head, the batches as they are
 * and its tail. Holds the encoded items (about the body's size) until they are written.
 */
export function* bufferedListChunks(
  count: number,
  encodeBatch: (from: number, to: number) => Uint8Array,
  envelope: (itemsByteLength: number) => { head: Uint8Array; tail: Uint8Array },
  itemsPerChunk = ITEMS_PER_CHUNK,
): Generator<Buffer, void, undefined> {
  const batches: Uint8Array[] = [];
  let total = 0;
  for (let from = 0; from < count; from += itemsPerChunk) {
    const batch = encodeBatch(from, Math.min(count, from + itemsPerChunk));
    if (batch.length === 0) continue;
    batches.push(batch);
    total += batch.length;
    yield NO_BYTES;
  }
  const { head, tail } = envelope(total);
  yield asBuffer(head);
  // Each batch is released as soon as it is handed over, so memory falls as the body is written.
  for (let i = 0; i < batches.length; i++) {
    const batch = batches[i];
    batches[i] = NO_BYTES;
    yield asBuffer(batch);
  }
  yield asBuffer(tail);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The whole body of a response as bytes: `body` followed by every chunk (tests and tools). */
export function responseBytes(res: { body: string | Buffer; chunks?: Iterable<string | Buffer> }): Buffer {
  const parts: Buffer[] = [typeof res.body === "string" ? Buffer.from(res.body) : res.body];
  if (res.chunks)
    for (const chunk of res.chunks) parts.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts);
}
