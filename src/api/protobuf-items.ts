// A large list's items in Kubernetes protobuf, written straight from the store's points: the same
// bytes as the items of encodePodMetricsList / encodeNodeMetricsList (protobuf.ts) of the objects
// podMetricsObject / nodeMetricsObject (objects.ts) would build, without building them and parsing
// their time and duration texts back. What repeats is encoded once: the creation time per response,
// each distinct timestamp and window per response, each label map while it lives.

import { formatCpu, formatMemory, formatTimestamp, writeCpuText, writeMemoryText } from "../go/index.ts";
import type { NodeMetricsPoint, PodMetricsPoint } from "../storage/index.ts";
import { NumberKeyedBytes } from "./number-cache.ts";
import { formatWindow, type NodeSource, type PodSource } from "./objects.ts";
import { durationNanos, writeStringMap, writeTime } from "./proto-fields.ts";
import { LEN, ProtoWriter, tag, VARINT } from "./proto-writer.ts";

/** Per-response encodings of what items share. */
export interface ProtoItemsContext {
  includeSwap: boolean;
  /** ObjectMeta's creationTimestamp field, then clusterName: the request time (as upstream). */
  creationTimestamp: Uint8Array;
  /** timestampMs → the `timestamp` field. */
  timestamps: NumberKeyedBytes;
  /** windowMs → the `window` field. */
  windows: NumberKeyedBytes;
}

/** Field bytes written by `write` into a fresh writer. */
function fieldBytes(write: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter(64);
  write(w);
  return w.copy();
}

export function protoItemsContext(nowMs: number, includeSwap: boolean): ProtoItemsContext {
  return {
    includeSwap,
    creationTimestamp: fieldBytes((w) => writeTime(w, 8, formatTimestamp(nowMs))),
    timestamps: new NumberKeyedBytes((ms) => fieldBytes((w) => writeTime(w, 2, formatTimestamp(ms)))),
    windows: new NumberKeyedBytes((ms) => {
      // Through the Go duration text, as the object path goes (exact for windows under ~104 days).
      const nanos = durationNanos(formatWindow(ms));
      return fieldBytes((w) => {
        const window = w.begin(tag(3, LEN));
        w.int64(tag(1, VARINT), nanos);
        w.end(window);
      });
    }),
  };
}

// Label maps are immutable in the reflector caches (an update replaces the object).
const labelsFieldCache = new WeakMap<object, Uint8Array>();

function labelsField(labels: Readonly<Record<string, string>>): Uint8Array {
  let bytes = labelsFieldCache.get(labels);
  if (bytes === undefined) {
    bytes = fieldBytes((w) => writeStringMap(w, 11, labels));
    labelsFieldCache.set(labels, bytes);
  }
  return bytes;
}

// ObjectMeta's always-written empty fields between namespace and creationTimestamp: selfLink=4,
// uid=5, resourceVersion=6 (""), generation=7 (0); and clusterName=15 ("") after the labels.
const META_EMPTY_FIELDS = new Uint8Array([tag(4, LEN), 0, tag(5, LEN), 0, tag(6, LEN), 0, tag(7, VARINT), 0]);
const CLUSTER_NAME = new Uint8Array([tag(15, LEN), 0]);
const GENERATE_NAME = new Uint8Array([tag(2, LEN), 0]);
// Usage map entries' keys: {key=1 "cpu" | "memory" | "swap", value=2 Quantity{string=1}}.
const CPU_KEY = fieldBytes((w) => w.string(tag(1, LEN), "cpu"));
const MEMORY_KEY = fieldBytes((w) => w.string(tag(1, LEN), "memory"));
const SWAP_KEY = fieldBytes((w) => w.string(tag(1, LEN), "swap"));

function writeObjectMeta(
  w: ProtoWriter,
  c: ProtoItemsContext,
  name: string,
  namespace: string,
  labels: Readonly<Record<string, string>> | undefined,
): void {
  const m = w.begin(tag(1, LEN));
  w.string(tag(1, LEN), name);
  w.bytes(GENERATE_NAME);
  w.string(tag(3, LEN), namespace);
  w.bytes(META_EMPTY_FIELDS);
  w.bytes(c.creationTimestamp);
  if (labels) w.bytes(labelsField(labels));
  w.bytes(CLUSTER_NAME);
  w.end(m);
}

