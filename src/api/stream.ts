// Large list bodies, produced lazily in chunks. A 150,000-pod list is ~64 MB of JSON: built as one
// string it blocks the event loop for the whole build and holds the text, the item strings and the
// encoded bytes at once. Produced per batch instead, each step is short (the server yields to other
// requests between chunks, so the HPA's small lists are not stuck behind it) and only a chunk or
// two is alive at a time.
//
// Consequence: a list's metrics are read from storage batch by batch, as the chunks are written.
// If a storage tick lands while a list is being written, items after it carry the newer points;
// each item is still one consistent point with its own timestamp and window.

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
