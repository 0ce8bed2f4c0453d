// The nodes as the scrape thread gets them: JSON of only the fields the scraper reads, made once per
// node object.
import type { Node } from "../../kube/index.ts";
import { isNodeReady } from "../address.ts";

/** A node as the worker gets it: its JSON, its name, and whether it is Ready. */
export interface NodeForWorker {
  json: string;
  name: string | undefined;
  ready: boolean;
}

// The node cache hands out the same object until the node changes (an update replaces it), so each
// node is serialised once, not once per tick.
const cache = new WeakMap<object, NodeForWorker>();

export function nodeForWorker(node: Node): NodeForWorker {
  const cacheable = typeof node === "object" && node !== null;
  const cached = cacheable ? cache.get(node) : undefined;
  if (cached !== undefined) return cached;
  const slim = slimmed(node);
  const name = slim?.metadata.name;
  const out: NodeForWorker = {
    json: JSON.stringify(slim),
    name: typeof name === "string" ? name : undefined,
    ready: slim !== null && isNodeReady(slim),
  };
  if (cacheable) cache.set(node, out);
  return out;
}

/** The fields of a node the scraper reads (address, port, path annotation, readiness, capacity); null if none. */
function slimmed(node: Node): Node | null {
  const meta = node?.metadata;
  if (!meta || typeof meta !== "object") return null;
  const out: Node = { metadata: { name: meta.name } };
  if (meta.annotations !== undefined) out.metadata.annotations = meta.annotations;
  const status = node.status;
  if (status && typeof status === "object") {
    out.status = {};
    if (status.addresses !== undefined) out.status.addresses = status.addresses;
    if (status.daemonEndpoints !== undefined) out.status.daemonEndpoints = status.daemonEndpoints;
    if (status.conditions !== undefined) out.status.conditions = status.conditions;
    // The store checks values against it (capacity.ts).
    if (status.capacity !== undefined) out.status.capacity = status.capacity;
  }
  return out;
}
