// The simulated cluster's state: the objects kube-apiserver would keep in etcd, one global
// resourceVersion counter, and a bounded history of watch events (like the apiserver's watch cache).
// Nodes and pods exist twice: as scenario objects (what the fake kubelets report) and as Kubernetes
// JSON (what the API serves); every change keeps both in step. The JSON is kept serialized
// (StoredObject, stored.ts): reads that need an object parse a fresh copy.

import { randomUUID } from "node:crypto";
import type { KubeletView, PodPhase, Scenario, SimNode, SimPod } from "../types.ts";
import { ApiError, expiredError, invalid, notFound } from "./errors.ts";
import { nodeToJson, podToJson, rfc3339 } from "./objects.ts";
import { type KubeObject, qualifiedResource, RESOURCE_INFO, RESOURCES, type Resource } from "./resources.ts";
import { compareKeys, keyOf, lowerBound, upperBound } from "./sortedkeys.ts";
import { StoredObject } from "./stored.ts";
import {
  DNS_SUBDOMAIN,
  defaultService,
  isRecord,
  simNodeFrom,
  simPodFrom,
  validateAPIService,
} from "./strategy.ts";

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

export interface ClusterOptions {
  /** Watch history kept for watches resuming from an older resourceVersion (default 10,000 events). */
  historyLimit?: number;
  /** Clock (default Date.now). */
  now?: () => number;
  /** Picks the InternalIP of a node created through the API without one (index = node count). */
  allocateNodeIP?: (index: number) => string;
}

/** Side effects the simulator wires: a node created or deleted through the API gets or loses its kubelet. */
export interface ClusterHooks {
  /** May return the port the kubelet actually listens on; the Node then publishes it. */
  nodeAdded?: (node: SimNode) => Promise<number | undefined> | Promise<void> | number | void;
  nodeRemoved?: (name: string) => Promise<void> | void;
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

export class Cluster implements KubeletView {
  hooks: ClusterHooks = {};
  private rv = 0;
  private readonly objects = new Map<Resource, Map<string, StoredObject>>();
  private readonly simNodes = new Map<string, SimNode>();
  private readonly simPods = new Map<string, SimPod>();
  private readonly podsByNode = new Map<string, SimPod[]>();
  private readonly history: WatchEvent[] = [];
  private historyStart = 0;
  /** Highest resourceVersion whose event has been dropped from the history. */
  private compactedRv = 0;
  private readonly historyLimit: number;
  private readonly now: () => number;
  private readonly allocateNodeIP: ((index: number) => string) | undefined;
  private readonly listeners = new Map<Resource, Set<WatchListener>>();
  /** Per resource, its object keys in list order; absent = rebuild on next use. */
  private readonly keyIndex = new Map<Resource, string[]>();

