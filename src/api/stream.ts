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

import { type ApiRequest, type ApiResponse, JSON_CONTENT_TYPE } from "../apiserver/index.ts";
import type { MetricsApiDeps, ProtobufEncoder } from "./deps.ts";
import {
  type JsonBytesContext,
  type JsonWriter,
  jsonBytesContext,
  jsonListChunks,
  writeItemSeparator,
} from "./json-writer.ts";
import { listHeadJSON, type ObjectContext, objectContext } from "./objects.ts";
import type { ProtoItemsContext } from "./protobuf-items.ts";
import { type ObjectFormat, protobufChunksResponse } from "./responses.ts";
import { parseIncludeObject, type TableItem, TableWriter } from "./table.ts";

/** Lists with fewer items than this are answered in one piece (a single write, with a length). */
export const STREAM_MIN_ITEMS = 512;

/** Items per chunk: about 100 KB of pod JSON, well under a millisecond of work each. */
export const ITEMS_PER_CHUNK = 256;

const NO_BYTES = Buffer.alloc(0);

/**
 * The whole body of a list whose head depends on the total length of its items (Kubernetes
 * protobuf): items [from, to) are encoded by `encodeBatch` one batch per step, an empty chunk after
 * each so the server lets other requests run, then `envelope(total)`'s head, the batches as they are
 * and its tail. Holds the encoded items (about the body's size) until they are written.
 */
export function* bufferedListChunks(
  count: number,
  encodeBatch: (from: number, to: number) => Uint8Array | readonly Uint8Array[],
  envelope: (itemsByteLength: number) => { head: Uint8Array; tail: Uint8Array },
  itemsPerChunk = ITEMS_PER_CHUNK,
): Generator<Buffer, void, undefined> {
  const pieces: Uint8Array[] = [];
  let total = 0;
  for (let from = 0; from < count; from += itemsPerChunk) {
    const batch = encodeBatch(from, Math.min(count, from + itemsPerChunk));
    for (const piece of batch instanceof Uint8Array ? [batch] : batch) {
      if (piece.length === 0) continue;
      pieces.push(piece);
      total += piece.length;
    }
    yield NO_BYTES;
  }
  const { head, tail } = envelope(total);
  yield asBuffer(head);
  // Each piece is released as soon as it is handed over, so memory falls as the body is written.
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    pieces[i] = NO_BYTES;
    yield asBuffer(piece);
  }
  yield asBuffer(tail);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What streamList needs to know about one kind of list (nodes or pods). */
export interface ListKind<I> {
  listKind: "NodeMetricsList" | "PodMetricsList";
  /** Items [from, to) of the selection that have metrics. */
  batch(from: number, to: number): I[];
  tableItem(ctx: ObjectContext, item: I, swap: boolean): TableItem;
  /** Writes one item's JSON (the bytes of its object served alone). */
  writeJSON(w: JsonWriter, b: JsonBytesContext, item: I): void;
  /** The encoder's batch method for these items, if it has one. */
  encodeItems(
    encoder: ProtobufEncoder | undefined,
  ): ((c: ProtoItemsContext, items: readonly I[]) => readonly Uint8Array[]) | undefined;
}

/**
 * A NodeMetricsList / PodMetricsList in chunks, in any format; metrics are read per chunk (see
 * above). Undefined when the format cannot be streamed (an encoder without batch support).
 */
export function streamList<I>(
  deps: MetricsApiDeps,
  req: ApiRequest,
  format: ObjectFormat,
  now: number,
  count: number,
  kind: ListKind<I>,
): ApiResponse | undefined {
  const swap = deps.swapUsage === true;
  const ctx = objectContext(now, swap);
  if (format.representation === "table") {
    const include = parseIncludeObject(req.query.get("includeObject"));
    if (typeof include !== "string") return include;
    const table = new TableWriter(format.version, include);
    return {
      status: 200,
      contentType: JSON_CONTENT_TYPE,
      body: "",
      chunks: tableChunks(count, table, (from, to) =>
        kind.batch(from, to).map((item) => kind.tableItem(ctx, item, swap)),
      ),
    };
  }
  if (format.representation === "protobuf") {
    const encodeItems = kind.encodeItems(deps.protobuf);
    const encodeListEnvelope = deps.protobuf?.encodeListEnvelope;
    const listItemsContext = deps.protobuf?.listItemsContext;
    if (!encodeItems || !encodeListEnvelope || !listItemsContext) return undefined;
    const itemsContext = listItemsContext(now, swap);
    return protobufChunksResponse(
      bufferedListChunks(
        count,
        (from, to) => encodeItems(itemsContext, kind.batch(from, to)),
        (length) => encodeListEnvelope(kind.listKind, length),
      ),
    );
  }
  const bytesContext = jsonBytesContext(ctx);
  const writeBatch = (w: JsonWriter, from: number, to: number, wroteItem: boolean): boolean => {
    let wrote = wroteItem;
    for (const item of kind.batch(from, to)) {
      if (wrote) writeItemSeparator(w);
      kind.writeJSON(w, bytesContext, item);
      wrote = true;
    }
    return wrote;
  };
  return {
    status: 200,
    contentType: JSON_CONTENT_TYPE,
    body: listHeadJSON(kind.listKind),
    chunks: jsonListChunks(count, writeBatch, ITEMS_PER_CHUNK),
  };
}

/** A Table list's text, one batch of rows per chunk (an empty chunk still lets other requests run). */
function* tableChunks(
  count: number,
  table: TableWriter,
  rowsOf: (from: number, to: number) => TableItem[],
): Generator<string, void, undefined> {
  for (let from = 0; from < count; from += ITEMS_PER_CHUNK) {
    yield table.add(rowsOf(from, Math.min(count, from + ITEMS_PER_CHUNK)));
  }
  yield table.end();
}
