// The simulated cluster's state: the objects kube-apiserver would keep in etcd, one global
// resourceVersion counter, and a bounded history of watch events (like the apiserver's watch cache).
// Nodes and pods exist twice: as scenario objects (what the fake kubelets report) and as Kubernetes
// JSON (what the API serves); every change keeps both in step. The JSON is kept serialized
// (StoredObject, stored.ts): reads that need an object parse a fresh copy.

import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import type { KubeletView } from "./kubelet.ts";
import type { NodeAddress, PodPhase, Scenario, SimContainer, SimNode, SimPod } from "./scenario.ts";
import {
  NODE_ADDRESS_TYPES,
  parseQuantity as parseScenarioQuantity,
  RESOURCE_METRICS_PATH_ANNOTATION,
} from "./scenario.ts";
import { StoredObject } from "./stored.ts";

export type Resource = "nodes" | "pods" | "services" | "endpoints" | "apiservices" | "configmaps";

export const RESOURCES: readonly Resource[] = [
  "nodes",
  "pods",
  "services",
  "endpoints",
  "apiservices",
  "configmaps",
];

export interface ResourceInfo {
  kind: string;
  apiVersion: string;
  /** "" for the core group. */
  group: string;
  namespaced: boolean;
}

export const RESOURCE_INFO: Readonly<Record<Resource, ResourceInfo>> = {
  nodes: { kind: "Node", apiVersion: "v1", group: "", namespaced: false },
  pods: { kind: "Pod", apiVersion: "v1", group: "", namespaced: true },
  services: { kind: "Service", apiVersion: "v1", group: "", namespaced: true },
  endpoints: { kind: "Endpoints", apiVersion: "v1", group: "", namespaced: true },
  configmaps: { kind: "ConfigMap", apiVersion: "v1", group: "", namespaced: true },
  apiservices: {
    kind: "APIService",
    apiVersion: "apiregistration.k8s.io/v1",
    group: "apiregistration.k8s.io",
    namespaced: false,
  },
};

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

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

/** A Kubernetes API error; the API server turns it into a `Status` body. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: number, reason: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

/** What kube-apiserver calls the resource in messages: `nodes`, `apiservices.apiregistration.k8s.io`. */
export function qualifiedResource(resource: Resource): string {
  const g = RESOURCE_INFO[resource].group;
  return g ? `${resource}.${g}` : resource;
}

function notFound(resource: Resource, name: string): ApiError {
  const g = RESOURCE_INFO[resource].group;
  return new ApiError(404, "NotFound", `${qualifiedResource(resource)} "${name}" not found`, {
    name,
    ...(g ? { group: g } : {}),
    kind: resource,
  });
}