/** One usage map entry (map<string, resource.Quantity>): `key` → the quantity's text. */
function writeQuantity(
  w: ProtoWriter,
  field: number,
  key: Uint8Array,
  value: number,
  writeText: (buf: Uint8Array, pos: number, value: number) => number,
  format: (value: number) => string,
): void {
  const entry = w.begin(tag(field, LEN));
  w.bytes(key);
  const quantity = w.begin(tag(2, LEN));
  w.ensure(22);
  const start = w.pos;
  // The text is under 128 bytes: a one-byte length, then the text.
  const end = writeText(w.buf, start + 2, value);
  if (end < 0) w.string(tag(1, LEN), format(value));
  else {
    w.buf[start] = tag(1, LEN);
    w.buf[start + 1] = end - start - 2;
    w.pos = end;
  }
  w.end(quantity);
  w.end(entry);
}

/** Usage keys in Go's sorted order: cpu, memory, swap. */
function writeUsage(
  w: ProtoWriter,
  field: number,
  cpuNanocores: number,
  memoryBytes: number,
  swapBytes: number | undefined,
): void {
  writeQuantity(w, field, CPU_KEY, cpuNanocores, writeCpuText, formatCpu);
  writeQuantity(w, field, MEMORY_KEY, memoryBytes, writeMemoryText, formatMemory);
  if (swapBytes !== undefined) writeQuantity(w, field, SWAP_KEY, swapBytes, writeMemoryText, formatMemory);
}

function writeTimes(w: ProtoWriter, c: ProtoItemsContext, point: PodMetricsPoint | NodeMetricsPoint): void {
  w.bytes(c.timestamps.get(point.timestampMs));
  w.bytes(c.windows.get(point.windowMs));
}

// Batches are written into buffers under the launcher's MALLOC_MMAP_THRESHOLD_ (64 KiB,
// bin/metrics-server; larger ones would each be a fresh mmap), a new one started when the current
// one cannot be expected to hold another item. Items are 150-300 bytes, so their length prefix is
// reserved as two bytes (ProtoWriter.begin2).
const BUFFER_BYTES = 63 * 1024;
const ROOM_FOR_AN_ITEM = 4 * 1024;

function encodeItems<T>(items: readonly T[], write: (w: ProtoWriter, item: T) => void): Uint8Array[] {
  const out: Uint8Array[] = [];
  let w = new ProtoWriter(BUFFER_BYTES);
  for (let i = 0; i < items.length; i++) {
    if (w.pos > BUFFER_BYTES - ROOM_FOR_AN_ITEM) {
      out.push(w.take());
      w = new ProtoWriter(BUFFER_BYTES);
    }
    const m = w.begin2(tag(2, LEN));
    write(w, items[i]);
    w.end2(m);
  }
  if (w.pos > 0) out.push(w.take());
  return out;
}

/** PodMetrics as a list's consecutive `items` fields, from their points. */
export function encodePodItems(c: ProtoItemsContext, items: readonly PodSource[]): Uint8Array[] {
  const swap = c.includeSwap;
  return encodeItems(items, (w, item) => {
    writeObjectMeta(w, c, item.name, item.namespace, item.labels);
    const point = item.point;
    writeTimes(w, c, point);
    const containers = point.containers;
    for (let i = 0; i < containers.length; i++) {
      const ct = containers[i];
      const container = w.begin(tag(4, LEN));
      w.string(tag(1, LEN), ct.name);
      writeUsage(w, 2, ct.cpuNanocores, ct.memoryBytes, swap ? ct.swapBytes : undefined);
      w.end(container);
    }
  });
}

/** NodeMetrics as a list's consecutive `items` fields, from their points. */
export function encodeNodeItems(c: ProtoItemsContext, items: readonly NodeSource[]): Uint8Array[] {
  const swap = c.includeSwap;
  return encodeItems(items, (w, item) => {
    writeObjectMeta(w, c, item.name, "", item.labels);
    const point = item.point;
    writeTimes(w, c, point);
    writeUsage(w, 4, point.cpuNanocores, point.memoryBytes, swap ? point.swapBytes : undefined);
  });
}
