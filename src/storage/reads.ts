// Reads of a generation: node and pod points by name, and ranges of a large pod list with slot hints.
// The store hands in the generation readers see; nothing here writes.

import { type Generation, stringHash } from "./generation.ts";
import { nodePoint, podPoint } from "./points.ts";
import type { NodeMetricsPoint, PodMetricsPoint, PodObject, PodRef } from "./types.ts";

/** Lists at least this long get slot hints; shorter ones are looked up. */
const HINTED_LIST_MIN = 512;

/** The points of the named nodes, in order (undefined where a node has none to serve). */
export function readNodeMetrics(g: Generation, names: readonly string[]): (NodeMetricsPoint | undefined)[] {
  if (!Array.isArray(names)) return [];
  const out: (NodeMetricsPoint | undefined)[] = new Array(names.length);
  for (let i = 0; i < names.length; i++) {
    const slot = g.nodeIndex.get(names[i]);
    out[i] = slot === undefined ? undefined : nodePoint(g, slot);
  }
  return out;
}

/** The points of the given pods, in order (undefined where a pod has none to serve). */
export function readPodMetrics(g: Generation, pods: readonly PodRef[]): (PodMetricsPoint | undefined)[] {
  if (!Array.isArray(pods)) return [];
  const out: (PodMetricsPoint | undefined)[] = new Array(pods.length);
  for (let i = 0; i < pods.length; i++) {
    const ref = pods[i];
    const slot = ref !== null && typeof ref === "object" ? g.lookupPod(ref.namespace, ref.name) : undefined;
    out[i] = slot === undefined ? undefined : podPoint(g, slot);
  }
  return out;
}

/**
 * Reads a range of a large pod list. Per list (the reflector's cached, sorted array, alive until its
 * cache changes) it remembers the slot each pod was last found at, -1 if none. A slot is only a hint,
 * checked against the generation read; slots stay put from tick to tick while nodes and their pods do.
 */
export class ListReader {
  readonly #slotHints = new WeakMap<readonly PodObject[], Int32Array>();

  read(g: Generation, pods: readonly PodObject[], from: number, to: number): (PodMetricsPoint | undefined)[] {
    if (!Array.isArray(pods)) return [];
    const end = Math.min(to, pods.length);
    const out: (PodMetricsPoint | undefined)[] = new Array(Math.max(0, end - from));
    let hints = this.#slotHints.get(pods);
    if (hints === undefined && pods.length >= HINTED_LIST_MIN) {
      hints = new Int32Array(pods.length).fill(-1);
      this.#slotHints.set(pods, hints);
    }
    // A list is sorted by namespace: its id is looked up once per run of pods.
    let namespace: string | undefined;
    let namespaceId: number | undefined;
    // Where a hint missed, the pod was often moved by as many slots as the one before it (a node's
    // scrape missing or back, a pod added on an earlier node): that slot is tried next.
    let shift = 0;
    for (let i = from; i < end; i++) {
      out[i - from] = undefined;
      const meta = pods[i]?.metadata;
      const name = meta?.name;
      if (typeof name !== "string") continue;
      const ns = meta.namespace ?? "";
      if (ns !== namespace) {
        namespace = ns;
        namespaceId = g.namespaceId(ns);
      }
      if (namespaceId === undefined) continue;
      let slot: number;
      if (hints === undefined) slot = g.findPod(namespaceId, name, stringHash(name));
      else {
        const hint = hints[i];
        if (g.isPodAt(hint, namespaceId, name)) slot = hint;
        else if (hint >= 0 && g.isPodAt(hint + shift, namespaceId, name)) slot = hint + shift;
        else {
          slot = g.findPod(namespaceId, name, stringHash(name));
          if (slot >= 0 && hint >= 0) shift = slot - hint;
        }
        hints[i] = slot < 0 ? -1 : slot;
      }
      if (slot >= 0) out[i - from] = podPoint(g, slot);
    }
    return out;
  }
}
