// The two caches metrics-server keeps (reference §0): every Node, and metadata of Running pods.
// Transforms keep only the fields the server reads, so 150,000 pods cost little memory.

import type { KubeClient } from "./client.ts";
import { type BackoffOptions, Reflector } from "./reflector.ts";
import type { Node, ObjectMeta, PartialObjectMetadata } from "./types.ts";

export interface InformerOptions {
  onChange?: () => void;
  backoff?: BackoffOptions;
}

function pick(meta: ObjectMeta, withNamespace: boolean, withAnnotations: boolean): ObjectMeta {
  const out: ObjectMeta = { name: meta.name };
  if (withNamespace && meta.namespace !== undefined) out.namespace = meta.namespace;
  if (meta.labels !== undefined) out.labels = meta.labels;
  if (withAnnotations && meta.annotations !== undefined) out.annotations = meta.annotations;
  if (meta.creationTimestamp !== undefined) out.creationTimestamp = meta.creationTimestamp;
  if (meta.resourceVersion !== undefined) out.resourceVersion = meta.resourceVersion;
  return out;
}

/** Keeps the metadata and status fields of a Node that address resolution and the API use. */
export function slimNode(node: Node): Node {
  const out: Node = { metadata: pick(node.metadata, false, true) };
  const status = node.status;
  if (status && typeof status === "object") {
    const s: NonNullable<Node["status"]> = {};
    if (status.addresses !== undefined) s.addresses = status.addresses;
    if (status.daemonEndpoints !== undefined) s.daemonEndpoints = status.daemonEndpoints;
    if (status.conditions !== undefined)
      s.conditions = Array.isArray(status.conditions)
        ? status.conditions.map((c) => ({ type: c.type, status: c.status }))
        : status.conditions;
    if (status.allocatable !== undefined) s.allocatable = status.allocatable;
    if (status.capacity !== undefined) s.capacity = status.capacity;
    out.status = s;
  }
  return out;
}

/** Keeps only the identity, labels and age of a pod. */
export function slimPodMetadata(pod: PartialObjectMetadata): PartialObjectMetadata {
  return { metadata: pick(pod.metadata, true, false) };
}

/** All nodes, full objects (slimmed). */
export function newNodeReflector(client: KubeClient, opts: InformerOptions = {}): Reflector<Node> {
  return new Reflector<Node>({
    client,
    name: "nodes",
    path: "/api/v1/nodes",
    transform: slimNode,
    onChange: opts.onChange,
    backoff: opts.backoff,
  });
}

/**
 * Running pods in all namespaces, metadata only. Works as well when the server answers with full Pods
 * or refuses the metadata Accept with 406 (then plain JSON is used); either way objects are slimmed.
 */
export function newRunningPodReflector(
  client: KubeClient,
  opts: InformerOptions = {},
): Reflector<PartialObjectMetadata> {
  return new Reflector<PartialObjectMetadata>({
    client,
    name: "pods",
    path: "/api/v1/pods",
    fieldSelector: "status.phase=Running",
    metadataOnly: true,
    transform: slimPodMetadata,
    onChange: opts.onChange,
    backoff: opts.backoff,
  });
}