  constructor(scenario: Scenario, options: ClusterOptions = {}) {
    this.historyLimit = Math.max(1, options.historyLimit ?? 10_000);
    this.now = options.now ?? Date.now;
    this.allocateNodeIP = options.allocateNodeIP;
    for (const r of RESOURCES) this.objects.set(r, new Map());
    // No index exists yet while the scenario loads: it is sorted once, on the first list.
    for (const n of scenario.nodes) this.putNode(n);
    for (const p of scenario.pods) this.putPod(p);
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

  // --- KubeletView -------------------------------------------------------------------------------

  node(name: string): SimNode | undefined {
    return this.simNodes.get(name);
  }

  podsOnNode(nodeName: string): readonly SimPod[] {
    return this.podsByNode.get(nodeName) ?? [];
  }

  /** A pod's scenario form (the runtime and controllers read posted pods' specs from it). */
  pod(namespace: string, name: string): SimPod | undefined {
    return this.simPods.get(keyOf(namespace, name));
  }

  /** The current state as a scenario (what the truth is computed from). */
  scenario(): Scenario {
    return { nodes: [...this.simNodes.values()], pods: [...this.simPods.values()] };
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
  private store(
    resource: Resource,
    key: string,
    obj: KubeObject,
    labels?: Readonly<Record<string, string>>,
  ): StoredObject {
    const stored = new StoredObject(resource, obj, labels);
    const objects = this.objects.get(resource)!;
    const isNew = !objects.has(key);
    objects.set(key, stored);
    const keys = this.keyIndex.get(resource);
    if (isNew && keys) keys.splice(lowerBound(keys, key), 0, key);
    return stored;
  }

  private unstore(resource: Resource, key: string): void {
    if (!this.objects.get(resource)!.delete(key)) return;
    const keys = this.keyIndex.get(resource);
    if (!keys) return;
    const i = lowerBound(keys, key);
    if (keys[i] === key) keys.splice(i, 1);
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

  private record(
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

  // --- Scenario-level changes (the simulator's own, not through the API) --------------------------

  private putNode(n: SimNode): KubeObject {
    const existing = this.objects.get("nodes")!.get(n.name);
    this.rv++;
    const json = nodeToJson(n, this.rv, this.now());
    this.simNodes.set(n.name, n);
    const stored = this.store("nodes", n.name, json, n.labels);
    this.record(existing ? "MODIFIED" : "ADDED", "nodes", stored, existing);
    return json;
  }

  private putPod(p: SimPod): KubeObject {
    const key = keyOf(p.namespace, p.name);
    const existing = this.objects.get("pods")!.get(key);
    const old = this.simPods.get(key);
    if (old) this.unindexPod(old);
    this.rv++;
    const json = podToJson(p, this.rv, this.simNodes.get(p.nodeName)?.internalIP);
    this.simPods.set(key, p);
    let onNode = this.podsByNode.get(p.nodeName);
    if (!onNode) {
      onNode = [];
      this.podsByNode.set(p.nodeName, onNode);
    }
    onNode.push(p);
    const stored = this.store("pods", key, json, p.labels);
    this.record(existing ? "MODIFIED" : "ADDED", "pods", stored, existing);
    return json;
  }

  private unindexPod(p: SimPod): void {
    const onNode = this.podsByNode.get(p.nodeName);
    if (!onNode) return;
    const i = onNode.indexOf(p);
    if (i >= 0) onNode.splice(i, 1);
    if (onNode.length === 0) this.podsByNode.delete(p.nodeName);
  }

  /** Adds or replaces a node (and starts its kubelet through the hook if it is new). */
  async addNode(n: SimNode): Promise<KubeObject> {
    const isNew = !this.simNodes.has(n.name);
    const json = this.putNode(n);
    if (!isNew) return json;
    const port = await this.hooks.nodeAdded?.(n);
    // kubeletPort 0 means "any free port": publish the one the kubelet got (a MODIFIED event, as the
    // kubelet's own status update would be).
    if (typeof port === "number" && port !== n.kubeletPort && this.simNodes.get(n.name) === n) {
      return this.putNode({ ...n, kubeletPort: port });
    }
    return json;
  }

  /** Adds or replaces a pod. */
  addPod(p: SimPod): KubeObject {
    return this.putPod(p);
  }

  /** Flips a node's Ready condition (a MODIFIED event). */
  setNodeReady(name: string, ready: boolean): KubeObject {
    const n = this.simNodes.get(name);
    if (!n) throw notFound("nodes", name);
    return this.putNode({ ...n, ready });
  }

  /** Moves a pod to another phase (a MODIFIED event). */
  setPodPhase(namespace: string, name: string, phase: PodPhase): KubeObject {
    const p = this.simPods.get(keyOf(namespace, name));
    if (!p) throw notFound("pods", name);
    return this.putPod({ ...p, phase });
  }

  // --- API writes --------------------------------------------------------------------------------

  /**
   * Creates an object posted to the API. `namespace` comes from the URL for namespaced resources.
   * Throws ApiError 400/409/422 like kube-apiserver.
   */
  async create(resource: Resource, namespace: string | undefined, body: unknown): Promise<KubeObject> {
    const info = RESOURCE_INFO[resource];
    if (!isRecord(body))
      throw new ApiError(400, "BadRequest", "the body of the request was not a JSON object");
    if (body.kind !== undefined && body.kind !== info.kind) {
      throw new ApiError(
        400,
        "BadRequest",
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${info.apiVersion})`,
      );
    }
    const meta = isRecord(body.metadata) ? body.metadata : {};
    const name = typeof meta.name === "string" ? meta.name : "";
    if (name === "")
      throw invalid(info.kind, "", "metadata.name: Required value: name or generateName is required");
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
      throw invalid(
        info.kind,
        name,
        `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      );
    }
    const ns = info.namespaced ? namespace || "default" : undefined;
    if (
      info.namespaced &&
      typeof meta.namespace === "string" &&
      meta.namespace !== "" &&
      meta.namespace !== ns
    ) {
      throw new ApiError(
        400,
        "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    if (this.get(resource, ns, name)) {
      const g = info.group;
      throw new ApiError(409, "AlreadyExists", `${qualifiedResource(resource)} "${name}" already exists`, {
        name,
        ...(g ? { group: g } : {}),
        kind: resource,
      });
    }
    const nowMs = this.now();
    const uid = randomUUID();
    if (resource === "nodes")
      return this.addNode(
        simNodeFrom(
          body,
          name,
          uid,
          nowMs,
          this.allocateNodeIP && (() => this.allocateNodeIP!(this.simNodes.size)),
        ),
      );
    if (resource === "pods") return this.putPod(simPodFrom(body, ns!, name, uid, nowMs));

    const obj: KubeObject = {
      ...structuredClone(body),
      kind: info.kind,
      apiVersion: info.apiVersion,
      metadata: {
        ...structuredClone(meta),
        name,
        ...(ns ? { namespace: ns } : {}),
        uid,
        resourceVersion: "",
        creationTimestamp: rfc3339(nowMs),
      },
    };
    if (resource === "services") defaultService(obj, nowMs);
    if (resource === "apiservices") validateAPIService(obj);
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    this.record("ADDED", resource, this.store(resource, keyOf(ns, name), obj));
    return obj;
  }

  /**
   * Creates or replaces an object the simulator itself owns (the control plane's own ConfigMaps):
   * ADDED or MODIFIED, keeping uid and creation time across replacements.
   */
  put(resource: "configmaps", namespace: string, name: string, fields: Record<string, unknown>): KubeObject {
    const info = RESOURCE_INFO[resource];
    const oldStored = this.getStored(resource, namespace, name);
    const old = oldStored?.object();
    this.rv++;
    const obj: KubeObject = {
      ...structuredClone(fields),
      kind: info.kind,
      apiVersion: info.apiVersion,
      metadata: {
        name,
        namespace,
        uid: old?.metadata.uid ?? randomUUID(),
        resourceVersion: String(this.rv),
        creationTimestamp: old?.metadata.creationTimestamp ?? rfc3339(this.now()),
      },
    };
    const stored = this.store(resource, keyOf(namespace, name), obj);
    this.record(oldStored ? "MODIFIED" : "ADDED", resource, stored, oldStored);
    return obj;
  }

  /**
   * PUT: replaces an object's spec and metadata (not its status), keeping uid and creation time, as
   * kube-apiserver's update does. A stale metadata.resourceVersion is a 409 Conflict. Nodes and pods are
   * not updatable here (their kubelets are the simulator's).
   */
  update(resource: Resource, namespace: string | undefined, name: string, body: unknown): KubeObject {
    const info = RESOURCE_INFO[resource];
    if (resource === "nodes" || resource === "pods" || resource === "configmaps") {
      throw new ApiError(405, "MethodNotAllowed", `the simulator does not update ${resource}`);
    }
    if (!isRecord(body))
      throw new ApiError(400, "BadRequest", "the body of the request was not a JSON object");
    const oldStored = this.mustGetStored(resource, namespace, name);
    const old = oldStored.object();
    const meta = isRecord(body.metadata) ? body.metadata : {};
    if (meta.name !== undefined && meta.name !== name) {
      throw new ApiError(400, "BadRequest", "the name of the object does not match the name on the URL");
    }
    const rv = meta.resourceVersion;
    if (typeof rv === "string" && rv !== "" && rv !== old.metadata.resourceVersion) {
      const g = info.group;
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${qualifiedResource(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, ...(g ? { group: g } : {}), kind: resource },
      );
    }
    const obj: KubeObject = {
      ...structuredClone(body),
      kind: info.kind,
      apiVersion: info.apiVersion,
      metadata: {
        ...structuredClone(meta),
        name,
        ...(old.metadata.namespace ? { namespace: old.metadata.namespace } : {}),
        uid: old.metadata.uid,
        resourceVersion: "",
        creationTimestamp: old.metadata.creationTimestamp,
      },
    };
    if (old.status !== undefined) obj.status = old.status;
    else delete obj.status;
    if (resource === "apiservices") validateAPIService(obj);
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    const stored = this.store(resource, keyOf(old.metadata.namespace, name), obj);
    this.record("MODIFIED", resource, stored, oldStored);
    return obj;
  }

  /** Replaces `status` of a stored object (the aggregator's availability checks use this). */
  updateStatus(resource: Resource, namespace: string | undefined, name: string, status: unknown): KubeObject {
    const oldStored = this.mustGetStored(resource, namespace, name);
    const old = oldStored.object();
    this.rv++;
    const obj: KubeObject = {
      ...old,
      status,
      metadata: { ...old.metadata, resourceVersion: String(this.rv) },
    };
    const stored = this.store(resource, keyOf(old.metadata.namespace, name), obj);
    this.record("MODIFIED", resource, stored, oldStored);
    return obj;
  }

  /** Deletes an object; returns its last state. Throws the kube-apiserver 404. */
  async delete(resource: Resource, namespace: string | undefined, name: string): Promise<KubeObject> {
    const oldStored = this.mustGetStored(resource, namespace, name);
    const old = oldStored.object();
    const key = keyOf(old.metadata.namespace, name);
    this.rv++;
    const last: KubeObject = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    this.unstore(resource, key);
    if (resource === "pods") {
      const p = this.simPods.get(key);
      if (p) this.unindexPod(p);
      this.simPods.delete(key);
    }
    if (resource === "nodes") this.simNodes.delete(name);
    this.record("DELETED", resource, new StoredObject(resource, last, oldStored.labels));
    if (resource === "nodes") await this.hooks.nodeRemoved?.(name);
    return last;
  }
}
