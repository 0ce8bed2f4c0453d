// The items of a streamed list written as JSON bytes straight into one Buffer per chunk: the same
// bytes as nodeMetricsJSON / podMetricsJSON (objects.ts) encoded as UTF-8, without building a string
// per item, a rope per chunk and a UTF-8 copy of it on the way out (at 150,000 pods that was about
// half of a list's CPU). Names that Go writes as they are (printable ASCII other than " \ < > &) are
// copied a character per byte; any other name goes through goJSONString and a UTF-8 write.

import {
  formatCpu,
  formatMemory,
  formatTimestamp,
  goJSONString,
  labelsJSON,
  writeCpuText,
  writeMemoryText,
} from "../go/index.ts";
import type { NodeMetricsPoint, PodMetricsPoint } from "../storage/index.ts";
import { NumberKeyedBytes } from "./number-cache.ts";
import { formatWindow, LIST_TAIL_JSON, METRICS_API_VERSION, type ObjectContext } from "./objects.ts";

/** 1 for the ASCII characters Go's encoder writes inside a string unescaped. */
const PLAIN = new Uint8Array(128);
for (let c = 0x20; c < 0x7f; c++) PLAIN[c] = 1;
for (const c of '"\\<>&') PLAIN[c.charCodeAt(0)] = 0;

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "utf8"));

// Label maps are immutable in the reflector caches (an update replaces the object): their bytes are
// kept per map, as labelsJSON keeps their text.
const labelsBytesCache = new WeakMap<object, Uint8Array>();

function labelsBytes(labels: Readonly<Record<string, string>>): Uint8Array {
  let bytes = labelsBytesCache.get(labels);
  if (bytes === undefined) {
    bytes = utf8(labelsJSON(labels));
    labelsBytesCache.set(labels, bytes);
  }
  return bytes;
}

const POD_HEAD = utf8(`{"kind":"PodMetrics","apiVersion":"${METRICS_API_VERSION}","metadata":{"name":`);
const NODE_HEAD = utf8(`{"kind":"NodeMetrics","apiVersion":"${METRICS_API_VERSION}","metadata":{"name":`);
const NAMESPACE = utf8(`,"namespace":`);
const CREATION_TIMESTAMP = utf8(`,"creationTimestamp":`);
const LABELS = utf8(`,"labels":`);
const TIMESTAMP = utf8(`},"timestamp":`);
const CONTAINERS = utf8(`,"containers":[`);
const CONTAINER_NAME = utf8(`{"name":`);
const USAGE_CPU = utf8(`,"usage":{"cpu":"`);
const MEMORY = utf8(`","memory":"`);
const SWAP = utf8(`","swap":"`);
const NULL = utf8("null");
const LIST_TAIL = utf8(LIST_TAIL_JSON);

/** Per-response state of the byte writer: the request's texts, as bytes, and the time texts seen. */
export interface JsonBytesContext {
  ctx: ObjectContext;
  creationTimestamp: Uint8Array;
  /** timestampMs → `"<RFC 3339>"` or `null`, as timeFieldsJSON in objects.ts writes it. */
  timestamps: NumberKeyedBytes;
  /** windowMs → `,"window":"<Go duration>"`. */
  windows: NumberKeyedBytes;
}

export function jsonBytesContext(ctx: ObjectContext): JsonBytesContext {
  return {
    ctx,
    creationTimestamp: utf8(ctx.creationTimestampJSON),
    timestamps: new NumberKeyedBytes((ms) => {
      const text = formatTimestamp(ms);
      return text === null ? NULL : utf8(`"${text}"`);
    }),
    // The window can hold a non-ASCII µ ("500µs"): kept as UTF-8.
    windows: new NumberKeyedBytes((ms) => utf8(`,"window":"${formatWindow(ms)}"`)),
  };
}

/**
 * JSON text in buffers of a fixed size: when the next piece does not fit, the bytes so far are set
 * aside whole and a new buffer is started (a piece is never split). `finish()` hands them all over.
 */
