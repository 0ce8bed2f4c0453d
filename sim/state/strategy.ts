// What kube-apiserver's registry strategies do on create, for the simulator's resources: a posted Node
// or Pod becomes a scenario node or pod (so a kubelet reports it), Services and APIServices get their
// defaults and validation.

import { isIP } from "node:net";
import { quantityOrUndefined } from "../quantity.ts";
import {
  NODE_ADDRESS_TYPES,
  type NodeAddress,
  type PodPhase,
  RESOURCE_METRICS_PATH_ANNOTATION,
  type SimContainer,
  type SimNode,
  type SimPod,
} from "../types.ts";
import { invalid } from "./errors.ts";
import type { KubeObject } from "./resources.ts";

const MI = 1024 * 1024;
const GI = 1024 * MI;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

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
  const cpu = quantityOrUndefined(requests.cpu);
  const mem = quantityOrUndefined(requests.memory);
  return {
    name: String(c.name),
    cpuMilli: cpu !== undefined ? Math.max(1, Math.round(cpu * 1000)) : DEFAULT_CPU_MILLI,
    memoryBytes: mem !== undefined ? Math.max(1, Math.round(mem)) : DEFAULT_MEMORY,
    startTimeMs,
  };
}

/**
 * The scenario node a posted Node body describes. `allocateIP` gives the InternalIP of a node posted
 * without one (undefined: such a node is invalid).
 */
export function simNodeFrom(
  body: Record<string, unknown>,
  name: string,
  uid: string,
  nowMs: number,
  allocateIP: (() => string) | undefined,
): SimNode {
  const meta = body.metadata as Record<string, unknown>;
  const status = isRecord(body.status) ? body.status : {};
  const addresses = Array.isArray(status.addresses) ? status.addresses.filter(isRecord) : [];
  const addr = (type: string) => {
    const a = addresses.find((x) => x.type === type);
    return typeof a?.address === "string" ? a.address : undefined;
  };
  let internalIP = addr("InternalIP");
  if (!internalIP) {
    if (!allocateIP) {
      throw invalid("Node", name, "status.addresses: Required value: an InternalIP address is required");
    }
    internalIP = allocateIP();
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
    cpuCores: quantityOrUndefined(capacity.cpu) ?? 4,
    memoryBytes: Math.round(quantityOrUndefined(capacity.memory) ?? 16 * GI),
    overheadCpuMilli: 100,
    overheadMemoryBytes: 512 * MI,
    bootTimeMs: nowMs,
    creationTimestampMs: nowMs,
    ready: ready ? ready.status === "True" : true,
  };
}

/** The scenario pod a posted Pod body describes. */
export function simPodFrom(
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
  const {
    name: _n,
    namespace: _ns,
    uid: _u,
    labels: _l,
    resourceVersion: _rv,
    creationTimestamp: _c,
    ...extra
  } = meta;
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
    api: { metadata: structuredClone(extra), spec: structuredClone(spec) },
  };
}

export function defaultService(obj: KubeObject, nowMs: number): void {
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

export function validateAPIService(obj: KubeObject): void {
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

function defaults(target: Record<string, unknown>, values: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(values)) target[k] ??= v;
}

function record(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (isRecord(v)) return v;
  const fresh: Record<string, unknown> = {};
  parent[key] = fresh;
  return fresh;
}

function defaultProbe(p: unknown): void {
  if (isRecord(p))
    defaults(p, { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
}

/** kube-apiserver's defaults for a pod template's spec (the ones a `kubectl get -o yaml` shows). */
function defaultPodSpec(spec: Record<string, unknown>): void {
  defaults(spec, {
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    schedulerName: "default-scheduler",
    securityContext: {},
  });
  if (typeof spec.serviceAccountName === "string") spec.serviceAccount ??= spec.serviceAccountName;
  for (const list of ["containers", "initContainers"]) {
    const containers = Array.isArray(spec[list]) ? (spec[list] as unknown[]) : [];
    for (const c of containers) {
      if (!isRecord(c)) continue;
      const image = typeof c.image === "string" ? c.image : "";
      const tag = image.includes("@") ? "digest" : (/:([^/:]+)$/.exec(image)?.[1] ?? "latest");
      defaults(c, {
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
        imagePullPolicy: tag === "latest" ? "Always" : "IfNotPresent",
        resources: {},
      });
      if (Array.isArray(c.ports)) for (const p of c.ports) if (isRecord(p)) p.protocol ??= "TCP";
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) defaultProbe(c[probe]);
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const httpGet = isRecord(c[probe]) ? (c[probe] as Record<string, unknown>).httpGet : undefined;
        if (isRecord(httpGet)) httpGet.scheme ??= "HTTP";
      }
    }
  }
}

/** What kube-apiserver's defaulting does to a Deployment (apps/v1 SetDefaults_Deployment). */
export function defaultDeployment(obj: KubeObject): void {
  const spec = record(obj, "spec");
  defaults(spec, { replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600 });
  const strategy = record(spec, "strategy");
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") {
    defaults(record(strategy, "rollingUpdate"), { maxUnavailable: "25%", maxSurge: "25%" });
  }
  defaultPodSpec(record(record(spec, "template"), "spec"));
}

