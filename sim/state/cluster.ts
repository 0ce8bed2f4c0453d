// The simulated cluster's state: the objects kube-apiserver would keep in etcd (kept by
// ObjectStore, objectstore.ts) and what the API does to them. Nodes and pods exist twice: as scenario objects (what the fake kubelets report) and as Kubernetes
// JSON (what the API serves); every change keeps both in step. The JSON is kept serialized
// (StoredObject, stored.ts): reads that need an object parse a fresh copy.

import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { KubeletView, PodPhase, Scenario, SimNode, SimPod } from "../types.ts";
import { ApiError, invalid, notFound } from "./errors.ts";
import { nodeToJson, podToJson, rfc3339 } from "./objects.ts";
import { ObjectStore } from "./objectstore.ts";
import { applyPatch } from "./patch.ts";
import { type KubeObject, qualifiedResource, RESOURCE_INFO, RESOURCES, type Resource } from "./resources.ts";

export type { ListPage, WatchEvent, WatchEventType, WatchListener } from "./objectstore.ts";

import { ROOT_TYPE } from "./schema.ts";
import { keyOf } from "./sortedkeys.ts";
import { StoredObject } from "./stored.ts";
import {
  DNS_SUBDOMAIN,
  defaultDeployment,
  defaultNamespace,
  defaultSecret,
  defaultService,
  isRecord,
  simNodeFrom,
  simPodFrom,
  validateAPIService,
  validateDeployment,
  validateRbac,
} from "./strategy.ts";

/** The namespaces kube-apiserver creates at start. */
export const SYSTEM_NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system"] as const;

/** Kinds whose metadata.generation counts spec changes. */
const GENERATION: ReadonlySet<Resource> = new Set(["deployments", "poddisruptionbudgets"]);

export interface DeleteOptions {
  /** "Orphan" keeps the dependents (ownerReferences); otherwise they are deleted too (background GC). */
  propagationPolicy?: string;
  /** A Namespace goes now, not after Terminating (the namespace controller's last step). */
  finalize?: boolean;
}

export interface ClusterOptions {
  /** Watch history kept for watches resuming from an older resourceVersion (default 10,000 events). */
  historyLimit?: number;
  /** Clock (default Date.now). */
  now?: () => number;
  /** Picks the InternalIP of a node created through the API without one (index = node count). */
  allocateNodeIP?: (index: number) => string;
  /** How long a deleted Namespace stays Terminating before its objects and it are gone (default 500 ms). */
  namespaceFinalizeDelayMs?: number;
}

/** Side effects the simulator wires: a node created or deleted through the API gets or loses its kubelet. */
export interface ClusterHooks {
  /** May return the port the kubelet actually listens on; the Node then publishes it. */
  nodeAdded?: (node: SimNode) => Promise<number | undefined> | Promise<void> | number | void;
  nodeRemoved?: (name: string) => Promise<void> | void;
}

export class Cluster extends ObjectStore implements KubeletView {
  hooks: ClusterHooks = {};
  private readonly simNodes = new Map<string, SimNode>();
  private readonly simPods = new Map<string, SimPod>();
  /** For pods posted through the API: the posted metadata and spec the scenario pod does not model. */
  private readonly podExtras = new Map<
    string,
    { metadata: Record<string, unknown>; spec: Record<string, unknown> }
  >();
  private readonly podsByNode = new Map<string, SimPod[]>();
  private readonly now: () => number;
  private readonly allocateNodeIP: ((index: number) => string) | undefined;
  private readonly namespaceFinalizeDelayMs: number;

