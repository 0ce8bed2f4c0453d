// The two caches metrics-server keeps (docs/metrics-api.md#caches): every Node, and metadata of Running pods.
// Transforms keep only the fields the server reads. Pods are the big cache (150,000 at 5,000 nodes), so
// each is one small frozen object whose namespace and labels are shared with its neighbours.

import type { BackoffOptions } from "./backoff.ts";
import type { KubeClient } from "./client.ts";
import { MetadataInterner } from "./intern.ts";
import { Reflector } from "./reflector.ts";
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

/**
 * A cached Running pod: only what the metrics API reads (name, namespace, labels). One object per pod
 * — `metadata` is the object itself — with the namespace and the label map shared through the
 * reflector's MetadataInterner. Frozen: the shared parts must not be changed through any one pod.
 */
export class CompactPod implements PartialObjectMetadata, ObjectMeta {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>> | undefined;

  constructor(
    name: string,
    namespace: string | undefined,
    labels: Readonly<Record<string, string>> | undefined,
  ) {
    this.name = name;
    this.namespace = namespace;
    this.labels = labels;
    Object.freeze(this);
  }

  // On the prototype, so it costs no memory per pod.
  get metadata(): ObjectMeta {
    return this as ObjectMeta;
  }
}

/**
 * Turns pods (PartialObjectMetadata or full Pods) into CompactPods that share namespaces and label
 * maps, and gives the shares back when the reflector drops a pod.
 */
export class PodCompactor {
  readonly interner = new MetadataInterner();

  readonly compact = (pod: PartialObjectMetadata): PartialObjectMetadata => {
    const meta = pod.metadata;
    const namespace =
      typeof meta.namespace === "string" && meta.namespace !== ""
        ? this.interner.acquireString(meta.namespace)
        : undefined;
    return new CompactPod(meta.name, namespace, this.interner.acquireLabels(meta.labels));
  };

  readonly release = (pod: PartialObjectMetadata): void => {
    if (!(pod instanceof CompactPod)) return;
    if (pod.namespace !== undefined) this.interner.releaseString(pod.namespace);
    this.interner.releaseLabels(pod.labels);
  };
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
  const compactor = new PodCompactor();
  return new Reflector<PartialObjectMetadata>({
    client,
    name: "pods",
    path: "/api/v1/pods",
    fieldSelector: "status.phase=Running",
    metadataOnly: true,
    transform: compactor.compact,
    release: compactor.release,
    // Pods with identical labels share one map, so a selector is judged once per ReplicaSet.
    indexLabels: true,
    onChange: opts.onChange,
    backoff: opts.backoff,
  });
}