/** Required fields of a Deployment that kube-apiserver's validation checks (422 Invalid). */
export function validateDeployment(obj: KubeObject): void {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const name = obj.metadata.name;
  const selector = isRecord(spec.selector) ? spec.selector : undefined;
  if (!selector) throw invalid("Deployment.apps", name, "spec.selector: Required value");
  const template = isRecord(spec.template) ? spec.template : {};
  const meta = isRecord(template.metadata) ? template.metadata : {};
  const labels = isRecord(meta.labels) ? meta.labels : {};
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  for (const [k, v] of Object.entries(matchLabels)) {
    if (labels[k] !== v) {
      throw invalid(
        "Deployment.apps",
        name,
        "spec.template.metadata.labels: Invalid value: map[string]string{...}: `selector` does not match template `labels`",
      );
    }
  }
  const podSpec = isRecord(template.spec) ? template.spec : {};
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
  if (containers.length === 0)
    throw invalid("Deployment.apps", name, "spec.template.spec.containers: Required value");
  containers.forEach((c, i) => {
    if (!isRecord(c) || typeof c.name !== "string" || c.name === "")
      throw invalid("Deployment.apps", name, `spec.template.spec.containers[${i}].name: Required value`);
    if (typeof c.image !== "string" || c.image === "")
      throw invalid("Deployment.apps", name, `spec.template.spec.containers[${i}].image: Required value`);
  });
}

/** Namespace defaults: the kubernetes finalizer and phase Active. */
export function defaultNamespace(obj: KubeObject): void {
  defaults(record(obj, "spec"), { finalizers: ["kubernetes"] });
  obj.status = { phase: "Active" };
}

/** Secret: stringData is written into data (base64) and not stored; type defaults to Opaque. */
export function defaultSecret(obj: KubeObject): void {
  obj.type ??= "Opaque";
  if (isRecord(obj.stringData)) {
    const data = record(obj, "data");
    for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v)).toString("base64");
  }
  delete obj.stringData;
}

const RBAC_KINDS: Record<string, string> = {
  clusterroles: "ClusterRole.rbac.authorization.k8s.io",
  roles: "Role.rbac.authorization.k8s.io",
  clusterrolebindings: "ClusterRoleBinding.rbac.authorization.k8s.io",
  rolebindings: "RoleBinding.rbac.authorization.k8s.io",
};

/**
 * kube-apiserver's validation of RBAC objects (the checks that keep the authorizer's model sound):
 * every rule has verbs and names resources or URLs, a binding's roleRef is complete and never changes.
 */
export function validateRbac(resource: string, obj: KubeObject, old: KubeObject | undefined): void {
  const kind = RBAC_KINDS[resource];
  if (!kind) return;
  const name = obj.metadata.name;
  if (resource === "clusterroles" || resource === "roles") {
    const rules = Array.isArray(obj.rules) ? obj.rules : obj.rules === undefined ? [] : undefined;
    if (!rules) throw invalid(kind, name, "rules: Invalid value: must be a list");
    rules.forEach((r, i) => {
      const rule = isRecord(r) ? r : {};
      if (!Array.isArray(rule.verbs) || rule.verbs.length === 0) {
        throw invalid(kind, name, `rules[${i}].verbs: Required value: verbs must contain at least one value`);
      }
      const urls = Array.isArray(rule.nonResourceURLs) && rule.nonResourceURLs.length > 0;
      if (urls && resource === "roles") {
        throw invalid(
          kind,
          name,
          `rules[${i}].nonResourceURLs: Invalid value: namespaced rules cannot apply to non-resource URLs`,
        );
      }
      if (!urls && !(Array.isArray(rule.apiGroups) && Array.isArray(rule.resources))) {
        throw invalid(
          kind,
          name,
          `rules[${i}].apiGroups: Required value: resource rules must supply at least one api group`,
        );
      }
    });
    return;
  }
  const ref = isRecord(obj.roleRef) ? obj.roleRef : {};
  const kinds = resource === "rolebindings" ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(String(ref.kind))) {
    throw invalid(
      kind,
      name,
      `roleRef.kind: Unsupported value: ${JSON.stringify(ref.kind ?? "")}: supported values: ${kinds.map((k) => `"${k}"`).join(", ")}`,
    );
  }
  if (typeof ref.name !== "string" || ref.name === "")
    throw invalid(kind, name, "roleRef.name: Required value");
  if (old && JSON.stringify(old.roleRef) !== JSON.stringify(obj.roleRef)) {
    throw invalid(kind, name, "roleRef: Invalid value: cannot change roleRef");
  }
  const subjects = Array.isArray(obj.subjects) ? obj.subjects : [];
  subjects.forEach((s, i) => {
    const subject = isRecord(s) ? s : {};
    if (!["User", "Group", "ServiceAccount"].includes(String(subject.kind))) {
      throw invalid(
        kind,
        name,
        `subjects[${i}].kind: Unsupported value: ${JSON.stringify(subject.kind ?? "")}: supported values: "ServiceAccount", "User", "Group"`,
      );
    }
    if (typeof subject.name !== "string" || subject.name === "")
      throw invalid(kind, name, `subjects[${i}].name: Required value`);
  });
}
