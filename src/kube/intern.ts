// Reference-counted sharing for the pod cache. At 150,000 pods most metadata repeats: a few hundred
// namespaces, and pods of one ReplicaSet carry identical labels. JSON.parse gives every pod its own
// copies; sharing one copy cuts the cache several-fold (bench/micro/pod-cache-memory.ts measures it).
// Counts let a value go once the last pod using it leaves the cache, so rollouts (each brings a new
// pod-template-hash) do not grow the tables forever. A miscount only costs memory, never correctness:
// a dropped entry is simply created again by the next pod that needs it.

interface Entry<V> {
  value: V;
  refs: number;
}

/** Values by key, created on first acquire and forgotten when the last holder releases them. */
export class RefCountedTable<V> {
  readonly #entries = new Map<string, Entry<V>>();

  /** The shared value for `key` (made by `create` if absent); the caller must release it later. */
  acquire(key: string, create: (key: string) => V): V {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { value: create(key), refs: 0 };
      this.#entries.set(key, entry);
    }
    entry.refs++;
    return entry.value;
  }

  /** Drops one reference; returns the value when that was the last one (now forgotten). */
  release(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (--entry.refs > 0) return undefined;
    this.#entries.delete(key);
    return entry.value;
  }

  /** References held on `key` (0 when absent). */
  refs(key: string): number {
    return this.#entries.get(key)?.refs ?? 0;
  }

  get size(): number {
    return this.#entries.size;
  }
}

export type Labels = Readonly<Record<string, string>>;

const identity = (s: string): string => s;

// Length-prefixed pairs: unambiguous whatever characters keys and values hold.
function signature(labels: Labels): string {
  let sig = "";
  for (const k in labels) {
    const v = labels[k];
    sig += `${k.length}:${k}${v.length}:${v}`;
  }
  return sig;
}

/**
 * Shares strings (namespaces, label keys and values) and whole label maps between cached objects.
 * Every acquire must be matched by one release of the value it returned.
 */
export class MetadataInterner {
  readonly #strings = new RefCountedTable<string>();
  readonly #labelSets = new RefCountedTable<Labels>();

  /** The one shared copy of `s`. */
  acquireString(s: string): string {
    return this.#strings.acquire(s, identity);
  }

  releaseString(s: string): void {
    this.#strings.release(s);
  }

  /**
   * A frozen label map equal to the string-valued entries of `raw` (in their order), shared with
   * every other holder of the same map; undefined when `raw` has none. Non-string values (a real API
   * server never sends them) are dropped rather than cached as something the API cannot render.
   */
  acquireLabels(raw: unknown): Labels | undefined {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
    const clean = cleanLabels(raw as Record<string, unknown>);
    if (clean === undefined) return undefined;
    return this.#labelSets.acquire(signature(clean), () => this.#freeze(clean));
  }

  /** Releases a map returned by acquireLabels (undefined is ignored). */
  releaseLabels(labels: Labels | undefined): void {
    if (labels === undefined) return;
    const dead = this.#labelSets.release(signature(labels));
    if (dead === undefined) return;
    for (const k in dead) {
      this.#strings.release(k);
      this.#strings.release(dead[k]);
    }
  }

  /** Distinct strings and label maps held (for tests and measurements). */
  get stats(): { strings: number; labelSets: number } {
    return { strings: this.#strings.size, labelSets: this.#labelSets.size };
  }

  #freeze(clean: Record<string, string>): Labels {
    const shared: Record<string, string> = {};
    for (const k in clean) {
      const key = this.acquireString(k);
      const value = this.acquireString(clean[k]);
      // A "__proto__" label (JSON.parse makes it an own key) must stay a label, not set a prototype.
      if (key === "__proto__") Object.defineProperty(shared, key, { value, enumerable: true });
      else shared[key] = value;
    }
    return Object.freeze(shared);
  }
}

// The string-valued own entries of `raw`, or undefined when there are none. Returns `raw` itself
// when it is already clean, so the common case allocates nothing.
function cleanLabels(raw: Record<string, unknown>): Record<string, string> | undefined {
  let count = 0;
  let clean = true;
  for (const k in raw) {
    if (!Object.hasOwn(raw, k)) continue;
    if (typeof raw[k] === "string") count++;
    else clean = false;
  }
  if (count === 0) return undefined;
  if (clean) return raw as Record<string, string>;
  const out: Record<string, string> = {};
  for (const k in raw) if (Object.hasOwn(raw, k) && typeof raw[k] === "string") out[k] = raw[k];
  return out;
}
