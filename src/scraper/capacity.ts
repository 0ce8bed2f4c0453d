// A node's capacity as the store checks values against it: status.capacity.cpu in nanocores and
// status.capacity.memory in bytes, as the Node object reports them (the kubelet's machine info).
import { parseQuantity } from "../go/index.ts";
import type { Node } from "../kube/index.ts";

export interface NodeCapacity {
  /** undefined when the Node does not report it or reports something unusable. */
  cpuNanocores: number | undefined;
  memoryBytes: number | undefined;
}

// The node cache hands out the same object until the node changes: parsed once per version.
const cache = new WeakMap<object, NodeCapacity>();

export function nodeCapacity(node: Node): NodeCapacity {
  const cached = cache.get(node);
  if (cached !== undefined) return cached;
  const capacity = node?.status?.capacity;
  const out: NodeCapacity = {
    cpuNanocores: positiveQuantity(capacity?.cpu, -9),
    memoryBytes: positiveQuantity(capacity?.memory, 0),
  };
  if (typeof node === "object" && node !== null) cache.set(node, out);
  return out;
}

function positiveQuantity(text: unknown, scale: number): number | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const v = parseQuantity(text, scale);
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}