export class JsonWriter {
  buf: Buffer;
  pos = 0;
  readonly #capacity: number;
  #full: Buffer[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Room for `extra` more bytes at pos (in a new buffer if need be). */
  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    if (this.pos > 0) this.#full.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(this.#capacity, extra));
    this.pos = 0;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.pos = put(this.buf, this.pos, data);
  }

  /** Every buffer written since the last finish(), at least one (maybe empty); starts afresh. */
  finish(): Buffer[] {
    const out = this.#full;
    out.push(this.buf.subarray(0, this.pos));
    this.#full = [];
    this.buf =
      this.buf.length - this.pos >= MIN_SPARE
        ? this.buf.subarray(this.pos)
        : Buffer.allocUnsafe(this.#capacity);
    this.pos = 0;
    return out;
  }
}

// The put* functions write at buf[p..] without checking for room (an item's writer ensures room for
// its longest possible text first) and return the end.

/** Bytes; constants here are tens of bytes, where a loop beats a native set() call. */
function put(buf: Buffer, p: number, data: Uint8Array): number {
  const n = data.length;
  for (let i = 0; i < n; i++) buf[p + i] = data[i];
  return p + n;
}

/** Longest text putString writes per UTF-16 unit of its input (`\u2028`), besides the quotes. */
const STRING_BYTES_PER_UNIT = 6;

/** A JSON string literal, as goJSONString writes it. */
/** What pod and node items share after the name: creationTimestamp, labels (if any), timestamp, window. */
function putItemMeta(
  buf: Buffer,
  p: number,
  b: JsonBytesContext,
  labelBytes: Uint8Array,
  timestamp: Uint8Array,
  window: Uint8Array,
): number {
  p = put(buf, p, CREATION_TIMESTAMP);
  p = put(buf, p, b.creationTimestamp);
  if (labelBytes.length > 0) {
    p = put(buf, p, LABELS);
    p = put(buf, p, labelBytes);
  }
  p = put(buf, p, TIMESTAMP);
  p = put(buf, p, timestamp);
  return put(buf, p, window);
}

function putString(buf: Buffer, p: number, s: string): number {
  const n = s.length;
  buf[p] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || PLAIN[c] === 0) return p + buf.write(goJSONString(s), p, "utf8");
    buf[p + 1 + i] = c;
  }
  buf[p + 1 + n] = 0x22;
  return p + n + 2;
}

/** Longest quantity text: the fast path writes at most 20 bytes, formatCpu's fallback about 30. */
const QUANTITY_BYTES = 40;

/** A quantity's text (formatCpu / formatMemory's). */
function putQuantity(
  buf: Buffer,
  p: number,
  value: number,
  writeText: (buf: Uint8Array, pos: number, value: number) => number,
  format: (value: number) => string,
): number {
  const end = writeText(buf, p, value);
  if (end >= 0) return end;
  const text = format(value);
  for (let i = 0; i < text.length; i++) buf[p + i] = text.charCodeAt(i);
  return p + text.length;
}

const NO_BYTES = new Uint8Array(0);

function labelsOf(labels: Readonly<Record<string, string>> | undefined): Uint8Array {
  return labels ? labelsBytes(labels) : NO_BYTES;
}

/** `"cpu":"…","memory":"…"[,"swap":"…"]}` after USAGE_CPU's opening quote. */
function putUsage(
  buf: Buffer,
  p: number,
  cpuNanocores: number,
  memoryBytes: number,
  swapBytes?: number,
): number {
  p = putQuantity(buf, p, cpuNanocores, writeCpuText, formatCpu);
  p = put(buf, p, MEMORY);
  p = putQuantity(buf, p, memoryBytes, writeMemoryText, formatMemory);
  if (swapBytes !== undefined) {
    p = put(buf, p, SWAP);
    p = putQuantity(buf, p, swapBytes, writeMemoryText, formatMemory);
  }
  buf[p] = 0x22; // "
  buf[p + 1] = 0x7d; // }
  return p + 2;
}

// Room for an item's fixed text: every constant it may write, generously rounded up.
const ITEM_FIXED_BYTES = 256;
const CONTAINER_FIXED_BYTES = 64 + 3 * QUANTITY_BYTES;

