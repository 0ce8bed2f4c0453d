// Objects grouped by namespace and by their labels object, so a label selector is evaluated once per
// distinct label map instead of once per object. The compact pod cache shares one frozen label map
// between all pods with identical labels (the pods of a ReplicaSet), so the HPA's call — one namespace
// and a selector — costs O(distinct label maps in the namespace + matching pods), not O(pods).
//
// Groups are keyed by the labels object's identity: equal maps that are different objects simply form
// separate groups (still correct, just less sharing). Cached objects must not change their labels
// object while indexed; the reflector's are frozen or treated as read-only.

import type { ObjectMeta } from "./types.ts";

export type LabelMap = Readonly<Record<string, string>>;

/**
 * A label predicate such as LabelSelector.matches. Must be pure: it is called once per distinct
 * labels object, and its verdict applies to every object that carries that map.
 */
export type LabelPredicate = (labels: LabelMap | undefined) => boolean;

/** The namespace an object is filed under: its own, or "" for cluster-scoped objects. */
export function namespaceOf(meta: ObjectMeta): string {
  return typeof meta.namespace === "string" ? meta.namespace : "";
}

// labels object (undefined for objects without labels) → the objects carrying it.
type Groups<T> = Map<LabelMap | undefined, Set<T>>;

export class LabelIndex<T extends { metadata: ObjectMeta }> {
  readonly #namespaces = new Map<string, Groups<T>>();
  #count = 0;

  /** Indexes `objects` from scratch (a relist). */
  static from<T extends { metadata: ObjectMeta }>(objects: Iterable<T>): LabelIndex<T> {
    const index = new LabelIndex<T>();
    for (const obj of objects) index.add(obj);
    return index;
  }

  /** Files `obj` under its namespace and labels object (adding it twice keeps one entry). */
  add(obj: T): void {
    const namespace = namespaceOf(obj.metadata);
    let groups = this.#namespaces.get(namespace);
    if (groups === undefined) {
      groups = new Map();
      this.#namespaces.set(namespace, groups);
    }
    const labels = obj.metadata.labels;
    let group = groups.get(labels);
    if (group === undefined) {
      group = new Set();
      groups.set(labels, group);
    }
    const before = group.size;
    group.add(obj);
    this.#count += group.size - before;
  }

  /**
   * Forgets `obj` (the same object that was added); empty groups and namespaces are dropped, so the
   * index holds no label map that no cached object uses. Returns false when it was not indexed.
   */
  remove(obj: T): boolean {
    const namespace = namespaceOf(obj.metadata);
    const groups = this.#namespaces.get(namespace);
    const labels = obj.metadata.labels;
    const group = groups?.get(labels);
    if (groups === undefined || group === undefined || !group.delete(obj)) return false;
    this.#count--;
    if (group.size === 0) {
      groups.delete(labels);
      if (groups.size === 0) this.#namespaces.delete(namespace);
    }
    return true;
  }

  /**
   * The objects of `namespace` whose labels satisfy `matches`, in no particular order, as a new
   * array. `matches` runs once per distinct labels object in the namespace.
   */
  selectNamespace(namespace: string, matches: LabelPredicate): T[] {
    const out: T[] = [];
    const groups = this.#namespaces.get(namespace);
    if (groups === undefined) return out;
    for (const [labels, group] of groups) {
      if (matches(labels)) for (const obj of group) out.push(obj);
    }
    return out;
  }

  /**
   * Every indexed object (cluster-scoped ones included) whose labels satisfy `matches`, in no
   * particular order, as a new array. A label map shared by several namespaces is judged once in
   * each (remembering verdicts across them would cost more than a selector's few comparisons).
   */
  selectAll(matches: LabelPredicate): T[] {
    const out: T[] = [];
    for (const groups of this.#namespaces.values()) {
      for (const [labels, group] of groups) {
        if (matches(labels)) for (const obj of group) out.push(obj);
      }
    }
    return out;
  }

  /** Sizes, for tests and measurements: namespaces, (namespace, labels object) groups, objects. */
  get stats(): { namespaces: number; groups: number; objects: number } {
    let groups = 0;
    for (const g of this.#namespaces.values()) groups += g.size;
    return { namespaces: this.#namespaces.size, groups, objects: this.#count };
  }
}
