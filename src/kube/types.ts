// The subset of Kubernetes objects metrics-server reads. Field names are the API's JSON names.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface NodeAddress {
  type: string; // Hostname | InternalIP | ExternalIP | InternalDNS | ExternalDNS
  address: string;
}

export interface NodeCondition {
  type: string;
  status: string; // "True" | "False" | "Unknown"
}

export interface Node {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  status?: {
    addresses?: NodeAddress[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
    conditions?: NodeCondition[];
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
  };
}

/** What a metadata-only list/watch returns (meta.k8s.io/v1 PartialObjectMetadata). */
export interface PartialObjectMetadata {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** A read-only view of a reflector's cache. Keys are `name` (cluster scope) or `namespace/name`. */
export interface ObjectStore<T> {
  /** Every object, in no particular order. Do not mutate the result. */
  list(): readonly T[];
  /** Objects of one namespace (empty array if none). */
  listNamespace(namespace: string): readonly T[];
  get(key: string): T | undefined;
  /**
   * Optional fast path for label selectors: the objects of `namespace` whose labels satisfy
   * `matches`, as a new array in no particular order ([] for ""). `matches` must be pure: a store may
   * call it once per distinct labels object instead of once per object. Callers without it scan
   * listNamespace().
   */
  selectNamespace?(
    namespace: string,
    matches: (labels: Readonly<Record<string, string>> | undefined) => boolean,
  ): T[];
  /** Like selectNamespace over every object (cluster-scoped ones included), as list() would give. */
  selectAll?(matches: (labels: Readonly<Record<string, string>> | undefined) => boolean): T[];
  /** True once the first list has been applied. */
  hasSynced(): boolean;
  readonly size: number;
}