/** One PodMetrics: the bytes of podMetricsJSON(ctx, namespace, name, labelsJSON(labels), point). */
export function writePodMetricsJSON(
  w: JsonWriter,
  b: JsonBytesContext,
  namespace: string,
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
  point: PodMetricsPoint,
): void {
  const labelBytes = labelsOf(labels);
  const timestamp = b.timestamps.get(point.timestampMs);
  const window = b.windows.get(point.windowMs);
  const list = point.containers;
  let room =
    ITEM_FIXED_BYTES +
    STRING_BYTES_PER_UNIT * (name.length + namespace.length) +
    b.creationTimestamp.length +
    labelBytes.length +
    timestamp.length +
    window.length;
  for (let i = 0; i < list.length; i++)
    room += CONTAINER_FIXED_BYTES + STRING_BYTES_PER_UNIT * list[i].name.length;
  w.ensure(room);
  const buf = w.buf;
  let p = put(buf, w.pos, POD_HEAD);
  p = putString(buf, p, name);
  p = put(buf, p, NAMESPACE);
  p = putString(buf, p, namespace);
  p = putItemMeta(buf, p, b, labelBytes, timestamp, window);
  p = put(buf, p, CONTAINERS);
  const swap = b.ctx.includeSwap;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (i > 0) buf[p++] = 0x2c; // ,
    p = put(buf, p, CONTAINER_NAME);
    p = putString(buf, p, c.name);
    p = put(buf, p, USAGE_CPU);
    p = putUsage(buf, p, c.cpuNanocores, c.memoryBytes, swap ? c.swapBytes : undefined);
    buf[p++] = 0x7d; // }
  }
  buf[p] = 0x5d; // ]
  buf[p + 1] = 0x7d; // }
  w.pos = p + 2;
}

/** One NodeMetrics: the bytes of nodeMetricsJSON(ctx, name, labelsJSON(labels), point). */
export function writeNodeMetricsJSON(
  w: JsonWriter,
  b: JsonBytesContext,
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
  point: NodeMetricsPoint,
): void {
  const labelBytes = labelsOf(labels);
  const timestamp = b.timestamps.get(point.timestampMs);
  const window = b.windows.get(point.windowMs);
  w.ensure(
    ITEM_FIXED_BYTES +
      CONTAINER_FIXED_BYTES +
      STRING_BYTES_PER_UNIT * name.length +
      b.creationTimestamp.length +
      labelBytes.length +
      timestamp.length +
      window.length,
  );
  const buf = w.buf;
  let p = put(buf, w.pos, NODE_HEAD);
  p = putString(buf, p, name);
  p = putItemMeta(buf, p, b, labelBytes, timestamp, window);
  p = put(buf, p, USAGE_CPU);
  p = putUsage(
    buf,
    p,
    point.cpuNanocores,
    point.memoryBytes,
    b.ctx.includeSwap ? point.swapBytes : undefined,
  );
  buf[p] = 0x7d; // }
  w.pos = p + 1;
}

// Buffers stay under the launcher's MALLOC_MMAP_THRESHOLD_ (64 KiB, bin/metrics-server): larger
// ones would each be a fresh mmap, page-faulted in and unmapped again, 1,000 times per large list.
const CHUNK_CAPACITY = 63 * 1024;
// The rest of a buffer is used for the next chunk when at least this much is left.
const MIN_SPARE = 16 * 1024;

/**
 * The body of a list after its head, in bytes: `writeBatch` writes the served items of [from, to),
 * a comma before each unless it is the list's first, and says whether the list now has an item;
 * the last chunk ends with the list's tail. A batch may come as
 * more than one chunk (see JsonWriter). Nothing is written until the iterator is advanced.
 */
export function* jsonListChunks(
  count: number,
  writeBatch: (w: JsonWriter, from: number, to: number, wroteItem: boolean) => boolean,
  itemsPerChunk: number,
): Generator<Buffer, void, undefined> {
  const w = new JsonWriter(CHUNK_CAPACITY);
  let wroteItem = false;
  for (let from = 0; from < count; from += itemsPerChunk) {
    const to = Math.min(count, from + itemsPerChunk);
    if (writeBatch(w, from, to, wroteItem)) wroteItem = true;
    if (to === count) w.bytes(LIST_TAIL);
    // An empty chunk still gives the server a point to let other requests run.
    yield* w.finish();
  }
  if (count <= 0) {
    w.bytes(LIST_TAIL);
    yield* w.finish();
  }
}

/** A comma before every item but the list's first. */
export function writeItemSeparator(w: JsonWriter): void {
  w.ensure(1);
  w.buf[w.pos++] = 0x2c;
}
