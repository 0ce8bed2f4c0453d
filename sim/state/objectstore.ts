// Where the simulated API server keeps objects: per resource, serialized objects (StoredObject,
// stored.ts) under their namespace/name keys kept in list order, one global resourceVersion counter,
// and a bounded history of watch events (like kube-apiserver's watch cache), with listeners called
// on every change. The cluster's semantics (scenario nodes and pods, API writes) are in cluster.ts.

import { expiredError, notFound } from "./errors.ts";
import { type KubeObject, RESOURCE_INFO, RESOURCES, type Resource } from "./resources.ts";
import { compareKeys, keyOf, lowerBound, upperBound } from "./sortedkeys.ts";
import { StoredObject } from "./stored.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchEvent {
  type: WatchEventType;
  resource: Resource;
  /** The object after the change (for DELETED: its last state, carrying the deletion's resourceVersion). */
  object: StoredObject;
  /** For MODIFIED: the object before the change (selector-filtered watches need it). */
  previous?: StoredObject;
  resourceVersion: number;
}

export type WatchListener = (event: WatchEvent) => void;

/** A page of a list (see Cluster.listPage). */
export interface ListPage {
  items: StoredObject[];
  /** A further object after the page matches. */
  more: boolean;
  /** Objects in scope after the page, matching or not. */
  remaining: number;
}

/** "<resource>\0<key>": one stored object, as the owner index names it. */
type DependentRef = `${string}\u0000${string}`;

export class ObjectStore {
  protected rv = 0;
  protected readonly objects = new Map<Resource, Map<string, StoredObject>>();
  private readonly history: WatchEvent[] = [];
  private historyStart = 0;
  /** Highest resourceVersion whose event has been dropped from the history. */
  private compactedRv = 0;
  private readonly historyLimit: number;
  private readonly listeners = new Map<Resource, Set<WatchListener>>();
  /** Per resource, its object keys in list order; absent = rebuild on next use. */
  private readonly keyIndex = new Map<Resource, string[]>();
  /**
   * The owner index (garbage collection without scanning every object): per stored object with
   * ownerReferences, its owners' uids, and per owner uid, its dependents.
   */
  private readonly ownersOf = new Map<DependentRef, string[]>();
  private readonly dependentsOf = new Map<string, Set<DependentRef>>();

  /** `historyLimit`: watch events kept for watches resuming from an older resourceVersion. */
  constructor(historyLimit: number) {
    this.historyLimit = Math.max(1, historyLimit);
    for (const r of RESOURCES) this.objects.set(r, new Map());
  }

  /** The latest resourceVersion (what a list returns). */
  get resourceVersion(): number {
    return this.rv;
  }

  /** The lowest resourceVersion a watch may resume from. */
  get oldestResumableVersion(): number {
    return this.compactedRv;
  }

  /**
   * Drops the whole watch history, as etcd compaction does to the watch cache: a watch or continue
   * token from any earlier resourceVersion then gets 410 Expired. Returns the version compacted to.
   */
  compact(): number {
    this.history.length = 0;
    this.historyStart = 0;
    this.compactedRv = this.rv;
    return this.rv;
  }

  // --- Reads -------------------------------------------------------------------------------------

  /** Objects sorted by namespace then name (the order etcd keys give kube-apiserver), as fresh copies. */
  list(resource: Resource, namespace?: string): KubeObject[] {
    return this.listStored(resource, namespace).map((o) => o.object());
  }

  /** The stored objects sorted by namespace then name. */
  listStored(resource: Resource, namespace?: string): StoredObject[] {
    const objects = this.objects.get(resource)!;
    const [lo, hi] = this.scope(resource, namespace);
    const keys = this.sortedKeys(resource);
    const out: StoredObject[] = [];
    for (let i = lo; i < hi; i++) {
      const o = objects.get(keys[i])!;
      if (namespace === undefined || o.namespace === namespace) out.push(o);
    }
    return out;
  }

  /**
   * One page of a list, in key order, costing O(page) rather than O(all objects): the objects after
   * key `after` (namespace/name or name) that `matches` accepts, at most `limit` (0 = no limit).
   * `more` says whether a further matching object exists (found by looking ahead past the page);
   * `remaining` counts every object in scope after the page, matching or not (what
   * remainingItemCount reports for an unfiltered list).
   */
  listPage(
    resource: Resource,
    namespace: string | undefined,
    after: string | undefined,
    limit: number,
    matches?: (o: StoredObject) => boolean,
  ): ListPage {
    const objects = this.objects.get(resource)!;
    const keys = this.sortedKeys(resource);
    let [lo, hi] = this.scope(resource, namespace);
    if (after !== undefined) lo = Math.min(hi, Math.max(lo, upperBound(keys, after)));
    const items: StoredObject[] = [];
    let last = lo - 1;
    let i = lo;
    for (; i < hi && (limit === 0 || items.length < limit); i++) {
      const o = objects.get(keys[i])!;
      if ((namespace === undefined || o.namespace === namespace) && (!matches || matches(o))) {
        items.push(o);
        last = i;
      }
    }
    let more = false;
    for (; i < hi && !more; i++) {
      const o = objects.get(keys[i])!;
      more = (namespace === undefined || o.namespace === namespace) && (!matches || matches(o));
    }
    return { items, more, remaining: hi - (last + 1) };
  }

  /** The sorted keys of a resource: sorted once on first use, then kept sorted by store/unstore. */
  private sortedKeys(resource: Resource): string[] {
    let keys = this.keyIndex.get(resource);
    if (!keys) {
      keys = [...this.objects.get(resource)!.keys()].sort(compareKeys);
      this.keyIndex.set(resource, keys);
    }
    return keys;
  }

