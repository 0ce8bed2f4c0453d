// The items of a streamed list written as JSON bytes straight into one Buffer per chunk: the same
// bytes as nodeMetricsJSON / podMetricsJSON (objects.ts) encoded as UTF-8, without building a string
// per item, a rope per chunk and a UTF-8 copy of it on the way out (at 150,000 pods that was about
// half of a list's CPU). Names that Go writes as they are (printable ASCII other than " \ < > &) are
// copied a character per byte; any other name goes through goJSONString and a UTF-8 write.

import { formatCpu, formatMemory, goJSONString, labelsJSON } from "../go/index.ts";
import type { NodeMetricsPoint, PodMetricsPoint } from "../storage/index.ts";
import { formatWindow, LIST_TAIL_JSON, METRICS_API_VERSION, type ObjectContext } from "./objects.ts";
import { writeCpuText, writeMemoryText } from "./quantity-bytes.ts";
import { formatTimestamp } from "./timestamp.ts";

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

// A response's items share few distinct times and windows (one per node scrape); bounded per response.
const TIME_TEXTS_LIMIT = 16_384;

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
  /** timestampMs → `"<RFC 3339>"` or `null`. */
  timestamps: Map<number, Uint8Array>;
  /** windowMs → `,"window":"<Go duration>"`. */
  windows: Map<number, Uint8Array>;
}

export function jsonBytesContext(ctx: ObjectContext): JsonBytesContext {
  return {
    ctx,
    creationTimestamp: utf8(ctx.creationTimestampJSON),
    timestamps: new Map(),
    windows: new Map(),
  };
}

