// The simulated cluster's data model, shared by every part of the simulator: the scenario's nodes, pods
// and containers with their configured usage, the users requests are made as, and the kubelets' view of
// the cluster. Types only, plus the one rule everyone agrees on (which containers a kubelet reports),
// so no part needs to import another part for them.

export interface SimContainer {
  name: string;
  cpuMilli: number;
  memoryBytes: number;
  startTimeMs: number;
  /** Restarts so far (POST /sim/restart); undefined = 0. */
  restartCount?: number;
  /** When the run before the last restart started (its lastState.terminated), Unix ms. */
  previousStartTimeMs?: number;
  /** Swap usage in bytes; undefined = 0 (swap off or unused). */
  swapBytes?: number;
  /**
   * Where a container the runtime really runs measures its usage (undefined: the configured model).
   * Returns undefined while no process runs.
   */
  liveUsage?: () => ContainerUsage | undefined;
}

/** A running process tree's usage, as the kubelet reads it from /proc. */
export interface ContainerUsage {
  /** Cumulative CPU time in core-seconds since the container started. */
  cpuSeconds: number;
  /** The recent CPU rate in millicores (between the last two readings). */
  cpuMilli: number;
  /** Working set (resident memory) in bytes. */
  memoryBytes: number;
}

/** sidecar = restartPolicy Always: running and reported by the kubelet; otherwise it ran to completion and is not reported. */
export interface SimInitContainer extends SimContainer {
  sidecar: boolean;
}

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed";

export interface SimPod {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  labels: Record<string, string>;
  phase: PodPhase;
  creationTimestampMs: number;
  startTimeMs: number;
  containers: SimContainer[];
  initContainers: SimInitContainer[];
  /** For pods created through the API: what was posted, and the status the control plane wrote. */
  api?: PodApiFields;
}

/** A posted pod's fields beyond the scenario model, served back as they were posted. */
export interface PodApiFields {
  /** metadata besides name, namespace, uid, labels (annotations, ownerReferences, generateName...). */
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
  /** Written by the scheduler and the runtime; undefined = derived from the phase, as for scenario pods. */
  status?: Record<string, unknown>;
}

export type NodeAddressType = "Hostname" | "InternalIP" | "ExternalIP" | "InternalDNS" | "ExternalDNS";

export const NODE_ADDRESS_TYPES: readonly NodeAddressType[] = [
  "Hostname",
  "InternalIP",
  "ExternalIP",
  "InternalDNS",
  "ExternalDNS",
];

export interface NodeAddress {
  type: NodeAddressType;
  address: string;
}

/** The node annotation metrics-server reads to scrape a kubelet path other than /metrics/resource. */
export const RESOURCE_METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path";

export interface SimNode {
  name: string;
  uid: string;
  labels: Record<string, string>;
  /** Where the kubelet listens (IPv4 or IPv6). */
  internalIP: string;
  hostname: string;
  /** 0 = any free port, replaced by the bound port once the kubelet listens. */
  kubeletPort: number;
  /** Replaces the default status.addresses (InternalIP + Hostname); the kubelet still listens on internalIP only. */
  addresses?: NodeAddress[];
  /** The kubelet answers 404 for resource metrics (at any path) and serves only /stats/summary. */
  summaryOnly?: boolean;
  /** Published as the resource-metrics-path annotation; the kubelet serves resource metrics there instead of /metrics/resource. */
  resourceMetricsPath?: string;
  /** "dns-only": the kubelet's serving certificate names only the node (one DNS SAN), no IP. */
  servingCertSANs?: "dns-only";
  cpuCores: number;
  memoryBytes: number;
  overheadCpuMilli: number;
  overheadMemoryBytes: number;
  /** Swap used outside pods; undefined = 0. The node reports this plus its pods' swap. */
  overheadSwapBytes?: number;
  bootTimeMs: number;
  creationTimestampMs: number;
  ready: boolean;
}

export interface Scenario {
  nodes: SimNode[];
  pods: SimPod[];
}

/** A user as authentication yields it and RBAC sees it. */
export interface UserInfo {
  name: string;
  groups: string[];
  /** Extra attributes (scopes, credential ids...): forwarded as X-Remote-Extra-<key>. */
  extra?: Record<string, string[]>;
}

/** Kubelet faults that distort an otherwise healthy body (sim/kubelet/fault-bodies.ts). */
export const BODY_FAULT_KINDS = [
  "nan",
  "inf",
  "negative",
  "absurd-cpu",
  "absurd-memory",
  "counter-reset",
  "duplicate-series",
  "no-timestamp",
  "future-timestamp",
  "backwards-timestamp",
  "missing-families",
  "zero-cpu",
  "zero-memory",
] as const;
export type BodyFaultKind = (typeof BODY_FAULT_KINDS)[number];

/** The kubelet's serving certificate under a TLS fault. */
export type TlsFaultKind = "tls-expired" | "wrong-ca" | "wrong-name";

/** The HTTP statuses a `status:CODE` fault may answer with. */
export const FAULT_STATUS_CODES = [401, 403, 404, 500, 503] as const;

/**
 * How a node's kubelet misbehaves, as a `--fault NODE=SPEC` or POST /sim/faults SPEC names it
 * (parsed by sim/options.ts parseFaultSpec, which also lists what each kind does).
 */
export type KubeletFault =
  | { kind: "hang" | "reset" | "refuse" | "truncated" | "garbage" | "huge" }
  | { kind: "delay"; ms: number }
  | { kind: "status"; code: (typeof FAULT_STATUS_CODES)[number] }
  | { kind: BodyFaultKind }
  | { kind: "flap"; periodMs: number }
  | { kind: "not-ready" }
  | { kind: "delete-mid-scrape"; recreateAfterMs: number }
  | { kind: TlsFaultKind };

export type KubeletFaultKind = KubeletFault["kind"];

/** The cluster state, owned by the simulated API server; pods can be added and deleted at run time. */
export interface KubeletView {
  node(name: string): SimNode | undefined;
  podsOnNode(nodeName: string): readonly SimPod[];
}

/** Containers a kubelet reports stats for: regular containers plus running sidecars, only while the pod runs. */
export function reportedContainers(pod: SimPod): SimContainer[] {
  if (pod.phase !== "Running") return [];
  return [...pod.containers, ...pod.initContainers.filter((c) => c.sidecar)];
}
