// The simulated cluster's configuration: nodes, pods and the resource usage each container is
// configured to have. Usage is constant per container, so the "truth" a metrics pipeline must
// reproduce is known exactly (see truthOf).
//
// Two sources: generateScenario (seeded, deterministic, any size) and loadScenarioFile (a
// hand-written YAML file; schema documented above loadScenarioFile).

import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parse as parseYaml } from "yaml";

export interface SimContainer {
  name: string;
  cpuMilli: number;
  memoryBytes: number;
  startTimeMs: number;
  /** Swap usage in bytes; undefined = 0 (swap off or unused). */
  swapBytes?: number;
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

export interface GenerateOptions {
  nodes: number;
  podsPerNode: number;
  /** Fixed container count per pod; default random 1–3. */
  containersPerPod?: number;
  seed: number;
  /** "127.R" */
  ipBase: string;
  nowMs: number;
  /**
   * Give every container a seeded nonzero swap usage. Drawn from a separate generator, so the
   * scenario is otherwise identical to the one without swap (where every swap is 0).
   */
  swap?: boolean;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------------------------
// Addresses

/** Node i's kubelet address: "127.R.(1 + floor(i/250)).(1 + i % 250)". 127.R.0.x is left to the API server and metrics-server. */
export function nodeIP(ipBase: string, index: number): string {
  if (!/^127\.(\d{1,3})$/.test(ipBase) || Number(ipBase.slice(4)) > 255) {
    throw new Error(`invalid ipBase ${JSON.stringify(ipBase)}: want "127.R" with R in 0..255`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= 250 * 254) {
    throw new RangeError(
      `node index ${index} out of range: a 127.R.0.0/16 range holds nodes 0..${250 * 254 - 1}`,
    );
  }
  return `${ipBase}.${1 + Math.floor(index / 250)}.${1 + (index % 250)}`;
}

// ---------------------------------------------------------------------------------------------
// What a kubelet reports, and the truth derived from it

/** Containers a kubelet reports stats for: regular containers plus running sidecars, only while the pod runs. */
export function reportedContainers(pod: SimPod): SimContainer[] {
  if (pod.phase !== "Running") return [];
  return [...pod.containers, ...pod.initContainers.filter((c) => c.sidecar)];
}

export interface TruthContainer {
  name: string;
  cpuNanocores: number;
  memoryBytes: number;
  swapBytes: number;
}
export interface TruthNode {
  name: string;
  cpuNanocores: number;
  memoryBytes: number;
  /** Overhead swap plus the reported containers' swap (what node_swap_usage_bytes reads). */
  swapBytes: number;
}
export interface TruthPod {
  namespace: string;
  name: string;
  node: string;
  phase: PodPhase;
  containers: TruthContainer[];
}
export interface Truth {
  nodes: TruthNode[];
  pods: TruthPod[];
}

export function milliToNanocores(cpuMilli: number): number {
  return Math.round(cpuMilli * 1e6);
}

/**
 * The configured truth: each node is its overhead plus the containers of the running pods bound to
 * it; each pod lists exactly the containers its kubelet reports (none unless Running).
 */
export function truthOf(s: Scenario): Truth {
  const byNode = new Map<string, TruthNode>();
  const nodes = s.nodes.map((n) => {
    const t = {
      name: n.name,
      cpuNanocores: milliToNanocores(n.overheadCpuMilli),
      memoryBytes: n.overheadMemoryBytes,
      swapBytes: n.overheadSwapBytes ?? 0,
    };
    byNode.set(n.name, t);
    return t;
  });
  const pods = s.pods.map((p) => {
    const containers = reportedContainers(p).map((c) => ({
      name: c.name,
      cpuNanocores: milliToNanocores(c.cpuMilli),
      memoryBytes: c.memoryBytes,
      swapBytes: c.swapBytes ?? 0,
    }));
    const node = byNode.get(p.nodeName);
    if (node) {
      for (const c of containers) {
        node.cpuNanocores += c.cpuNanocores;
        node.memoryBytes += c.memoryBytes;
        node.swapBytes += c.swapBytes;
      }
    }
    return { namespace: p.namespace, name: p.name, node: p.nodeName, phase: p.phase, containers };
  });
  return { nodes, pods };
}

// ---------------------------------------------------------------------------------------------
// Seeded generation

/** sfc32: small, fast, good enough statistically, and identical on every platform. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Mix in the high bits too, then warm up so nearby seeds diverge.
    this.a ^= Math.floor(seed / 2 ** 32) >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (this.a + this.b + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t / 2 ** 32;
  }
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  chars(alphabet: string, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
  uuid(): string {
    const h = this.chars("0123456789abcdef", 32).split("");
    h[12] = "4"; // version 4
    h[16] = "89ab"[Number.parseInt(h[16], 16) & 3]; // RFC 4122 variant
    const s = h.join("");
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
}

// The alphabet Kubernetes uses for generated name suffixes (no vowels, no confusable digits).
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
const HEX = "0123456789abcdef";

interface AppTemplate {
  namespace: string;
  app: string;
  tier?: string;
  extraContainers: readonly string[];
}

const APPS: readonly AppTemplate[] = [
  {
    namespace: "default",
    app: "web",
    tier: "frontend",
    extraContainers: ["log-shipper", "metrics-exporter"],
  },
  { namespace: "default", app: "api", tier: "backend", extraContainers: ["envoy", "log-shipper"] },
  { namespace: "default", app: "worker", tier: "backend", extraContainers: ["statsd", "log-shipper"] },
  { namespace: "kube-system", app: "coredns", extraContainers: ["healthcheck", "metrics"] },
  { namespace: "kube-system", app: "metrics-agent", extraContainers: ["reloader", "exporter"] },
  { namespace: "team-a", app: "checkout", tier: "frontend", extraContainers: ["envoy", "log-shipper"] },
  { namespace: "team-a", app: "payments", tier: "backend", extraContainers: ["envoy", "vault-agent"] },
  { namespace: "team-a", app: "redis", tier: "cache", extraContainers: ["redis-exporter", "sentinel"] },
  { namespace: "team-b", app: "search", tier: "backend", extraContainers: ["envoy", "log-shipper"] },
  { namespace: "team-b", app: "indexer", extraContainers: ["statsd", "log-shipper"] },
  { namespace: "team-b", app: "ui", tier: "frontend", extraContainers: ["nginx-exporter", "log-shipper"] },
  { namespace: "monitoring", app: "prometheus", extraContainers: ["config-reloader", "thanos-sidecar"] },
];

function randomUsage(rng: Rng, startMin: number, startMax: number): Omit<SimContainer, "name"> {
  return {
    cpuMilli: rng.int(20, 500),
    memoryBytes: rng.int(20 * KiB, 500 * KiB) * KiB, // 20–500 MiB in whole KiB
    startTimeMs: rng.int(startMin, startMax),
  };
}

/**
 * A deterministic cluster: the same options give the same scenario. Node i is `node-<i>` at
 * nodeIP(ipBase, i); each node runs one `kube-system/kube-proxy-<5 chars>` and podsPerNode − 1
 * deployment-like pods `<app>-<10 hex>-<5 chars>` spread over several namespaces. About 1 in 5
 * pods has a completed init container, about 1 in 7 a sidecar (restartable init container), and
 * about 1 in 100 is Pending (no containers running, no metrics). Swap is 0 everywhere unless
 * opts.swap, which gives every container (init containers too) 1–128 MiB of swap.
 */
export function generateScenario(opts: GenerateOptions): Scenario {
  const { nodes: nodeCount, podsPerNode, containersPerPod, seed, ipBase, nowMs } = opts;
  for (const [k, v] of [
    ["nodes", nodeCount],
    ["podsPerNode", podsPerNode],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new Error(`generateScenario: ${k} must be a non-negative integer, got ${v}`);
  }
  if (containersPerPod !== undefined && (!Number.isInteger(containersPerPod) || containersPerPod < 1)) {
    throw new Error(`generateScenario: containersPerPod must be a positive integer, got ${containersPerPod}`);
  }
  if (!Number.isFinite(nowMs))
    throw new Error(`generateScenario: nowMs must be a finite number, got ${nowMs}`);
  const rng = new Rng(seed);
  // Its own stream, so turning swap on changes nothing but the swap values.
  const swapRng = opts.swap ? new Rng((seed ^ 0x5bd1e995) >>> 0) : undefined;
  const withSwap = <T extends SimContainer>(c: T): T =>
    swapRng ? { ...c, swapBytes: swapRng.int(KiB, 128 * KiB) * KiB } : c;
  const now = Math.floor(nowMs);
  // Running containers started between 1 h and 10 min ago (the configured range).
  const startMin = now - HOUR;
  const startMax = now - 10 * MINUTE;

  // One ReplicaSet hash per app, as a Deployment would have.
  const templateHash = new Map(APPS.map((a) => [a.app, rng.chars(HEX, 10)]));
  const podNames = new Set<string>();
  const uniqueName = (make: () => string, namespace: string): string => {
    for (;;) {
      const name = make();
      const key = `${namespace}/${name}`;
      if (!podNames.has(key)) {
        podNames.add(key);
        return name;
      }
    }
  };

  const nodes: SimNode[] = [];
  const pods: SimPod[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const name = `node-${i}`;
    const bootTimeMs = now - rng.int(2 * HOUR, 30 * DAY);
    const role = i % 50 === 0 ? "control-plane" : "worker";
    nodes.push({
      name,
      uid: rng.uuid(),
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        [`node-role.kubernetes.io/${role}`]: "",
      },
      internalIP: nodeIP(ipBase, i),
      hostname: name,
      kubeletPort: 10250,
      cpuCores: rng.int(4, 16),
      memoryBytes: rng.int(8, 64) * GiB,
      overheadCpuMilli: rng.int(50, 300),
      overheadMemoryBytes: rng.int(300 * KiB, GiB / KiB) * KiB,
      bootTimeMs,
      creationTimestampMs: bootTimeMs - rng.int(MINUTE, HOUR),
      ready: true,
    });

    for (let j = 0; j < podsPerNode; j++) {
      const isProxy = j === 0;
      const app: AppTemplate = isProxy
        ? {
            namespace: "kube-system",
            app: "kube-proxy",
            extraContainers: ["conntrack-exporter", "log-shipper"],
          }
        : rng.pick(APPS);
      const podName = isProxy
        ? uniqueName(() => `kube-proxy-${rng.chars(SUFFIX_ALPHABET, 5)}`, app.namespace)
        : uniqueName(
            () => `${app.app}-${templateHash.get(app.app)}-${rng.chars(SUFFIX_ALPHABET, 5)}`,
            app.namespace,
          );
      const count = containersPerPod ?? rng.int(1, 3);
      const containers: SimContainer[] = [];
      for (let k = 0; k < count; k++) {
        const cname = k === 0 ? app.app : (app.extraContainers[k - 1] ?? `extra-${k}`);
        containers.push(withSwap({ name: cname, ...randomUsage(rng, startMin, startMax) }));
      }
      const initContainers: SimInitContainer[] = [];
      if (!isProxy && rng.chance(0.2)) {
        // Ran to completion before the main containers started; never reported.
        initContainers.push(
          withSwap({ name: "init-config", sidecar: false, ...randomUsage(rng, startMin, startMax) }),
        );
      }
      if (!isProxy && rng.chance(0.15)) {
        initContainers.push(
          withSwap({ name: "proxy-sidecar", sidecar: true, ...randomUsage(rng, startMin, startMax) }),
        );
      }
      const firstStart = Math.min(
        ...containers.map((c) => c.startTimeMs),
        ...initContainers.map((c) => c.startTimeMs),
      );
      // The pod started (was admitted by the kubelet) shortly before its first container.
      const startTimeMs = firstStart - rng.int(1_000, 20_000);
      const labels: Record<string, string> = isProxy
        ? { "k8s-app": "kube-proxy", "controller-revision-hash": rng.chars(HEX, 10) }
        : { app: app.app, "pod-template-hash": templateHash.get(app.app)! };
      if (app.tier) labels.tier = app.tier;
      pods.push({
        namespace: app.namespace,
        name: podName,
        uid: rng.uuid(),
        nodeName: name,
        labels,
        phase: !isProxy && rng.chance(0.01) ? "Pending" : "Running",
        creationTimestampMs: startTimeMs - rng.int(100, 5_000),
        startTimeMs,
        containers,
        initContainers,
      });
    }
    fitNodeToPods(nodes[nodes.length - 1]!, pods);
  }
  return { nodes, pods };
}

/** Name, namespace and label of the pods addHpaTarget adds. */
export const HPA_TARGET = { app: "hpa-target", namespace: "default" } as const;

/**
 * Adds one Deployment-like group of `replicas` Running pods `hpa-target-<10 hex>-<5 chars>` in
 * namespace default, labelled app=hpa-target, one container each with the usual usage model, placed
 * round-robin over the nodes: a fixed-size target for an HPA-like pod-metrics query, whatever the
 * cluster size. Drawn from its own seeded generator, so the rest of the scenario is unchanged.
 */
export function addHpaTarget(
  scenario: Scenario,
  opts: { replicas: number; seed: number; nowMs: number },
): Scenario {
  const { replicas, seed, nowMs } = opts;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`addHpaTarget: replicas must be a non-negative integer, got ${replicas}`);
  }
  if (replicas === 0) return scenario;
  if (scenario.nodes.length === 0) {
    throw new Error(`addHpaTarget: ${replicas} HPA target pods need at least one node to run on`);
  }
  const rng = new Rng((seed ^ 0x4a9a7e57) >>> 0);
  const now = Math.floor(nowMs);
  const hash = rng.chars(HEX, 10);
  const taken = new Set(scenario.pods.map((p) => `${p.namespace}/${p.name}`));
  const pods: SimPod[] = [];
  for (let i = 0; i < replicas; i++) {
    let name: string;
    do name = `${HPA_TARGET.app}-${hash}-${rng.chars(SUFFIX_ALPHABET, 5)}`;
    while (taken.has(`${HPA_TARGET.namespace}/${name}`));
    taken.add(`${HPA_TARGET.namespace}/${name}`);
    const container = { name: HPA_TARGET.app, ...randomUsage(rng, now - HOUR, now - 10 * MINUTE) };
    const startTimeMs = container.startTimeMs - rng.int(1_000, 20_000);
    pods.push({
      namespace: HPA_TARGET.namespace,
      name,
      uid: rng.uuid(),
      nodeName: scenario.nodes[i % scenario.nodes.length].name,
      labels: { app: HPA_TARGET.app, "pod-template-hash": hash },
      phase: "Running",
      creationTimestampMs: startTimeMs - rng.int(100, 5_000),
      startTimeMs,
      containers: [container],
      initContainers: [],
    });
  }
  return { nodes: scenario.nodes, pods: [...scenario.pods, ...pods] };
}

/**
 * Grows a generated node so its pods use at most ~80 % of it (in steps of 4 cores / 8 GiB), like a
 * scheduler would have ensured; kubectl top's percentages then stay realistic at any pods-per-node.
 */
function fitNodeToPods(node: SimNode, pods: readonly SimPod[]): void {
  let milli = node.overheadCpuMilli;
  let bytes = node.overheadMemoryBytes;
  for (let i = pods.length - 1; i >= 0 && pods[i]!.nodeName === node.name; i--) {
    for (const c of reportedContainers(pods[i]!)) {
      milli += c.cpuMilli;
      bytes += c.memoryBytes;
    }
  }
  const cores = Math.ceil(milli / 1000 / 0.8 / 4) * 4;
  const memory = Math.ceil(bytes / 0.8 / (8 * GiB)) * 8 * GiB;
  node.cpuCores = Math.max(node.cpuCores, cores);
  node.memoryBytes = Math.max(node.memoryBytes, memory);
}

// ---------------------------------------------------------------------------------------------
// Quantities (the Kubernetes resource.Quantity syntax, enough for cpu and memory)

const QUANTITY_SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses "50m", "0.5", "2", "128Mi", "1e3", 3 into a plain number of units; throws on anything else. */
export function parseQuantity(value: unknown): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new Error(`invalid quantity ${value}: must be a non-negative finite number`);
  }
  if (typeof value !== "string")
    throw new Error(`invalid quantity ${JSON.stringify(value)}: want a string like "50m" or "64Mi"`);
  const m = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/.exec(
    value.trim(),
  );
  if (!m)
    throw new Error(
      `invalid quantity ${JSON.stringify(value)}: want a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, …)`,
    );
  const n = Number(m[1] + (m[2] ?? "")) * QUANTITY_SUFFIX[m[3] ?? ""];
  if (!Number.isFinite(n)) throw new Error(`invalid quantity ${JSON.stringify(value)}: out of range`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// YAML scenario files
//
//   # Every field except names is optional.
//   nodes:
//     - name: worker-1                 # required, unique
//       labels: {zone: a}              # merged over kubernetes.io/{hostname,os,arch}
//       cpu: 4                         # capacity, cores (default 4)
//       memory: 16Gi                   # capacity (default 16Gi)
//       overhead: {cpu: 100m, memory: 512Mi, swap: 0}   # system usage outside pods (these defaults)
//       ready: true                    # default true (false: NotReady, but the kubelet still serves)
//       kubeletPort: 10250             # default 10250; 0 = any free port, published in
//                                      #   status.daemonEndpoints.kubeletEndpoint.Port
//       age: 24h                       # time since boot (default 24h); units ms s m h d
//       internalIP: 127.R.9.1          # where the kubelet listens, IPv4 or IPv6 (e.g. "::1"); default:
//                                      #   the first InternalIP in `addresses`, else nodeIP(ipBase, i)
//       addresses:                     # replaces status.addresses (default: InternalIP, Hostname)
//         - {type: ExternalIP, address: 127.R.250.1}  # type: Hostname | InternalIP | ExternalIP |
//         - {type: InternalIP, address: 127.R.9.1}    #   InternalDNS | ExternalDNS; IP types need an IP,
//         - {type: Hostname, address: worker-1}       #   the others a DNS name; [] = no addresses
//       summaryOnly: false             # true: resource metrics answer 404 (at any path), only
//                                      #   /stats/summary is served (like --summary-only-nodes)
//       resourceMetricsPath: /custom   # annotation metrics.k8s.io/resource-metrics-path on the Node; the
//                                      #   kubelet serves resource metrics there (404 on /metrics/resource)
//       servingCertSANs: dns-only      # the kubelet's serving cert has one DNS SAN (the node name) and no
//                                      #   IP SAN, like kubelets with self-signed/CSR certs (default: all)
//   pods:
//     - name: web                      # required, unique per namespace
//       namespace: default             # default "default"
//       node: worker-1                 # default: the nodes in turn
//       labels: {app: web}             # default {}
//       phase: Running                 # Pending | Running | Succeeded | Failed (default Running)
//       age: 30m                       # time since the pod started (default 30m)
//       containers:                    # at least one
//         - name: nginx                # required, unique within the pod
//           cpu: 50m                   # default 100m
//           memory: 50Mi               # default 64Mi
//           swap: 10Mi                 # swap usage (default 0)
//       initContainers:
//         - name: setup                # required
//           sidecar: false             # true = restartPolicy Always: runs beside the containers
//           cpu: 10m                   # (usage while running; a completed init container is not reported)
//           memory: 10Mi
//           swap: 0                    # default 0
//
// Timing: a pod starts `age` before nowMs; its init containers start 1 s later and its containers
// 2 s later. Node i gets nodeIP(ipBase, i) unless it says otherwise. "127.R" at the start of an
// address or internalIP stands for the run's --ip-base, so one file works in any loopback range.
// No two kubelets may share an address and a fixed port.

type Obj = Record<string, unknown>;

class ScenarioFileError extends Error {}

function fail(where: string, problem: string): never {
  throw new ScenarioFileError(where ? `${where}: ${problem}` : problem);
}

function asObject(v: unknown, where: string): Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    fail(where, `want a mapping, got ${describe(v)}`);
  return v as Obj;
}

