// How the simulated API server keeps objects: as their serialized JSON bytes (a Buffer, off the V8
// heap) plus the handful of fields lists, selectors and watches read. At 150,000 pods the full JSON
// object trees were ~460 MiB of heap that every full GC had to mark, and every list page paid a
// JSON.stringify of its 500 pods; now a page is a concatenation of stored bytes.

import type { KubeObject } from "./resources.ts";

function rec(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The values field selectors match against (what kube-apiserver's field sets hold). */
export function fieldsOf(resource: string, o: KubeObject): Record<string, string> {
  const f: Record<string, string> = { "metadata.name": o.metadata.name };
  if (o.metadata.namespace) f["metadata.namespace"] = o.metadata.namespace;
  const spec = rec(o.spec);
  const status = rec(o.status);
  if (resource === "pods") {
    f["spec.nodeName"] = String(spec.nodeName ?? "");
    f["spec.restartPolicy"] = String(spec.restartPolicy ?? "");
    f["spec.schedulerName"] = String(spec.schedulerName ?? "");
    f["spec.serviceAccountName"] = String(spec.serviceAccountName ?? "");
    f["status.phase"] = String(status.phase ?? "");
    f["status.podIP"] = String(status.podIP ?? "");
  }
  if (resource === "nodes") f["spec.unschedulable"] = String(spec.unschedulable === true);
  return f;
}

const METADATA_KEY = Buffer.from('"metadata":');

// Stored bytes are packed into shared slabs: Buffer.from's 8 KiB pool wastes the tail of every pool
// chunk (three 2 KiB pods per 8 KiB), ~20% of 150,000 pods' bytes. A slab is freed once no stored
// object in it is alive; the sim's objects change rarely, so little dead data is kept alive.
const SLAB_BYTES = 256 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

function storeBytes(text: string): Buffer {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit: the exact length is only counted when that
  // bound does not fit.
  let n = text.length * 3;
  if (slabUsed + n > SLAB_BYTES) {
    n = Buffer.byteLength(text);
    if (n > SLAB_BYTES / 8) return Buffer.from(text);
    if (slabUsed + n > SLAB_BYTES) {
      slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      slabUsed = 0;
    }
  }
  const written = slab.write(text, slabUsed, "utf8");
  const out = slab.subarray(slabUsed, slabUsed + written);
  slabUsed += written;
  return out;
}

/** Whether kind, apiVersion and metadata are the first keys, so JSON.stringify already writes them first. */
function inKubeOrder(obj: object): boolean {
  let i = 0;
  for (const k in obj) {
    if (k !== (i === 0 ? "kind" : i === 1 ? "apiVersion" : "metadata")) return false;
    if (++i === 3) return true;
  }
  return false;
}

/** The JSON of `obj` with kind, apiVersion and metadata moved first (`head` and `meta` already encoded). */
function reordered(head: string, meta: string, obj: KubeObject): string {
  const { kind: _k, apiVersion: _a, metadata: _m, ...rest } = obj;
  const tail = JSON.stringify(rest);
  return `${head}"metadata":${meta}${tail === "{}" ? "}" : `,${tail.slice(1)}`}`;
}
const OPEN = Buffer.from("{");

/**
 * One stored object. `json` is exactly JSON.stringify of the object with kind, apiVersion and
 * metadata as its first three keys (the order kube-apiserver writes them in), so the metadata and a
 * list item (the object without kind and apiVersion) are slices of it.
 */
export class StoredObject {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly resourceVersion: string;
  /** The object's labels (shared, never modified). */
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly fields: Readonly<Record<string, string>>;
  readonly json: Buffer;
  /** Where `"metadata":` starts in json. */
  private readonly itemStart: number;
  /** json[metadataStart, metadataEnd) is the metadata's JSON. */
  private readonly metadataStart: number;
  private readonly metadataEnd: number;

  /**
   * Serializes `obj`. `labels` may pass an equal labels object that is already kept elsewhere (the
   * scenario's), so the stored object holds no copy of its own.
   */
  constructor(resource: string, obj: KubeObject, labels?: Readonly<Record<string, string>>) {
    const { kind, apiVersion, metadata } = obj;
    const head = `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},`;
    const meta = JSON.stringify(metadata);
    this.json = storeBytes(inKubeOrder(obj) ? JSON.stringify(obj) : reordered(head, meta, obj));
    this.itemStart = Buffer.byteLength(head);
    this.metadataStart = this.itemStart + METADATA_KEY.length;
    this.metadataEnd = this.metadataStart + Buffer.byteLength(meta);
    this.name = metadata.name;
    this.namespace = metadata.namespace || undefined;
    this.resourceVersion = metadata.resourceVersion;
    this.labels = labels ?? metadata.labels;
    this.fields = fieldsOf(resource, obj);
  }

  /** "namespace/name", or the name of a cluster-scoped object (the key lists are ordered by). */
  get key(): string {
    return this.namespace ? `${this.namespace}/${this.name}` : this.name;
  }

  /** A fresh copy of the object. */
  object(): KubeObject {
    return JSON.parse(this.json.toString("utf8")) as KubeObject;
  }

  /** The metadata's JSON bytes (a view). */
  metadataJson(): Buffer {
    return this.json.subarray(this.metadataStart, this.metadataEnd);
  }

  /** The object without kind and apiVersion, as a JSON list holds its items: `{` then this view. */
  itemTail(): Buffer {
    return this.json.subarray(this.itemStart);
  }
}

const PARTIAL_HEAD = Buffer.from('{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":');
const CLOSE = Buffer.from("}");
const COMMA = Buffer.from(",");

/** How an object appears in a response: in full, as a list item, or as PartialObjectMetadata. */
export type ObjectForm = "object" | "item" | "metadata";

/** The pieces whose concatenation is `o` in form `form`. */
export function formPieces(o: StoredObject, form: ObjectForm): Buffer[] {
  if (form === "object") return [o.json];
  if (form === "item") return [OPEN, o.itemTail()];
  return [PARTIAL_HEAD, o.metadataJson(), CLOSE];
}

/** `o` in form `form` as one Buffer (a view when no copy is needed). */
export function formBytes(o: StoredObject, form: ObjectForm): Buffer {
  const pieces = formPieces(o, form);
  return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
}

/**
 * A JSON list `{"kind":…,"apiVersion":…,"metadata":<listMeta>,"items":[…]}` with the items in `form`,
 * byte for byte what JSON.stringify would give for the same object, copied once into one Buffer.
 */
export function listBytes(
  kind: string,
  apiVersion: string,
  listMeta: Record<string, unknown>,
  items: readonly StoredObject[],
  form: ObjectForm,
): Buffer {
  const pieces: Buffer[] = [
    Buffer.from(
      `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(listMeta)},"items":[`,
    ),
  ];
  for (let i = 0; i < items.length; i++) {
    if (i > 0) pieces.push(COMMA);
    for (const p of formPieces(items[i], form)) pieces.push(p);
  }
  pieces.push(LIST_END);
  return join(pieces);
}

const LIST_END = Buffer.from("]}");

/** Buffer.concat without its per-piece overhead (a page is ~1,500 pieces). */
function join(pieces: readonly Buffer[]): Buffer {
  let total = 0;
  for (const p of pieces) total += p.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
