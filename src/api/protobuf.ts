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

import type { ProtobufEncoder } from "./deps.ts";
import {
  METRICS_API_VERSION,
  type MetricsObjectMetaJSON,
  type NodeMetricsJSON,
  type NodeMetricsListJSON,
  type PodMetricsJSON,
  type PodMetricsListJSON,
} from "./objects.ts";
import { durationNanos, writeQuantityMap, writeStringMap, writeTime } from "./proto-fields.ts";
import { LEN, ProtoWriter, TWO_32, tag, VARINT } from "./proto-writer.ts";
import { encodeNodeItems, encodePodItems, protoItemsContext } from "./protobuf-items.ts";

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
// so a large list's items are encoded in batches first (protobuf-items.ts); once their total length
// is known, the head below is written, then the batches as they are, then the tail. Concatenated,
// the bytes are exactly those of encodeNodeMetricsList / encodePodMetricsList with empty list
// metadata.

/** The kinds of list that can be encoded in batches. */
export type MetricsListKind = "NodeMetricsList" | "PodMetricsList";

const EMPTY_LIST_META = (() => {
  const w = new ProtoWriter(16);
  writeListMeta(w, 1, undefined);
  return w.copy();
})();

/**
 * The bytes before and after a list's items (empty list metadata, as the lists we serve have),
 * given the total length of the items (each an `items` field, as in a one-shot list).
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
  const head = w.copy();
  const t = new ProtoWriter(8);
  t.string(tag(3, LEN), ""); // contentEncoding
  t.string(tag(4, LEN), ""); // contentType
  return { head, tail: t.copy() };
}

/** The encoders as MetricsApiDeps.protobuf takes them. */
export const protobufEncoder: ProtobufEncoder = {
  encodeNodeMetrics,
  encodeNodeMetricsList,
  encodePodMetrics,
  encodePodMetricsList,
  listItemsContext: protoItemsContext,
  encodeNodeListItems: encodeNodeItems,
  encodePodListItems: encodePodItems,
  encodeListEnvelope,
};
