// NodeMetrics / PodMetrics (metrics.k8s.io/v1beta1) in Kubernetes protobuf, the body a Go apiserver
// sends for `Accept: application/vnd.kubernetes.protobuf`:
//
//   "k8s\x00" + runtime.Unknown{typeMeta=1{apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4}
//
// with `raw` the object itself. Field numbers follow k8s.io/metrics v1beta1 generated.proto and
// apimachinery's meta/v1, runtime and resource generated.proto. What gogo-protobuf's generated
// Marshal code emits, and so what we emit:
// - Fields in field-number order; map entries {key=1, value=2} sorted by key (Go byte order).
// - Non-pointer fields always, even when empty/zero: every ObjectMeta string (name, generateName,
//   namespace, selfLink, uid, resourceVersion, clusterName=15), generation=7 as 0, ListMeta's
//   selfLink/resourceVersion/continue, Timestamp's seconds and nanos, Duration's duration, and the
//   Unknown's empty contentEncoding/contentType. Maps and repeated fields only when non-empty.
// - metav1.Time is {seconds=1, nanos=2} with nanos always 0 (Go drops them); the zero time (JSON
//   null) is an empty message.
// - resource.Quantity is {string=1} holding the canonical text, which is what the JSON carries.
// Known difference: durations and times are held as JS numbers, so a window longer than 2^53 ns
// (about 104 days) is rounded to a few nanoseconds where Go keeps it exact.
//
// Speed: one forward pass into a growable buffer (proto-writer.ts); time and duration texts are
// parsed once per distinct text (bench/micro/metrics-api-lists.ts times it). Large lists are served
// in batches instead (encodeListEnvelope below).

import { parseGoDurationNs } from "../go/index.ts";
import type { ProtobufEncoder } from "./deps.ts";
import {
  METRICS_API_VERSION,
  type MetricsObjectMetaJSON,
  type NodeMetricsJSON,
  type NodeMetricsListJSON,
  type PodMetricsJSON,
  type PodMetricsListJSON,
} from "./objects.ts";
import { LEN, ProtoWriter, TWO_32, tag, VARINT } from "./proto-writer.ts";

type StringMap = Readonly<Record<string, string>>;

/**
 * The ListMeta fields protobuf can carry. The lists we serve have none set (ListMetaJSON is `{}`),
 * but whatever a caller does set is written rather than dropped.
 */
