// In-memory stand-ins for the reflector caches and the metrics store, for the API's unit tests.

import type { Node, ObjectStore, PartialObjectMetadata } from "../../src/kube/index.ts";
import type {
  MetricsReader,
  NodeMetricsPoint,
  PodMetricsPoint,
  PodObject,
  PodRef,
} from "../../src/storage/index.ts";

/** An ObjectStore over a Map, keyed like the reflector (`name` or `namespace/name`); counts calls. */
export class FakeStore<T extends { metadata: { name: string; namespace?: string } }>
  implements ObjectStore<T>
{
  readonly objects = new Map<string, T>();
  listCalls = 0;
  listNamespaceCalls = 0;
  failWith: Error | undefined;

  constructor(objects: readonly T[] = []) {
    for (const o of objects) this.add(o);
  }

  add(o: T): void {
    const { namespace, name } = o.metadata;
    this.objects.set(namespace ? `${namespace}/${name}` : name, o);
  }

  list(): readonly T[] {
    this.listCalls++;
    if (this.failWith) throw this.failWith;
    return [...this.objects.values()];
  }

  listNamespace(namespace: string): readonly T[] {
    this.listNamespaceCalls++;
    if (this.failWith) throw this.failWith;
    return [...this.objects.values()].filter((o) => o.metadata.namespace === namespace);
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  /** Tests of a server whose caches are still syncing set this to false. */
  synced = true;

  hasSynced(): boolean {
    return this.synced;
  }

  get size(): number {
    return this.objects.size;
  }
}

/** A MetricsReader over two Maps (node name → point, "namespace/name" → point). */
export class FakeMetrics implements MetricsReader {
  readonly nodes = new Map<string, NodeMetricsPoint>();
  readonly pods = new Map<string, PodMetricsPoint>();
  podRequests: PodRef[][] = [];

  getNodeMetrics(names: readonly string[]): (NodeMetricsPoint | undefined)[] {
    return names.map((n) => this.nodes.get(n));
  }

  getPodMetrics(pods: readonly PodRef[]): (PodMetricsPoint | undefined)[] {
    this.podRequests.push([...pods]);
    return pods.map((p) => this.pods.get(`${p.namespace}/${p.name}`));
  }

  getListPodMetrics(pods: readonly PodObject[], from: number, to: number): (PodMetricsPoint | undefined)[] {
    const refs = pods
      .slice(from, to)
      .map((p) => ({ namespace: p.metadata.namespace ?? "", name: p.metadata.name }));
    return this.getPodMetrics(refs);
  }

  ready(): boolean {
    return this.nodes.size > 0 && this.pods.size > 0;
  }
}

export function node(name: string, labels?: Record<string, string>): Node {
  return { metadata: labels ? { name, labels } : { name } };
}

export function pod(namespace: string, name: string, labels?: Record<string, string>): PartialObjectMetadata {
  return { metadata: labels ? { name, namespace, labels } : { name, namespace } };
}