  constructor(scenario: Scenario, options: ClusterOptions = {}) {
    super(options.historyLimit ?? 10_000);
    this.now = options.now ?? Date.now;
    this.allocateNodeIP = options.allocateNodeIP;
    this.namespaceFinalizeDelayMs = options.namespaceFinalizeDelayMs ?? 500;
    // No index exists yet while the scenario loads: it is sorted once, on the first list.
    for (const n of scenario.nodes) this.putNode(n);
    for (const p of scenario.pods) this.putPod(p);
    const namespaces = new Set<string>([...SYSTEM_NAMESPACES, ...scenario.pods.map((p) => p.namespace)]);
    for (const ns of [...namespaces].sort())
      this.storeNew("namespaces", undefined, { metadata: { name: ns } });
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
    const extras = this.podExtras.get(key);
    if (extras) {
      Object.assign(json.metadata, extras.metadata);
      json.spec = { ...(json.spec as Record<string, unknown>), ...extras.spec, nodeName: p.nodeName };
    }
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

  /**
   * Restarts a running container of a scenario pod, as a kubelet does after a crash: it starts
   * again now (its CPU counter from 0), restartCount + 1, lastState the run that ended.
   */
  restartContainer(namespace: string, name: string, container: string): KubeObject {
    const p = this.simPods.get(keyOf(namespace, name));
    if (!p) throw notFound("pods", name);
    if (p.phase !== "Running" || p.api?.status !== undefined) {
      throw new ApiError(400, "BadRequest", `pod ${namespace}/${name} is not a Running scenario pod`);
    }
    if (!p.containers.some((c) => c.name === container)) {
      throw new ApiError(
        400,
        "BadRequest",
        `pod ${namespace}/${name} has no container ${JSON.stringify(container)}`,
      );
    }
    const now = this.now();
    const containers = p.containers.map((c) =>
      c.name !== container
        ? c
        : {
            ...c,
            startTimeMs: now,
            previousStartTimeMs: c.startTimeMs,
            restartCount: (c.restartCount ?? 0) + 1,
          },
    );
    return this.putPod({ ...p, containers });
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
    const nameError = invalidName(resource, name);
    if (nameError) throw invalid(info.kind, name, `metadata.name: Invalid value: "${name}": ${nameError}`);
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
    if (ns !== undefined) {
      const namespaceObject = this.getStored("namespaces", undefined, ns);
      if (!namespaceObject) throw notFound("namespaces", ns);
      if (namespaceObject.object().metadata.deletionTimestamp) {
        throw new ApiError(
          403,
          "Forbidden",
          `${qualifiedResource(resource)} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
          { name, ...(info.group ? { group: info.group } : {}), kind: resource },
        );
      }
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
    if (resource === "pods") {
      // What the scenario model has no place for stays as posted: owners (for garbage collection),
      // annotations, and the spec (args, probes, volumes, service account: what a runtime reads).
      this.podExtras.set(keyOf(ns, name), {
        metadata: {
          ...(Array.isArray(meta.ownerReferences)
            ? { ownerReferences: structuredClone(meta.ownerReferences) }
            : {}),
          ...(isRecord(meta.annotations) ? { annotations: structuredClone(meta.annotations) } : {}),
        },
        spec: isRecord(body.spec) ? structuredClone(body.spec) : {},
      });
      return this.putPod(simPodFrom(body, ns!, name, uid, nowMs));
    }

    return this.storeNew(resource, ns, body, uid, nowMs);
  }

  /** Stores a new object from `body` (name already checked): defaults, checks, an ADDED event. */
  private storeNew(
    resource: Resource,
    ns: string | undefined,
    body: Record<string, unknown>,
    uid = randomUUID(),
    nowMs = this.now(),
  ): KubeObject {
    const info = RESOURCE_INFO[resource];
    const meta = isRecord(body.metadata) ? body.metadata : {};
    const name = String(meta.name);
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
    delete obj.metadata.deletionTimestamp;
    if (GENERATION.has(resource)) {
      obj.metadata.generation = 1;
      // Their status is the controllers' to write (through /status), never the creator's.
      obj.status = {};
    } else delete obj.metadata.generation;
    this.prepare(resource, obj, undefined);
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    this.record("ADDED", resource, this.store(resource, keyOf(ns, name), obj));
    return obj;
  }

  /** What kube-apiserver's registry strategy does to an object on create (old undefined) or update. */
  private prepare(resource: Resource, obj: KubeObject, old: KubeObject | undefined): void {
    if (resource === "services") {
      const spec = isRecord(obj.spec) ? obj.spec : {};
      const oldSpec = old && isRecord(old.spec) ? old.spec : {};
      // The allocated cluster IP survives updates that do not name it (as kubectl apply's do not).
      if (spec.clusterIP === undefined && oldSpec.clusterIP !== undefined) {
        spec.clusterIP = oldSpec.clusterIP;
        spec.clusterIPs = oldSpec.clusterIPs;
      }
      obj.spec = spec;
      defaultService(obj, this.now());
    }
    if (resource === "apiservices") validateAPIService(obj);
    if (resource === "deployments") {
      defaultDeployment(obj);
      validateDeployment(obj);
      obj.status ??= {};
    }
    if (resource === "namespaces") defaultNamespace(obj);
    if (resource === "secrets") defaultSecret(obj);
    validateRbac(resource, obj, old);
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
   * kube-apiserver's update does; `subresource` "status" replaces only the status. A stale
   * metadata.resourceVersion is a 409 Conflict. Nodes and pods are the simulator's: only a pod's
   * status.phase can change (through pods/status).
   */
  update(
    resource: Resource,
    namespace: string | undefined,
    name: string,
    body: unknown,
    subresource?: string,
  ): KubeObject {
    const info = RESOURCE_INFO[resource];
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
    if (resource === "pods" && subresource === "status") {
      const phase = isRecord(body.status) ? body.status.phase : undefined;
      const phases: unknown[] = ["Pending", "Running", "Succeeded", "Failed"];
      if (phase === undefined || phase === old.status?.["phase" as never]) return old;
      if (!phases.includes(phase))
        throw invalid("Pod", name, `status.phase: Unsupported value: ${JSON.stringify(phase)}`);
      return this.setPodPhase(old.metadata.namespace ?? "", name, phase as PodPhase);
    }
    if (resource === "nodes" || resource === "pods") {
      throw new ApiError(405, "MethodNotAllowed", `the simulator does not update ${resource}`);
    }
    if (subresource === "status") return this.updateStatus(resource, namespace, name, body.status);
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
    delete obj.metadata.generation;
    this.prepare(resource, obj, old);
    if (GENERATION.has(resource)) {
      const gen = Number(old.metadata.generation ?? 1);
      obj.metadata.generation = isDeepStrictEqual(obj.spec, old.spec) ? gen : gen + 1;
    }
    const { resourceVersion: _a, ...newMeta } = obj.metadata;
    const { resourceVersion: _b, ...oldMeta } = old.metadata;
    // kube-apiserver skips writing an unchanged object: same resourceVersion, no event.
    if (isDeepStrictEqual({ ...obj, metadata: newMeta }, { ...old, metadata: oldMeta })) return old;
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    const stored = this.store(resource, keyOf(old.metadata.namespace, name), obj);
    this.record("MODIFIED", resource, stored, oldStored);
    return obj;
  }

  /**
   * PATCH: the stored object with a JSON patch, JSON merge patch or strategic merge patch applied
   * (by `contentType`), then updated like a PUT of the result.
   */
  patch(
    resource: Resource,
    namespace: string | undefined,
    name: string,
    contentType: string,
    patch: unknown,
    subresource?: string,
    check?: (patched: unknown, old: KubeObject) => void,
  ): KubeObject {
    const old = this.mustGet(resource, namespace, name);
    const patched = applyPatch(contentType, old, patch, typeOf(resource));
    check?.(patched, old);
    return this.update(resource, namespace, name, patched, subresource);
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

  /**
   * Deletes an object; returns its last state. Throws the kube-apiserver 404. Deletion is immediate
   * (no finalizers); its dependents by ownerReferences go too unless propagationPolicy is Orphan,
   * as the garbage collector would delete them, and a Namespace takes its objects with it.
   */
  async delete(
    resource: Resource,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<KubeObject> {
    const oldStored = this.mustGetStored(resource, namespace, name);
    const old = oldStored.object();
    if (resource === "namespaces" && !options.finalize) return this.terminate(old, options);
    const key = keyOf(old.metadata.namespace, name);
    this.rv++;
    const last: KubeObject = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    this.unstore(resource, key);
    if (resource === "pods") {
      const p = this.simPods.get(key);
      if (p) this.unindexPod(p);
      this.simPods.delete(key);
      this.podExtras.delete(key);
    }
    if (resource === "nodes") this.simNodes.delete(name);
    this.record("DELETED", resource, new StoredObject(resource, last, oldStored.labels));
    if (resource === "nodes") await this.hooks.nodeRemoved?.(name);
    if (options.propagationPolicy !== "Orphan") await this.deleteDependents(old.metadata.uid);
    return last;
  }

  /**
   * A Namespace's deletion as kube-apiserver and the namespace controller do it: the namespace is
   * Terminating (no new objects in it) for a while, then its objects and it are deleted.
   */
  private terminate(ns: KubeObject, options: DeleteOptions): KubeObject {
    if (ns.metadata.deletionTimestamp) return ns;
    const name = ns.metadata.name;
    const updated = this.updateStatus("namespaces", undefined, name, { phase: "Terminating" });
    const oldStored = this.mustGetStored("namespaces", undefined, name);
    this.rv++;
    const obj: KubeObject = {
      ...updated,
      metadata: {
        ...updated.metadata,
        deletionTimestamp: rfc3339(this.now()),
        resourceVersion: String(this.rv),
      },
    };
    this.record("MODIFIED", "namespaces", this.store("namespaces", name, obj), oldStored);
    const finalize = async () => {
      for (const r of RESOURCES) {
        if (!RESOURCE_INFO[r].namespaced) continue;
        for (const o of this.listStored(r, name)) {
          if (this.getStored(r, name, o.name)) await this.delete(r, name, o.name, options);
        }
      }
      if (this.getStored("namespaces", undefined, name)?.object().metadata.uid === ns.metadata.uid) {
        await this.delete("namespaces", undefined, name, { ...options, finalize: true });
      }
    };
    setTimeout(() => void finalize().catch(() => {}), this.namespaceFinalizeDelayMs).unref();
    return obj;
  }

  /** Deletes every object with an ownerReference to `uid` (the garbage collector's background mode). */
  private async deleteDependents(uid: string): Promise<void> {
    for (const [resource, key] of this.dependents(uid)) {
      const o = this.objects.get(resource)?.get(key);
      if (o) await this.delete(resource, o.namespace, o.name);
    }
  }
}

/** RBAC objects' names are path segments ("system:metrics-server"); the rest are DNS subdomains. */
function invalidName(resource: Resource, name: string): string | undefined {
  if (RESOURCE_INFO[resource].group === "rbac.authorization.k8s.io") {
    if (name === "." || name === "..") return `may not be '${name}'`;
    if (name.includes("/") || name.includes("%")) return `may not contain '/' or '%'`;
    return undefined;
  }
  if (DNS_SUBDOMAIN.test(name) && name.length <= 253) return undefined;
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'";
}

function typeOf(resource: Resource) {
  const t = ROOT_TYPE[resource];
  return t ? { object: t } : undefined;
}