interface ListMetaFields {
  readonly selfLink?: string;
  readonly resourceVersion?: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

// ---------------------------------------------------------------------------------------------
// JSON text → numbers

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Remembers recent parses: the items of one response share a handful of texts (creation time,
 * scrape times, windows), and parsing each of 150,000 items anew would dominate the encoding.
 */
class ParseCache {
  private readonly entries = new Map<string, number>();
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get(text: string, parse: (text: string) => number): number {
    const cached = this.entries.get(text);
    if (cached !== undefined) return cached;
    const value = parse(text);
    // Dropping everything when full keeps the cache bounded with no bookkeeping per hit.
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(text, value);
    return value;
  }
}

const timeCache = new ParseCache(256);
const durationCache = new ParseCache(4096);

/** Unix seconds of an RFC 3339 time, fraction dropped (Go's Time.Unix()). Throws on bad text. */
function timeSeconds(text: string): number {
  return timeCache.get(text, parseTimeSeconds);
}

function parseTimeSeconds(text: string): number {
  const m = RFC3339.exec(text);
  if (m === null) throw new TypeError(`invalid RFC 3339 time ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (
    month < 1 ||
    month > 12 ||
    date.getUTCDate() !== day ||
    date.getUTCMonth() !== month - 1 ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new TypeError(`invalid RFC 3339 time ${JSON.stringify(text)}: field out of range`);
  }
  let seconds = date.getTime() / 1000;
  if (m[7] !== undefined) {
    const offset = Number(m[8]) * 3600 + Number(m[9]) * 60;
    seconds += m[7] === "+" ? -offset : offset;
  }
  return seconds;
}

/** Nanoseconds of a Go duration string ("15.006s", "1m0.5s", "-2h", "0"), as time.ParseDuration. */
function durationNanos(text: string): number {
  return durationCache.get(text, parseDurationNanos);
}

function parseDurationNanos(text: string): number {
  let ns: bigint;
  try {
    ns = parseGoDurationNs(text);
  } catch {
    throw new TypeError(`invalid Go duration ${JSON.stringify(text)}`);
  }
  return Number(ns);
}

// ---------------------------------------------------------------------------------------------
// Messages

/** Go's sort.Strings order: UTF-8 byte order, which differs from UTF-16 order only above U+D7FF. */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates stand for code points above U+FFFF, whose UTF-8 sorts after U+E000..U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

function sortedKeys(map: StringMap): string[] {
  const keys = Object.keys(map);
  for (let i = 1; i < keys.length; i++) {
    if (compareUtf8(keys[i - 1], keys[i]) > 0) return keys.sort(compareUtf8);
  }
  return keys;
}

/** map<string, string> (labels). */
function writeStringMap(w: ProtoWriter, field: number, map: StringMap | undefined): void {
  if (!map) return;
  const entryTag = tag(field, LEN);
  for (const key of sortedKeys(map)) {
    const entry = w.begin(entryTag);
    w.string(tag(1, LEN), key);
    w.string(tag(2, LEN), map[key]);
    w.end(entry);
  }
}

/** map<string, resource.Quantity> (usage). */
function writeQuantityMap(w: ProtoWriter, field: number, map: StringMap | undefined): void {
  if (!map) return;
  const entryTag = tag(field, LEN);
  for (const key of sortedKeys(map)) {
    const entry = w.begin(entryTag);
    w.string(tag(1, LEN), key);
    const quantity = w.begin(tag(2, LEN));
    w.string(tag(1, LEN), map[key]);
    w.end(quantity);
    w.end(entry);
  }
}

/** meta/v1 Time {seconds=1, nanos=2}; JSON null (the zero time) is an empty message. */
function writeTime(w: ProtoWriter, field: number, text: string | null | undefined): void {
  const time = w.begin(tag(field, LEN));
  if (text !== null && text !== undefined) {
    w.int64(tag(1, VARINT), timeSeconds(text));
    w.int64(tag(2, VARINT), 0);
  }
  w.end(time);
}

function writeObjectMeta(w: ProtoWriter, field: number, meta: MetricsObjectMetaJSON | undefined): void {
  const m = w.begin(tag(field, LEN));
  w.string(tag(1, LEN), meta?.name ?? "");
  w.string(tag(2, LEN), ""); // generateName
  w.string(tag(3, LEN), meta?.namespace ?? "");
  w.string(tag(4, LEN), ""); // selfLink
  w.string(tag(5, LEN), ""); // uid
  w.string(tag(6, LEN), ""); // resourceVersion
  w.int64(tag(7, VARINT), 0); // generation
  writeTime(w, 8, meta?.creationTimestamp ?? null);
  writeStringMap(w, 11, meta?.labels);
  w.string(tag(15, LEN), ""); // the deprecated clusterName
  w.end(m);
}

function writeListMeta(w: ProtoWriter, field: number, meta: ListMetaFields | undefined): void {
  const m = w.begin(tag(field, LEN));
  w.string(tag(1, LEN), meta?.selfLink ?? "");
  w.string(tag(2, LEN), meta?.resourceVersion ?? "");
  w.string(tag(3, LEN), meta?.continue ?? "");
  if (meta?.remainingItemCount !== undefined) w.int64(tag(4, VARINT), meta.remainingItemCount);
  w.end(m);
}

/** Fields 1-3 shared by NodeMetrics and PodMetrics. */
function writeMetricsHeader(w: ProtoWriter, o: NodeMetricsJSON | PodMetricsJSON): void {
  writeObjectMeta(w, 1, o.metadata);
  writeTime(w, 2, o.timestamp);
  const window = w.begin(tag(3, LEN));
  w.int64(tag(1, VARINT), durationNanos(o.window));
  w.end(window);
}

function writeNodeMetrics(w: ProtoWriter, o: NodeMetricsJSON): void {
  writeMetricsHeader(w, o);
  writeQuantityMap(w, 4, o.usage);
}

function writePodMetrics(w: ProtoWriter, o: PodMetricsJSON): void {
  writeMetricsHeader(w, o);
  for (const c of o.containers ?? []) {
    const container = w.begin(tag(4, LEN));
    w.string(tag(1, LEN), c.name);
    writeQuantityMap(w, 2, c.usage);
    w.end(container);
  }
}

const MAGIC = new Uint8Array([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

/** The protobuf envelope around one object whose fields `writeBody` writes. */
function envelope(kind: string, capacity: number, writeBody: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter(capacity);
  w.bytes(MAGIC);
  const typeMeta = w.begin(tag(1, LEN));
  w.string(tag(1, LEN), METRICS_API_VERSION);
  w.string(tag(2, LEN), kind);
  w.end(typeMeta);
  const raw = w.begin(tag(2, LEN));
  writeBody(w);
  w.end(raw);
  w.string(tag(3, LEN), ""); // contentEncoding
  w.string(tag(4, LEN), ""); // contentType
  return w.finish();
}

// Initial buffer sizes: a typical item is 150-300 bytes; the buffer doubles when that is not enough.
const ITEM_CAPACITY = 256;

/** A NodeMetrics as a Kubernetes protobuf body. Throws TypeError on a malformed timestamp or window. */
export function encodeNodeMetrics(o: NodeMetricsJSON): Uint8Array {
  return envelope("NodeMetrics", 1024, (w) => writeNodeMetrics(w, o));
}

/** A NodeMetricsList as a Kubernetes protobuf body. Throws TypeError on a malformed timestamp or window. */
export function encodeNodeMetricsList(o: NodeMetricsListJSON): Uint8Array {
  const items = o.items ?? [];
  return envelope("NodeMetricsList", 1024 + items.length * ITEM_CAPACITY, (w) => {
    writeListMeta(w, 1, o.metadata);
    for (const item of items) {
      const m = w.begin(tag(2, LEN));
      writeNodeMetrics(w, item);
      w.end(m);
    }
  });
}

/** A PodMetrics as a Kubernetes protobuf body. Throws TypeError on a malformed timestamp or window. */
export function encodePodMetrics(o: PodMetricsJSON): Uint8Array {
  return envelope("PodMetrics", 1024, (w) => writePodMetrics(w, o));
}

/** A PodMetricsList as a Kubernetes protobuf body. Throws TypeError on a malformed timestamp or window. */
export function encodePodMetricsList(o: PodMetricsListJSON): Uint8Array {
  const items = o.items ?? [];
  return envelope("PodMetricsList", 1024 + items.length * ITEM_CAPACITY, (w) => {
    writeListMeta(w, 1, o.metadata);
    for (const item of items) {
      const m = w.begin(tag(2, LEN));
      writePodMetrics(w, item);
      w.end(m);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Lists encoded in batches. The envelope's `raw` field and its length prefix come before the items,
// so a large list is encoded as separate item batches first; once their total length is known, the
// head below is written, then the batches as they are, then the tail. Concatenated, the bytes are
// exactly those of encodeNodeMetricsList / encodePodMetricsList with empty list metadata.

/** The kinds of list that can be encoded in batches. */
export type MetricsListKind = "NodeMetricsList" | "PodMetricsList";

function encodeListItems<T>(items: readonly T[], write: (w: ProtoWriter, item: T) => void): Uint8Array {
  const w = new ProtoWriter(items.length * ITEM_CAPACITY);
  for (const item of items) {
    const m = w.begin(tag(2, LEN));
    write(w, item);
    w.end(m);
  }
  // A batch is kept until the whole list is encoded: an exact-size copy keeps the writer's spare
  // capacity (up to half of its buffer) from being held with it.
  return w.buf.slice(0, w.pos);
}

/** NodeMetrics as a list's consecutive `items` fields. Throws TypeError on a malformed timestamp or window. */
export function encodeNodeMetricsListItems(items: readonly NodeMetricsJSON[]): Uint8Array {
  return encodeListItems(items, writeNodeMetrics);
}

/** PodMetrics as a list's consecutive `items` fields. Throws TypeError on a malformed timestamp or window. */
export function encodePodMetricsListItems(items: readonly PodMetricsJSON[]): Uint8Array {
  return encodeListItems(items, writePodMetrics);
}

const EMPTY_LIST_META = (() => {
  const w = new ProtoWriter(16);
  writeListMeta(w, 1, undefined);
  return w.buf.slice(0, w.pos);
})();

/**
 * The bytes before and after a list's items (empty list metadata, as the lists we serve have),
 * given the total length of the items as encodeNodeMetricsListItems / encodePodMetricsListItems
 * produce them.
 */
export function encodeListEnvelope(
  kind: MetricsListKind,
  itemsByteLength: number,
): { head: Uint8Array; tail: Uint8Array } {
  const rawLength = EMPTY_LIST_META.length + itemsByteLength;
  if (!Number.isInteger(itemsByteLength) || itemsByteLength < 0 || rawLength >= TWO_32) {
    throw new RangeError(`list items length ${itemsByteLength} is not a length this encoder can write`);
  }
  const w = new ProtoWriter(64);
  w.bytes(MAGIC);
  const typeMeta = w.begin(tag(1, LEN));
  w.string(tag(1, LEN), METRICS_API_VERSION);
  w.string(tag(2, LEN), kind);
  w.end(typeMeta);
  w.bytes(new Uint8Array([tag(2, LEN)]));
  w.uvarint(rawLength);
  w.bytes(EMPTY_LIST_META);
  const head = w.buf.slice(0, w.pos);
  const t = new ProtoWriter(8);
  t.string(tag(3, LEN), ""); // contentEncoding
  t.string(tag(4, LEN), ""); // contentType
  return { head, tail: t.buf.slice(0, t.pos) };
}

/** The encoders as MetricsApiDeps.protobuf takes them. */
export const protobufEncoder: ProtobufEncoder = {
  encodeNodeMetrics,
  encodeNodeMetricsList,
  encodePodMetrics,
  encodePodMetricsList,
  encodeNodeMetricsListItems,
  encodePodMetricsListItems,
  encodeListEnvelope,
};