  /** The index range [lo, hi) of the keys a list of `namespace` (undefined = all) can contain. */
  private scope(resource: Resource, namespace: string | undefined): [number, number] {
    const keys = this.sortedKeys(resource);
    if (namespace === undefined) return [0, keys.length];
    if (!RESOURCE_INFO[resource].namespaced) return [0, 0];
    // Keys of one namespace share the prefix "<ns>/" and so are contiguous; "0" follows "/".
    return [lowerBound(keys, `${namespace}/`), lowerBound(keys, `${namespace}0`)];
  }

  /** Serializes and stores `obj` under `key`; `labels` as for StoredObject. */
  protected store(
    resource: Resource,
    key: string,
    obj: KubeObject,
    labels?: Readonly<Record<string, string>>,
  ): StoredObject {
    const stored = new StoredObject(resource, obj, labels);
    const objects = this.objects.get(resource)!;
    const isNew = !objects.has(key);
    objects.set(key, stored);
    this.indexOwners(resource, key, obj);
    const keys = this.keyIndex.get(resource);
    if (isNew && keys) keys.splice(lowerBound(keys, key), 0, key);
    return stored;
  }

  protected unstore(resource: Resource, key: string): void {
    if (!this.objects.get(resource)!.delete(key)) return;
    this.indexOwners(resource, key, undefined);
    const keys = this.keyIndex.get(resource);
    if (!keys) return;
    const i = lowerBound(keys, key);
    if (keys[i] === key) keys.splice(i, 1);
  }

  /** Keeps the owner index in step with the object now stored under `key` (undefined: none). */
  private indexOwners(resource: Resource, key: string, obj: KubeObject | undefined): void {
    const ref: DependentRef = `${resource}\u0000${key}`;
    for (const uid of this.ownersOf.get(ref) ?? []) {
      const set = this.dependentsOf.get(uid);
      set?.delete(ref);
      if (set?.size === 0) this.dependentsOf.delete(uid);
    }
    this.ownersOf.delete(ref);
    const refs = obj?.metadata.ownerReferences;
    if (!Array.isArray(refs) || refs.length === 0) return;
    const uids = refs.flatMap((r) => (typeof r?.uid === "string" ? [r.uid as string] : []));
    if (uids.length === 0) return;
    this.ownersOf.set(ref, uids);
    for (const uid of uids) {
      let set = this.dependentsOf.get(uid);
      if (!set) {
        set = new Set();
        this.dependentsOf.set(uid, set);
      }
      set.add(ref);
    }
  }

  /** The objects whose ownerReferences name `uid`, as [resource, key] pairs. */
  dependents(uid: string): [Resource, string][] {
    return [...(this.dependentsOf.get(uid) ?? [])].map((ref) => {
      const i = ref.indexOf("\u0000");
      return [ref.slice(0, i) as Resource, ref.slice(i + 1)];
    });
  }

  /** A fresh copy of the object, if it exists. */
  get(resource: Resource, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.getStored(resource, namespace, name)?.object();
  }

  getStored(resource: Resource, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.objects
      .get(resource)!
      .get(keyOf(RESOURCE_INFO[resource].namespaced ? namespace : undefined, name));
  }

  /** `getStored` that throws the kube-apiserver 404. */
  mustGetStored(resource: Resource, namespace: string | undefined, name: string): StoredObject {
    const o = this.getStored(resource, namespace, name);
    if (!o) throw notFound(resource, name);
    return o;
  }

  /** `get` that throws the kube-apiserver 404. */
  mustGet(resource: Resource, namespace: string | undefined, name: string): KubeObject {
    return this.mustGetStored(resource, namespace, name).object();
  }

  // --- Watch -------------------------------------------------------------------------------------

  /** Events of `resource` after `resourceVersion`; throws 410 Expired if some were already dropped. */
  eventsSince(resource: Resource, resourceVersion: number): WatchEvent[] {
    if (resourceVersion < this.compactedRv) throw expiredError(resourceVersion, this.compactedRv);
    const out: WatchEvent[] = [];
    for (let i = this.historyStart; i < this.history.length; i++) {
      const e = this.history[i];
      if (e.resource === resource && e.resourceVersion > resourceVersion) out.push(e);
    }
    return out;
  }

  /** Calls `fn` synchronously for every later change of `resource`. Returns the unsubscribe function. */
  subscribe(resource: Resource, fn: WatchListener): () => void {
    let set = this.listeners.get(resource);
    if (!set) {
      set = new Set();
      this.listeners.set(resource, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  protected record(
    type: WatchEventType,
    resource: Resource,
    object: StoredObject,
    previous?: StoredObject,
  ): void {
    const event: WatchEvent = { type, resource, object, previous, resourceVersion: this.rv };
    this.history.push(event);
    if (this.history.length - this.historyStart > this.historyLimit) {
      this.compactedRv = this.history[this.historyStart].resourceVersion;
      this.historyStart++;
      // Drop the consumed prefix in one go now and then instead of shifting on every event.
      if (this.historyStart >= this.historyLimit) {
        this.history.splice(0, this.historyStart);
        this.historyStart = 0;
      }
    }
    const set = this.listeners.get(resource);
    if (set) {
      for (const fn of [...set]) {
        try {
          fn(event);
        } catch {
          // A broken watcher must not break the cluster; the API server closes its own streams.
        }
      }
    }
  }
}