/** A growable byte buffer of JSON text; `finish()` hands the bytes over and starts afresh. */
export class JsonWriter {
  buf: Buffer;
  pos = 0;
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.buf = Buffer.allocUnsafe(capacity);
  }

  ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  bytes(data: Uint8Array): void {
    const n = data.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    // Constants here are tens of bytes: a loop beats a native set() call.
    for (let i = 0; i < n; i++) buf[p++] = data[i];
    this.pos = p;
  }

  /** Text known to be ASCII needing no escapes (quantities). */
  ascii(text: string): void {
    const n = text.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = text.charCodeAt(i);
    this.pos = p;
  }

  /** Any text, as UTF-8. */
  text(text: string): void {
    this.ensure(3 * text.length);
    this.pos += this.buf.write(text, this.pos, "utf8");
  }

  /** A JSON string literal, as goJSONString writes it. */
  string(s: string): void {
    const n = s.length;
    this.ensure(n + 2);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || PLAIN[c] === 0) {
        this.pos = start;
        this.text(goJSONString(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.pos = p;
  }

  /** The bytes written since the last finish(); the next ones go to a new buffer. */
  finish(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.#capacity);
    this.pos = 0;
    return out;
  }
}

function writeLabels(w: JsonWriter, labels: Readonly<Record<string, string>> | undefined): void {
  if (!labels) return;
  const bytes = labelsBytes(labels);
  if (bytes.length === 0) return;
  w.bytes(LABELS);
  w.bytes(bytes);
}

/** `},"timestamp":…,"window":"…"` (closing the metadata), as timeFieldsJSON in objects.ts. */
function writeTimeFields(w: JsonWriter, b: JsonBytesContext, timestampMs: number, windowMs: number): void {
  w.bytes(TIMESTAMP);
  let timestamp = b.timestamps.get(timestampMs);
  if (timestamp === undefined) {
    const text = formatTimestamp(timestampMs);
    timestamp = text === null ? NULL : utf8(`"${text}"`);
    if (b.timestamps.size >= TIME_TEXTS_LIMIT) b.timestamps.clear();
    b.timestamps.set(timestampMs, timestamp);
  }
  w.bytes(timestamp);
  let window = b.windows.get(windowMs);
  if (window === undefined) {
    // The window can hold a non-ASCII µ ("500µs"): kept as UTF-8.
    window = utf8(`,"window":"${formatWindow(windowMs)}"`);
    if (b.windows.size >= TIME_TEXTS_LIMIT) b.windows.clear();
    b.windows.set(windowMs, window);
  }
  w.bytes(window);
}

/** A quantity's text (at most 20 bytes on the fast path, else formatCpu / formatMemory's). */
function writeQuantity(
  w: JsonWriter,
  value: number,
  writeText: (buf: Uint8Array, pos: number, value: number) => number,
  format: (value: number) => string,
): void {
  w.ensure(20);
  const end = writeText(w.buf, w.pos, value);
  if (end < 0) w.ascii(format(value));
  else w.pos = end;
}

function writeUsage(w: JsonWriter, cpuNanocores: number, memoryBytes: number, swapBytes?: number): void {
  writeQuantity(w, cpuNanocores, writeCpuText, formatCpu);
  w.bytes(MEMORY);
  writeQuantity(w, memoryBytes, writeMemoryText, formatMemory);
  if (swapBytes !== undefined) {
    w.bytes(SWAP);
    writeQuantity(w, swapBytes, writeMemoryText, formatMemory);
  }
  w.ensure(2);
  w.buf[w.pos++] = 0x22; // "
  w.buf[w.pos++] = 0x7d; // }
}

/** One PodMetrics: the bytes of podMetricsJSON(ctx, namespace, name, labelsJSON(labels), point). */
export function writePodMetricsJSON(
  w: JsonWriter,
  b: JsonBytesContext,
  namespace: string,
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
  point: PodMetricsPoint,
): void {
  w.bytes(POD_HEAD);
  w.string(name);
  w.bytes(NAMESPACE);
  w.string(namespace);
  w.bytes(CREATION_TIMESTAMP);
  w.bytes(b.creationTimestamp);
  writeLabels(w, labels);
  writeTimeFields(w, b, point.timestampMs, point.windowMs);
  w.bytes(CONTAINERS);
  const swap = b.ctx.includeSwap;
  const list = point.containers;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (i > 0) writeItemSeparator(w);
    w.bytes(CONTAINER_NAME);
    w.string(c.name);
    w.bytes(USAGE_CPU);
    writeUsage(w, c.cpuNanocores, c.memoryBytes, swap ? c.swapBytes : undefined);
    w.ensure(1);
    w.buf[w.pos++] = 0x7d; // }
  }
  w.ensure(2);
  w.buf[w.pos++] = 0x5d; // ]
  w.buf[w.pos++] = 0x7d; // }
}

/** One NodeMetrics: the bytes of nodeMetricsJSON(ctx, name, labelsJSON(labels), point). */
export function writeNodeMetricsJSON(
  w: JsonWriter,
  b: JsonBytesContext,
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
  point: NodeMetricsPoint,
): void {
  w.bytes(NODE_HEAD);
  w.string(name);
  w.bytes(CREATION_TIMESTAMP);
  w.bytes(b.creationTimestamp);
  writeLabels(w, labels);
  writeTimeFields(w, b, point.timestampMs, point.windowMs);
  w.bytes(USAGE_CPU);
  writeUsage(w, point.cpuNanocores, point.memoryBytes, b.ctx.includeSwap ? point.swapBytes : undefined);
  w.ensure(1);
  w.buf[w.pos++] = 0x7d; // }
}

/** Bytes per chunk to start with: a chunk of pod items is ~110 KB (the writer grows past it). */
const CHUNK_CAPACITY = 128 * 1024;

/**
 * The body of a list after its head, as listChunks (stream.ts) but in bytes: `writeItem(w, i)`
 * writes item i, or nothing and returns false when it is not served; items are joined by commas and
 * the last chunk ends with the list's tail. Nothing is written until the iterator is advanced.
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
    yield w.finish();
  }
  if (count <= 0) {
    w.bytes(LIST_TAIL);
    yield w.finish();
  }
}

/** A comma before every item but the list's first. */
export function writeItemSeparator(w: JsonWriter): void {
  w.ensure(1);
  w.buf[w.pos++] = 0x2c;
}