function asList(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(where, `want a list, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

function checkKeys(o: Obj, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k))
      fail(where, `unknown field ${JSON.stringify(k)} (allowed: ${allowed.join(", ")})`);
  }
}

function str(o: Obj, key: string, where: string, dflt?: string): string {
  const v = o[key];
  if (v === undefined || v === null) {
    if (dflt === undefined) fail(where, `missing required field ${JSON.stringify(key)}`);
    return dflt;
  }
  if (typeof v !== "string" || v === "")
    fail(`${where}.${key}`, `want a non-empty string, got ${describe(v)}`);
  return v;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function name(o: Obj, key: string, where: string, pattern: RegExp, dflt?: string): string {
  const v = str(o, key, where, dflt);
  if (v.length > 253 || !pattern.test(v))
    fail(`${where}.${key}`, `${JSON.stringify(v)} is not a valid Kubernetes name`);
  return v;
}

function labels(o: Obj, where: string): Record<string, string> {
  const v = o.labels;
  if (v === undefined || v === null) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(asObject(v, `${where}.labels`))) {
    // YAML turns `true` and `1` into non-strings; labels are strings, so accept scalars and stringify.
    if (val === null) out[k] = "";
    else if (typeof val === "string" || typeof val === "number" || typeof val === "boolean")
      out[k] = String(val);
    else fail(`${where}.labels.${k}`, `want a string, got ${describe(val)}`);
  }
  return out;
}

function quantity(o: Obj, key: string, where: string, dflt: number): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  try {
    return parseQuantity(v);
  } catch (err) {
    fail(`${where}.${key}`, (err as Error).message);
  }
}

function bool(o: Obj, key: string, where: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") fail(`${where}.${key}`, `want true or false, got ${describe(v)}`);
  return v;
}

const DURATION_UNIT: Record<string, number> = { ms: 1, s: 1000, m: MINUTE, h: HOUR, d: DAY };

function duration(o: Obj, key: string, where: string, dflt: number): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m) fail(`${where}.${key}`, `invalid duration ${describe(v)}: want e.g. "90s", "30m", "2h", "3d"`);
  return Number(m[1]) * DURATION_UNIT[m[2]];
}

const PHASES: readonly PodPhase[] = ["Pending", "Running", "Succeeded", "Failed"];

/** "127.R.x.y" → "<ipBase>.x.y"; anything else unchanged. */
export function substituteIpBase(address: string, ipBase: string): string {
  return address.startsWith("127.R.") ? `${ipBase}.${address.slice("127.R.".length)}` : address;
}

function ipAddress(value: unknown, where: string, ipBase: string): string {
  if (typeof value !== "string" || value === "") fail(where, `want an IP address, got ${describe(value)}`);
  const ip = substituteIpBase(value.trim(), ipBase);
  if (isIP(ip) === 0) {
    fail(
      where,
      `${JSON.stringify(value)} is not an IPv4 or IPv6 address (127.R.x.y stands for the --ip-base range)`,
    );
  }
  return ip;
}

function nodeAddresses(v: unknown, where: string, ipBase: string): NodeAddress[] {
  if (!Array.isArray(v)) fail(where, `want a list of {type, address}, got ${describe(v)}`);
  return v.map((raw, j) => {
    const at = `${where}[${j}]`;
    const o = asObject(raw, at);
    checkKeys(o, ["type", "address"], at);
    const type = str(o, "type", at) as NodeAddressType;
    if (!NODE_ADDRESS_TYPES.includes(type)) {
      fail(`${at}.type`, `want one of ${NODE_ADDRESS_TYPES.join(", ")}, got ${JSON.stringify(type)}`);
    }
    if (type === "InternalIP" || type === "ExternalIP") {
      return { type, address: ipAddress(o.address, `${at}.address`, ipBase) };
    }
    const address = str(o, "address", at);
    if (address.length > 253 || !DNS_SUBDOMAIN.test(address)) {
      fail(`${at}.address`, `${JSON.stringify(address)} is not a valid DNS name for a ${type} address`);
    }
    return { type, address };
  });
}

// URL path characters (RFC 3986 pchar and "/"); no query or fragment.
const URL_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

function resourceMetricsPath(o: Obj, where: string): string | undefined {
  if (o.resourceMetricsPath === undefined || o.resourceMetricsPath === null) return undefined;
  const path = str(o, "resourceMetricsPath", where);
  if (!URL_PATH.test(path)) {
    fail(
      `${where}.resourceMetricsPath`,
      `${JSON.stringify(path)} is not a URL path: want "/" followed by path characters, no query or fragment`,
    );
  }
  if (path === "/stats/summary") {
    fail(`${where}.resourceMetricsPath`, `"/stats/summary" is the Summary API; pick another path`);
  }
  return path;
}

/** "host:port" with IPv6 bracketed, and the IP in its canonical form so equal addresses compare equal. */
function listenKey(ip: string, port: number): string {
  return isIP(ip) === 6 ? `${new URL(`http://[${ip}]/`).host}:${port}` : `${ip}:${port}`;
}

/** Deterministic uid from a name, so a scenario file always yields the same uids. */
function uidFor(kind: string, key: string): string {
  let h = 2166136261;
  for (const ch of `${kind}/${key}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return new Rng(h >>> 0).uuid();
}

function parseContainer(raw: unknown, where: string, startTimeMs: number, init: boolean): SimInitContainer {
  const o = asObject(raw, where);
  checkKeys(
    o,
    init ? ["name", "cpu", "memory", "swap", "sidecar"] : ["name", "cpu", "memory", "swap"],
    where,
  );
  const cpuCores = quantity(o, "cpu", where, 0.1);
  const memory = quantity(o, "memory", where, 64 * MiB);
  return {
    name: name(o, "name", where, DNS_LABEL),
    cpuMilli: Math.round(cpuCores * 1e9) / 1e6, // nanocore precision, as Kubernetes keeps it
    memoryBytes: Math.ceil(memory), // fractional bytes round up, as Kubernetes does
    swapBytes: Math.ceil(quantity(o, "swap", where, 0)),
    startTimeMs,
    sidecar: init ? bool(o, "sidecar", where, false) : false,
  };
}

export function parseScenario(doc: unknown, opts: { ipBase: string; nowMs: number }): Scenario {
  const now = Math.floor(opts.nowMs);
  const root = asObject(doc ?? {}, "");
  checkKeys(root, ["nodes", "pods"], "top level");
  const nodes: SimNode[] = [];
  const nodeNames = new Set<string>();
  const listenAddresses = new Map<string, string>();
  asList(root.nodes, "nodes").forEach((raw, i) => {
    const where = `nodes[${i}]`;
    const o = asObject(raw, where);
    checkKeys(
      o,
      [
        "name",
        "labels",
        "cpu",
        "memory",
        "overhead",
        "ready",
        "kubeletPort",
        "age",
        "internalIP",
        "addresses",
        "summaryOnly",
        "resourceMetricsPath",
        "servingCertSANs",
      ],
      where,
    );
    const nodeName = name(o, "name", where, DNS_SUBDOMAIN);
    if (nodeNames.has(nodeName)) fail(`${where}.name`, `duplicate node name ${JSON.stringify(nodeName)}`);
    nodeNames.add(nodeName);
    const overhead = asObject(o.overhead ?? {}, `${where}.overhead`);
    checkKeys(overhead, ["cpu", "memory", "swap"], `${where}.overhead`);
    const port = o.kubeletPort ?? 10250;
    if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
      fail(
        `${where}.kubeletPort`,
        `want a port number 1..65535, or 0 for any free port, got ${describe(port)}`,
      );
    }
    const addresses =
      o.addresses === undefined || o.addresses === null
        ? undefined
        : nodeAddresses(o.addresses, `${where}.addresses`, opts.ipBase);
    const internalIP =
      o.internalIP !== undefined && o.internalIP !== null
        ? ipAddress(o.internalIP, `${where}.internalIP`, opts.ipBase)
        : (addresses?.find((a) => a.type === "InternalIP")?.address ?? nodeIP(opts.ipBase, i));
    if (port !== 0) {
      const key = listenKey(internalIP, port as number);
      const other = listenAddresses.get(key);
      if (other !== undefined) {
        fail(where, `kubelet address ${key} is already used by node ${JSON.stringify(other)}`);
      }
      listenAddresses.set(key, nodeName);
    }
    const metricsPath = resourceMetricsPath(o, where);
    const summaryOnly = bool(o, "summaryOnly", where, false);
    const sans = o.servingCertSANs;
    if (sans !== undefined && sans !== null && sans !== "dns-only" && sans !== "all") {
      fail(`${where}.servingCertSANs`, `want "dns-only" or "all", got ${describe(sans)}`);
    }
    const bootTimeMs = now - duration(o, "age", where, DAY);
    nodes.push({
      name: nodeName,
      uid: uidFor("node", nodeName),
      labels: {
        "kubernetes.io/hostname": nodeName,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ...labels(o, where),
      },
      internalIP,
      hostname: addresses?.find((a) => a.type === "Hostname")?.address ?? nodeName,
      kubeletPort: port as number,
      ...(addresses ? { addresses } : {}),
      ...(summaryOnly ? { summaryOnly } : {}),
      ...(metricsPath ? { resourceMetricsPath: metricsPath } : {}),
      ...(sans === "dns-only" ? { servingCertSANs: "dns-only" as const } : {}),
      cpuCores: quantity(o, "cpu", where, 4),
      memoryBytes: Math.ceil(quantity(o, "memory", where, 16 * GiB)),
      overheadCpuMilli: Math.round(quantity(overhead, "cpu", `${where}.overhead`, 0.1) * 1e9) / 1e6,
      overheadMemoryBytes: Math.ceil(quantity(overhead, "memory", `${where}.overhead`, 512 * MiB)),
      overheadSwapBytes: Math.ceil(quantity(overhead, "swap", `${where}.overhead`, 0)),
      bootTimeMs,
      creationTimestampMs: bootTimeMs - MINUTE,
      ready: bool(o, "ready", where, true),
    });
  });

  const pods: SimPod[] = [];
  const podKeys = new Set<string>();
  asList(root.pods, "pods").forEach((raw, i) => {
    const where = `pods[${i}]`;
    const o = asObject(raw, where);
    checkKeys(
      o,
      ["name", "namespace", "node", "labels", "phase", "age", "containers", "initContainers"],
      where,
    );
    const podName = name(o, "name", where, DNS_SUBDOMAIN);
    const namespace = name(o, "namespace", where, DNS_LABEL, "default");
    const key = `${namespace}/${podName}`;
    if (podKeys.has(key)) fail(`${where}.name`, `duplicate pod ${key}`);
    podKeys.add(key);
    if (nodes.length === 0 && o.node === undefined)
      fail(where, "no node to place the pod on: add nodes or set node");
    const nodeName = str(o, "node", where, nodes[i % Math.max(nodes.length, 1)]?.name);
    if (!nodeNames.has(nodeName)) fail(`${where}.node`, `unknown node ${JSON.stringify(nodeName)}`);
    const phase = str(o, "phase", where, "Running") as PodPhase;
    if (!PHASES.includes(phase))
      fail(`${where}.phase`, `want one of ${PHASES.join(", ")}, got ${JSON.stringify(phase)}`);
    const startTimeMs = now - duration(o, "age", where, 30 * MINUTE);
    const containers = asList(o.containers, `${where}.containers`).map((c, j) => {
      const { sidecar: _, ...plain } = parseContainer(
        c,
        `${where}.containers[${j}]`,
        startTimeMs + 2000,
        false,
      );
      return plain;
    });
    if (containers.length === 0) fail(`${where}.containers`, "a pod needs at least one container");
    const initContainers = asList(o.initContainers, `${where}.initContainers`).map((c, j) =>
      parseContainer(c, `${where}.initContainers[${j}]`, startTimeMs + 1000, true),
    );
    const seen = new Set<string>();
    for (const c of [...containers, ...initContainers]) {
      if (seen.has(c.name)) fail(where, `duplicate container name ${JSON.stringify(c.name)}`);
      seen.add(c.name);
    }
    pods.push({
      namespace,
      name: podName,
      uid: uidFor("pod", key),
      nodeName,
      labels: labels(o, where),
      phase,
      creationTimestampMs: startTimeMs - 1000,
      startTimeMs,
      containers,
      initContainers,
    });
  });
  return { nodes, pods };
}

/** Reads a YAML scenario file (schema above). Throws an Error naming the file and the problem. */
export function loadScenarioFile(path: string, opts: { ipBase: string; nowMs: number }): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`scenario file ${path}: cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`scenario file ${path}: invalid YAML: ${(err as Error).message}`);
  }
  try {
    return parseScenario(doc, opts);
  } catch (err) {
    if (err instanceof ScenarioFileError) throw new Error(`scenario file ${path}: ${err.message}`);
    throw new Error(`scenario file ${path}: ${(err as Error).message}`);
  }
}
