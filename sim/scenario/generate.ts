// Seeded, deterministic scenarios of any size (generateScenario), the optional HPA target pods
// (addHpaTarget), and the kubelet addresses nodes get (nodeIP). Usage is constant per container, so the
// truth a metrics pipeline must reproduce is known exactly.

import {
  reportedContainers,
  type Scenario,
  type SimContainer,
  type SimInitContainer,
  type SimNode,
  type SimPod,
} from "../types.ts";
import { Rng } from "./rng.ts";

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
