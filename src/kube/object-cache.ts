// The reflector's cache: namespace → name → object, with "" for cluster-scoped objects. One nested
// map serves get(), list() and listNamespace() without keeping a "namespace/name" key string per
// object. The arrays list() and listNamespace() hand out are kept until the cache changes, so
// readers can cache work per array.

import { LabelIndex, type LabelPredicate, namespaceOf } from "./label-index.ts";
import type { ObjectMeta } from "./types.ts";

/** Cache key: `name` for cluster-scoped objects, `namespace/name` for namespaced ones. */
export function objectKey(meta: ObjectMeta): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

export type Buckets<T> = Map<string, Map<string, T>>;

function bucketOf<T>(buckets: Buckets<T>, namespace: string): Map<string, T> {
  let bucket = buckets.get(namespace);
  if (!bucket) {
    bucket = new Map();
    buckets.set(namespace, bucket);
  }
  return bucket;
}

/** Stores `obj` under its namespace and name; returns the object it replaced, if any. */
export function putIn<T extends { metadata: ObjectMeta }>(buckets: Buckets<T>, obj: T): T | undefined {
  const bucket = bucketOf(buckets, namespaceOf(obj.metadata));
  const previous = bucket.get(obj.metadata.name);
  bucket.set(obj.metadata.name, obj);
  return previous;
}

function* objectsOf<T>(buckets: Buckets<T>): Generator<T, void, undefined> {
  for (const bucket of buckets.values()) yield* bucket.values();
}

function countOf<T>(buckets: Buckets<T>): number {
  let n = 0;
  for (const bucket of buckets.values()) n += bucket.size;
  return n;
}

export class ObjectCache<T extends { metadata: ObjectMeta }> {
  private buckets: Buckets<T> = new Map();
  private count = 0;
  private listCache: T[] | undefined;
  private readonly nsListCache = new Map<string, T[]>();
  // Present when built with indexLabels; always describes exactly the objects in `buckets`.
  private labelIndex: LabelIndex<T> | undefined;

  constructor(indexLabels: boolean) {
    if (indexLabels) this.labelIndex = new LabelIndex();
  }

  list(): readonly T[] {
    if (this.listCache === undefined) {
      const all = new Array<T>(this.count);
      let i = 0;
      for (const bucket of this.buckets.values()) for (const obj of bucket.values()) all[i++] = obj;
      this.listCache = all;
    }
    return this.listCache;
  }

  listNamespace(namespace: string): readonly T[] {
    // Cluster-scoped objects ("" bucket) belong to no namespace.
    if (namespace === "") return [];
    let cached = this.nsListCache.get(namespace);
    if (!cached) {
      const bucket = this.buckets.get(namespace);
      if (!bucket) return [];
      cached = [...bucket.values()];
      this.nsListCache.set(namespace, cached);
    }
    return cached;
  }

  get(key: string): T | undefined {
    const slash = key.indexOf("/");
    if (slash < 0) return this.buckets.get("")?.get(key);
    return (
      this.buckets.get(key.slice(0, slash))?.get(key.slice(slash + 1)) ??
      // Only an invalid cluster-scoped name holds a "/"; objectKey() gives it as is.
      this.buckets.get("")?.get(key)
    );
  }

  /** Objects of `namespace` whose labels satisfy `matches` (a new array, unordered). */
  selectNamespace(namespace: string, matches: LabelPredicate): T[] {
    if (namespace === "") return [];
    if (this.labelIndex) return this.labelIndex.selectNamespace(namespace, matches);
    return this.listNamespace(namespace).filter((obj) => matches(obj.metadata.labels));
  }

  /** Every object whose labels satisfy `matches` (a new array, unordered). */
  selectAll(matches: LabelPredicate): T[] {
    if (this.labelIndex) return this.labelIndex.selectAll(matches);
    return this.list().filter((obj) => matches(obj.metadata.labels));
  }

  /** The label index's sizes (undefined without indexLabels). */
  get labelIndexStats(): LabelIndex<T>["stats"] | undefined {
    return this.labelIndex?.stats;
  }

  get size(): number {
    return this.count;
  }

  /**
   * Swaps in a whole new cache at once, so readers never see a half-applied list. Returns the
   * buckets it replaced: their objects are the caller's to release.
   */
  replace(fresh: Buckets<T>): Buckets<T> {
    const old = this.buckets;
    this.buckets = fresh;
    this.count = countOf(fresh);
    if (this.labelIndex) this.labelIndex = LabelIndex.from(objectsOf(fresh));
    this.listCache = undefined;
    this.nsListCache.clear();
    return old;
  }

  /** Stores `obj`, replacing the object of the same namespace and name; returns that one, if any. */
  put(obj: T): T | undefined {
    const previous = putIn(this.buckets, obj);
    if (previous !== undefined) this.labelIndex?.remove(previous);
    this.labelIndex?.add(obj);
    if (previous === undefined) this.count++;
    this.listCache = undefined;
    this.nsListCache.delete(namespaceOf(obj.metadata));
    return previous;
  }

  /** Removes the object of `meta`'s namespace and name; returns it, or undefined when absent. */
  delete(meta: ObjectMeta): T | undefined {
    const namespace = namespaceOf(meta);
    const bucket = this.buckets.get(namespace);
    const stored = bucket?.get(meta.name);
    if (bucket === undefined || stored === undefined) return undefined;
    bucket.delete(meta.name);
    if (bucket.size === 0) this.buckets.delete(namespace);
    this.count--;
    this.labelIndex?.remove(stored);
    this.listCache = undefined;
    this.nsListCache.delete(namespace);
    return stored;
  }
}