/** 410 Gone for a watch or continue token older than the retained history. */
export function expiredError(requested: number, oldest: number): ApiError {
  return new ApiError(410, "Expired", `too old resource version: ${requested} (${oldest})`);
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const KI = 1024;
const MI = KI * KI;
const GI = MI * KI;

/** Bytes as the API prints them: the largest binary suffix that divides exactly. */
export function formatBytes(bytes: number): string {
  const b = Math.round(bytes);
  if (b !== 0 && b % GI === 0) return `${b / GI}Gi`;
  if (b !== 0 && b % MI === 0) return `${b / MI}Mi`;
  if (b !== 0 && b % KI === 0) return `${b / KI}Ki`;
  return String(b);
}

export function formatCpu(milli: number): string {
  const m = Math.round(milli);
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

/** Parses a resource quantity ("250m", "1.5", "64Mi") to a number of base units; undefined if invalid. */
export function parseQuantity(q: unknown): number | undefined {
  try {
    return parseScenarioQuantity(q);
  } catch {
    return undefined;
  }
}

function podIP(uid: string): string {
  let h = 0;
  for (const ch of uid) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `10.244.${(h >>> 8) % 250}.${(h % 250) + 2}`;
}

/** The Kubernetes JSON for a scenario node. */
export function nodeToJson(n: SimNode, resourceVersion: number, nowMs: number): KubeObject {
  const capacity = {
    cpu: formatCpu(n.cpuCores * 1000),
    "ephemeral-storage": "100Gi",
    memory: formatBytes(n.memoryBytes),
    pods: "110",
  };
  const heartbeat = rfc3339(nowMs);
  const since = rfc3339(n.creationTimestampMs);
  const pressure = (type: string, reason: string, message: string) => ({
    type,
    status: "False",
    lastHeartbeatTime: heartbeat,
    lastTransitionTime: since,
    reason,
    message,
  });
  return {
    kind: "Node",
    apiVersion: "v1",
    metadata: {
      name: n.name,
      uid: n.uid,
      resourceVersion: String(resourceVersion),
      creationTimestamp: rfc3339(n.creationTimestampMs),
      labels: { ...n.labels },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        ...(n.resourceMetricsPath ? { [RESOURCE_METRICS_PATH_ANNOTATION]: n.resourceMetricsPath } : {}),
      },
    },
    spec: {},
    status: {
      capacity,
      allocatable: { ...capacity },
      conditions: [
        pressure("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        pressure("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        pressure("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        {
          type: "Ready",
          status: n.ready ? "True" : "False",
          lastHeartbeatTime: heartbeat,
          lastTransitionTime: since,
          reason: n.ready ? "KubeletReady" : "KubeletNotReady",
          message: n.ready ? "kubelet is posting ready status" : "container runtime network not ready",
        },
      ],
      addresses: n.addresses
        ? n.addresses.map((a) => ({ ...a }))
        : [
            { type: "InternalIP", address: n.internalIP },
            { type: "Hostname", address: n.hostname },
          ],
      daemonEndpoints: { kubeletEndpoint: { Port: n.kubeletPort } },
      nodeInfo: {
        machineID: n.uid.replaceAll("-", ""),
        systemUUID: n.uid,
        bootID: n.uid,
        kernelVersion: "6.8.0-sim",
        osImage: "kube-sim Linux",
        containerRuntimeVersion: "containerd://2.0.0-sim",
        kubeletVersion: "v1.33.0-sim",
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

function containerSpec(c: SimContainer): Record<string, unknown> {
  return {
    name: c.name,
    image: "registry.k8s.io/pause:3.10",
    imagePullPolicy: "IfNotPresent",
    resources: { requests: { cpu: formatCpu(Math.max(1, c.cpuMilli)), memory: formatBytes(c.memoryBytes) } },
  };
}

function containerState(phase: PodPhase, c: SimContainer): Record<string, unknown> {
  const startedAt = rfc3339(c.startTimeMs);
  if (phase === "Running") return { running: { startedAt } };
  if (phase === "Pending") return { waiting: { reason: "ContainerCreating" } };
  const ok = phase === "Succeeded";
  return {
    terminated: {
      exitCode: ok ? 0 : 1,
      reason: ok ? "Completed" : "Error",
      startedAt,
      finishedAt: startedAt,
    },
  };
}

function containerStatus(c: SimContainer, state: Record<string, unknown>, ready: boolean, podUid: string) {
  return {
    name: c.name,
    state,
    ready,
    restartCount: 0,
    started: "running" in state,
    image: "registry.k8s.io/pause:3.10",
    imageID: "registry.k8s.io/pause@sha256:sim",
    containerID: `containerd://${podUid.replaceAll("-", "")}${c.name}`,
  };
}

/** The Kubernetes JSON for a scenario pod. `hostIP` is its node's InternalIP (if the node is known). */
export function podToJson(p: SimPod, resourceVersion: number, hostIP: string | undefined): KubeObject {
  const running = p.phase === "Running";
  const scheduled = rfc3339(p.creationTimestampMs);
  const cond = (type: string, ok: boolean) => ({
    type,
    status: ok ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: scheduled,
  });
  const initDone = p.phase !== "Pending";
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      resourceVersion: String(resourceVersion),
      creationTimestamp: rfc3339(p.creationTimestampMs),
      labels: { ...p.labels },
    },
    spec: {
      ...(p.initContainers.length > 0
        ? {
            initContainers: p.initContainers.map((c) => ({
              ...containerSpec(c),
              ...(c.sidecar ? { restartPolicy: "Always" } : {}),
            })),
          }
        : {}),
      containers: p.containers.map(containerSpec),
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "default",
      nodeName: p.nodeName,
      schedulerName: "default-scheduler",
    },
    status: {
      phase: p.phase,
      conditions: [
        cond("PodReadyToStartContainers", p.phase !== "Pending"),
        cond("Initialized", initDone),
        cond("Ready", running),
        cond("ContainersReady", running),
        cond("PodScheduled", true),
      ],
      ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
      podIP: podIP(p.uid),
      podIPs: [{ ip: podIP(p.uid) }],
      startTime: rfc3339(p.startTimeMs),
      ...(p.initContainers.length > 0
        ? {
            initContainerStatuses: p.initContainers.map((c) => {
              const state =
                c.sidecar && running
                  ? { running: { startedAt: rfc3339(c.startTimeMs) } }
                  : initDone
                    ? {
                        terminated: {
                          exitCode: 0,
                          reason: "Completed",
                          startedAt: rfc3339(c.startTimeMs),
                          finishedAt: rfc3339(c.startTimeMs),
                        },
                      }
                    : { waiting: { reason: "PodInitializing" } };
              return containerStatus(c, state, c.sidecar ? running : initDone, p.uid);
            }),
          }
        : {}),
      containerStatuses: p.containers.map((c) =>
        containerStatus(c, containerState(p.phase, c), running, p.uid),
      ),
      qosClass: "Burstable",
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function invalid(kind: string, name: string, message: string): ApiError {
  return new ApiError(422, "Invalid", `${kind} "${name}" is invalid: ${message}`, { name, kind });
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

function timeOf(v: unknown, fallback: number): number {
  const t = typeof v === "string" ? Date.parse(v) : Number.NaN;
  return Number.isFinite(t) ? t : fallback;
}

// Usage a posted container will report: its requests (the sim has no other source of truth for it).
const DEFAULT_CPU_MILLI = 10;
const DEFAULT_MEMORY = 16 * MI;

function simContainer(c: Record<string, unknown>, startTimeMs: number): SimContainer {
  const requests = isRecord(c.resources) && isRecord(c.resources.requests) ? c.resources.requests : {};
  const cpu = parseQuantity(requests.cpu);
  const mem = parseQuantity(requests.memory);
  return {
    name: String(c.name),
    cpuMilli: cpu !== undefined ? Math.max(1, Math.round(cpu * 1000)) : DEFAULT_CPU_MILLI,
    memoryBytes: mem !== undefined ? Math.max(1, Math.round(mem)) : DEFAULT_MEMORY,
    startTimeMs,
  };
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

function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Code-unit order, the order etcd's byte-ordered keys give for these ASCII names. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The first index whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose key is > `key`. */
function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

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
    if (resource === "nodes") return this.addNode(this.simNodeFrom(body, name, uid, nowMs));
    if (resource === "pods") return this.putPod(this.simPodFrom(body, ns!, name, uid, nowMs));

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

  private simNodeFrom(body: Record<string, unknown>, name: string, uid: string, nowMs: number): SimNode {
    const meta = body.metadata as Record<string, unknown>;
    const status = isRecord(body.status) ? body.status : {};
    const addresses = Array.isArray(status.addresses) ? status.addresses.filter(isRecord) : [];
    const addr = (type: string) => {
      const a = addresses.find((x) => x.type === type);
      return typeof a?.address === "string" ? a.address : undefined;
    };
    let internalIP = addr("InternalIP");
    if (!internalIP) {
      if (!this.allocateNodeIP) {
        throw invalid("Node", name, "status.addresses: Required value: an InternalIP address is required");
      }
      internalIP = this.allocateNodeIP(this.simNodes.size);
    }
    const capacity = isRecord(status.capacity) ? status.capacity : {};
    const endpoints = isRecord(status.daemonEndpoints) ? status.daemonEndpoints : {};
    const kubelet = isRecord(endpoints.kubeletEndpoint) ? endpoints.kubeletEndpoint : {};
    const port = typeof kubelet.Port === "number" && kubelet.Port > 0 ? kubelet.Port : 10250;
    const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
    const ready = conditions.find((c) => c.type === "Ready");
    const path = stringMap(meta.annotations)[RESOURCE_METRICS_PATH_ANNOTATION];
    // Posted addresses are kept as given (kube-apiserver stores status as sent on create).
    const published = addresses.filter(
      (a): a is Record<string, unknown> & NodeAddress =>
        NODE_ADDRESS_TYPES.includes(a.type as NodeAddress["type"]) &&
        typeof a.address === "string" &&
        a.address !== "",
    );
    if (isIP(internalIP) === 0) {
      throw invalid(
        "Node",
        name,
        `status.addresses: Invalid value: "${internalIP}": must be a valid IP address`,
      );
    }
    return {
      name,
      uid,
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", ...stringMap(meta.labels) },
      internalIP,
      hostname: addr("Hostname") ?? name,
      kubeletPort: port,
      ...(published.length > 0
        ? { addresses: published.map((a) => ({ type: a.type, address: a.address })) }
        : {}),
      ...(path ? { resourceMetricsPath: path } : {}),
      cpuCores: parseQuantity(capacity.cpu) ?? 4,
      memoryBytes: Math.round(parseQuantity(capacity.memory) ?? 16 * GI),
      overheadCpuMilli: 100,
      overheadMemoryBytes: 512 * MI,
      bootTimeMs: nowMs,
      creationTimestampMs: nowMs,
      ready: ready ? ready.status === "True" : true,
    };
  }

  private simPodFrom(
    body: Record<string, unknown>,
    namespace: string,
    name: string,
    uid: string,
    nowMs: number,
  ): SimPod {
    const meta = body.metadata as Record<string, unknown>;
    const spec = isRecord(body.spec) ? body.spec : {};
    const status = isRecord(body.status) ? body.status : {};
    const containers = Array.isArray(spec.containers) ? spec.containers.filter(isRecord) : [];
    if (containers.length === 0) throw invalid("Pod", name, "spec.containers: Required value");
    for (const c of containers) {
      if (typeof c.name !== "string" || c.name === "") {
        throw invalid("Pod", name, "spec.containers[].name: Required value");
      }
    }
    const inits = Array.isArray(spec.initContainers) ? spec.initContainers.filter(isRecord) : [];
    const nodeName = typeof spec.nodeName === "string" ? spec.nodeName : "";
    const phases: readonly string[] = ["Pending", "Running", "Succeeded", "Failed"];
    // A pod bound to a node runs there (the sim has no scheduler); an unbound one stays Pending.
    const phase = (
      typeof status.phase === "string" && phases.includes(status.phase)
        ? status.phase
        : nodeName
          ? "Running"
          : "Pending"
    ) as PodPhase;
    const startTimeMs = timeOf(status.startTime, nowMs);
    return {
      namespace,
      name,
      uid,
      nodeName,
      labels: stringMap(meta.labels),
      phase,
      creationTimestampMs: nowMs,
      startTimeMs,
      containers: containers.map((c) => simContainer(c, startTimeMs)),
      initContainers: inits.map((c) => ({
        ...simContainer(c, startTimeMs),
        sidecar: c.restartPolicy === "Always",
      })),
    };
  }
}

function defaultService(obj: KubeObject, nowMs: number): void {
  const spec: Record<string, unknown> = isRecord(obj.spec) ? obj.spec : {};
  obj.spec = spec;
  spec.type ??= "ClusterIP";
  if (spec.clusterIP === undefined) {
    spec.clusterIP = `10.96.${(nowMs >>> 8) % 250}.${(nowMs % 250) + 2}`;
    spec.clusterIPs = [spec.clusterIP];
  }
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports) {
      if (!isRecord(p)) continue;
      p.protocol ??= "TCP";
      p.targetPort ??= p.port;
    }
  }
  obj.status ??= { loadBalancer: {} };
}

function validateAPIService(obj: KubeObject): void {
  const spec: Record<string, unknown> = isRecord(obj.spec) ? obj.spec : {};
  obj.spec = spec;
  const name = obj.metadata.name;
  const group = typeof spec.group === "string" ? spec.group : "";
  const version = typeof spec.version === "string" ? spec.version : "";
  if (version === "") throw invalid("APIService", name, "spec.version: Required value");
  if (name !== `${version}.${group}`) {
    throw invalid("APIService", name, `metadata.name: Invalid value: "${name}": must be ${version}.${group}`);
  }
  if (isRecord(spec.service)) spec.service.port ??= 443;
  obj.status ??= {
    conditions: [
      {
        type: "Available",
        status: spec.service ? "Unknown" : "True",
        lastTransitionTime: obj.metadata.creationTimestamp,
        reason: spec.service ? "Pending" : "Local",
        message: spec.service ? "not yet checked" : "Local APIServices are always available",
      },
    ],
  };
}
