// Fake kubelets: one HTTPS listener per simulated node serving /metrics/resource (kubelet 1.33 text
// format) and /stats/summary (Summary API JSON), computed on every request from the configured
// usage, so rates between any two scrapes are exact. Optionally a second, plain-HTTP listener per
// node with the same handlers, like the kubelet's read-only port.

import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as http from "node:http";
import * as https from "node:https";
import { type AddressInfo, isIP, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { UserInfo } from "./aggregator.ts";
import { certUser } from "./authn.ts";
import { ByteWriter, GzipEncoder } from "./body.ts";
import { ServingCertIssuer } from "./leafcert.ts";
import type { CA, CertAndKey } from "./pki.ts";
import { createCA, createKeyPair, type KeyPairWithPem } from "./pki.ts";
import { escapeHelp, escapeLabelValue, formatGoFloat } from "./promtext.ts";
import type { Rbac } from "./rbac.ts";
import { reportedContainers, type SimContainer, type SimNode, type SimPod } from "./scenario.ts";
import { bearerToken, type TokenTable } from "./tokens.ts";

/** The cluster state, owned by the simulated API server; pods can be added and deleted at run time. */
export interface KubeletView {
  node(name: string): SimNode | undefined;
  podsOnNode(nodeName: string): readonly SimPod[];
}

/** wrong-ca: the kubelet serves a certificate from a CA the cluster does not know. */
export type KubeletFault = "hang" | "http500" | "garbage" | "wrong-ca";

/**
 * How the kubelets authenticate and authorize callers (as --client-ca-file, webhook token
 * authentication and webhook authorization would, answered in-process).
 */
export interface KubeletAuth {
  tokens: TokenTable;
  rbac: Rbac;
}

// ---------------------------------------------------------------------------------------------
// Counters

/** A container's cumulative CPU in core-seconds at time tMs: its rate times its age. */
export function containerCpuSeconds(c: Pick<SimContainer, "cpuMilli" | "startTimeMs">, tMs: number): number {
  // One product and one division: exact for whole millicores and milliseconds up to 2^53.
  return (c.cpuMilli * Math.max(0, tMs - c.startTimeMs)) / 1e6;
}

interface SeenContainer {
  cpuMilli: number;
  startTimeMs: number;
  lastSeenMs: number;
}

/**
 * Per-node memory that keeps the node's CPU counter from going backwards when containers go away
 * (pod deleted, pod finished, container restarted with a new start time or rate): the CPU a
 * vanished container had used when it was last reported moves into `retiredCpuSeconds`.
 */
export class NodeCounterState {
  retiredCpuSeconds = 0;
  /**
   * The latest node counter reported and its time: moving a term into retiredCpuSeconds changes the
   * order of float additions, which can round the sum a last bit lower than before.
   */
  latestNodeCpu = { tMs: Number.NEGATIVE_INFINITY, seconds: 0 };
  private readonly seen = new Map<string, SeenContainer>();
  /** The layout last built for this node, reused while its node and pods stay the same objects. */
  layout: NodeLayout | undefined;
  /**
   * The layout the last observeLayout saw and the latest time it was seen at: while it stays the same,
   * a request only moves this time instead of touching every container's entry.
   */
  private observed: { layout: NodeLayout; lastSeenMs: number } | undefined;

  /** observe() for a layout's containers; O(1) while the layout is the one observed last time. */
  observeLayout(layout: NodeLayout, tMs: number): void {
    if (this.observed?.layout === layout) {
      this.observed.lastSeenMs = Math.max(this.observed.lastSeenMs, tMs);
      return;
    }
    this.observe(layout.current, tMs);
    this.observed = { layout, lastSeenMs: tMs };
  }

  /** Records the containers reported at tMs and retires those that disappeared since the last call. */
  observe(current: ReadonlyMap<string, Pick<SimContainer, "cpuMilli" | "startTimeMs">>, tMs: number): void {
    // Bring the lazily kept last-seen time of the previously observed layout into the entries first.
    if (this.observed) {
      for (const key of this.observed.layout.current.keys()) {
        const entry = this.seen.get(key);
        if (entry) entry.lastSeenMs = Math.max(entry.lastSeenMs, this.observed.lastSeenMs);
      }
      this.observed = undefined;
    }
    for (const [key, c] of this.seen) {
      if (!current.has(key)) {
        this.retiredCpuSeconds += containerCpuSeconds(c, c.lastSeenMs);
        this.seen.delete(key);
      }
    }
    for (const [key, c] of current) {
      const prev = this.seen.get(key);
      if (prev) prev.lastSeenMs = Math.max(prev.lastSeenMs, tMs);
      else this.seen.set(key, { cpuMilli: c.cpuMilli, startTimeMs: c.startTimeMs, lastSeenMs: tMs });
    }
  }
}

function comparePods(a: SimPod, b: SimPod): number {
  return a.namespace < b.namespace
    ? -1
    : a.namespace > b.namespace
      ? 1
      : a.name < b.name
        ? -1
        : a.name > b.name
          ? 1
          : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface LayoutContainer {
  container: SimContainer;
  /** Index into the per-request CPU array (pod order, then container order). */
  index: number;
}
interface LayoutPod {
  pod: SimPod;
  containers: LayoutContainer[];
  memoryBytes: number;
  swapBytes: number;
  rateMilli: number;
}

/**
 * Everything about a node's reports that does not depend on the time: the running pods in name
 * order, their containers, label strings and constant values, and the container samples in the
 * order the exposition sorts them. Built once per change of the node's pods; SimNode and SimPod
 * objects are treated as immutable (the cluster replaces them on every change).
 */
export interface NodeLayout {
  node: SimNode;
  /** The pods array as given (a copy), to recognise an unchanged set by element identity. */
  pods: readonly SimPod[];
  /** Pods with at least one reported container, sorted by namespace and name. */
  reported: LayoutPod[];
  containerCount: number;
  /** Identity keys of the reported containers, for NodeCounterState. */
  current: Map<string, SimContainer>;
  podsMemoryBytes: number;
  podsSwapBytes: number;
  podsRateMilli: number;
  /** The /metrics/resource body with its per-request values left out (see ResourceTemplate). */
  template: ResourceTemplate;
  /**
   * Scratch for the per-request CPU figures, reused by every render of this layout (rendering is
   * synchronous): typed arrays this size live off the V8 heap, and allocating two per request cost
   * more than filling them.
   */
  containerCpu: Float64Array;
  podCpu: Float64Array;
}

// Value codes of a ResourceTemplate op (codes >= 0 index the container CPU figures, then the pods').
const OP_TEXT = -1;
const OP_STAMP = -2;
const OP_NODE_CPU = -3;

/**
 * A node's /metrics/resource body as constant bytes plus ops: op i copies text[ends[2i-2]..ends[2i]]
 * (from 0 for the first) and then writes its value: nothing (OP_TEXT), the timestamp (OP_STAMP), or a
 * CPU figure followed by the timestamp.
 */
interface ResourceTemplate {
  text: Buffer;
  /** Pairs (end offset in text, value code). */
  ops: Int32Array;
}

function buildLayout(node: SimNode, pods: readonly SimPod[]): NodeLayout {
  const reported: LayoutPod[] = [];
  const current = new Map<string, SimContainer>();
  let index = 0;
  let podsMemoryBytes = 0;
  let podsSwapBytes = 0;
  let podsRateMilli = 0;
  for (const pod of [...pods].sort(comparePods)) {
    if (pod.nodeName !== node.name) continue;
    const containers = reportedContainers(pod);
    if (containers.length === 0) continue;
    let memoryBytes = 0;
    let swapBytes = 0;
    let rateMilli = 0;
    const entries = containers.map((c) => {
      // Rate and start time are part of the identity: a change is a new container (like a restart).
      current.set(`${pod.namespace}/${pod.name}/${pod.uid}/${c.name}/${c.cpuMilli}/${c.startTimeMs}`, c);
      memoryBytes += c.memoryBytes;
      swapBytes += c.swapBytes ?? 0;
      rateMilli += c.cpuMilli;
      return { container: c, index: index++ };
    });
    podsMemoryBytes += memoryBytes;
    podsSwapBytes += swapBytes;
    // Summed pod by pod, the order the Summary's figures were always added in.
    podsRateMilli += rateMilli;
    reported.push({ pod, containers: entries, memoryBytes, swapBytes, rateMilli });
  }
  return {
    node,
    pods: [...pods],
    reported,
    containerCount: index,
    current,
    podsMemoryBytes,
    podsSwapBytes,
    podsRateMilli,
    template: buildTemplate(node, reported, index, podsMemoryBytes, podsSwapBytes),
    containerCpu: new Float64Array(index),
    podCpu: new Float64Array(reported.length),
  };
}

/**
 * The /metrics/resource body as client_golang writes it (families by name, samples by label values,
 * empty families left out), with everything but the CPU counters and the timestamp precomputed.
 */
function buildTemplate(
  node: SimNode,
  reported: readonly LayoutPod[],
  containerCount: number,
  podsMemoryBytes: number,
  podsSwapBytes: number,
): ResourceTemplate {
  const pieces: string[] = [];
  const ops: number[] = [];
  let length = 0;
  let pending = "";
  const text = (t: string) => {
    pending += t;
  };
  const op = (t: string, value: number) => {
    const piece = pending + t;
    pending = "";
    pieces.push(piece);
    length += Buffer.byteLength(piece);
    ops.push(length, value);
  };
  const podLabels = reported.map(
    (p) => `namespace="${escapeLabelValue(p.pod.namespace)}",pod="${escapeLabelValue(p.pod.name)}"`,
  );
  // Samples sort by label values in label-name order (container, namespace, pod); stable, like Go's.
  const metricsOrder = reported
    .flatMap((p, i) => p.containers.map((c) => ({ c, pod: p.pod, podLabels: podLabels[i] })))
    .sort(
      (a, b) =>
        compareStrings(a.c.container.name, b.c.container.name) ||
        compareStrings(a.pod.namespace, b.pod.namespace) ||
        compareStrings(a.pod.name, b.pod.name),
    )
    .map(({ c, podLabels }) => ({
      c,
      labels: `{container="${escapeLabelValue(c.container.name)}",${podLabels}}`,
    }));
  if (metricsOrder.length > 0) {
    text(FAMILY_HEADERS.containerCpu);
    for (const { c, labels } of metricsOrder) op(`container_cpu_usage_seconds_total${labels} `, c.index);
    text(FAMILY_HEADERS.containerMemory);
    for (const { c, labels } of metricsOrder) {
      op(`container_memory_working_set_bytes${labels} ${formatGoFloat(c.container.memoryBytes)}`, OP_STAMP);
    }
    // The kubelet skips a start time that is not positive; start times carry no timestamp.
    const started = metricsOrder.filter(({ c }) => c.container.startTimeMs > 0);
    if (started.length > 0) {
      text(FAMILY_HEADERS.containerStart);
      for (const { c, labels } of started) {
        text(`container_start_time_seconds${labels} ${formatGoFloat(c.container.startTimeMs / 1000)}\n`);
      }
    }
    text(FAMILY_HEADERS.containerSwap);
    for (const { c, labels } of metricsOrder) {
      op(`container_swap_usage_bytes${labels} ${formatGoFloat(c.container.swapBytes ?? 0)}`, OP_STAMP);
    }
  }
  op(`${FAMILY_HEADERS.nodeCpu}node_cpu_usage_seconds_total `, OP_NODE_CPU);
  const memory = formatGoFloat(node.overheadMemoryBytes + podsMemoryBytes);
  op(`${FAMILY_HEADERS.nodeMemory}node_memory_working_set_bytes ${memory}`, OP_STAMP);
  // Stamped with the memory time, as the kubelet does; always present on a Linux node.
  const swap = formatGoFloat((node.overheadSwapBytes ?? 0) + podsSwapBytes);
  op(`${FAMILY_HEADERS.nodeSwap}node_swap_usage_bytes ${swap}`, OP_STAMP);
  if (reported.length > 0) {
    text(FAMILY_HEADERS.podCpu);
    reported.forEach((_, i) => {
      op(`pod_cpu_usage_seconds_total{${podLabels[i]}} `, containerCount + i);
    });
    text(FAMILY_HEADERS.podMemory);
    reported.forEach((p, i) => {
      op(`pod_memory_working_set_bytes{${podLabels[i]}} ${formatGoFloat(p.memoryBytes)}`, OP_STAMP);
    });
  }
  op(`${FAMILY_HEADERS.scrapeError}resource_scrape_error 0\n`, OP_TEXT);
  return { text: Buffer.from(pieces.join("")), ops: Int32Array.from(ops) };
}

/** The node's layout: the cached one while node and pods are the same objects, else a new one. */
function layoutOf(node: SimNode, pods: readonly SimPod[], state?: NodeCounterState): NodeLayout {
  const cached = state?.layout;
  if (
    cached &&
    cached.node === node &&
    cached.pods.length === pods.length &&
    cached.pods.every((p, i) => p === pods[i])
  ) {
    return cached;
  }
  const layout = buildLayout(node, pods);
  if (state) state.layout = layout;
  return layout;
}

interface NodeUsage {
  layout: NodeLayout;
  /** Cumulative CPU per reported container, indexed by LayoutContainer.index (the layout's scratch). */
  containerCpuSeconds: Float64Array;
  /** Cumulative CPU per reported pod, in layout.reported order. */
  podCpuSeconds: Float64Array;
  cpuSeconds: number;
  memoryBytes: number;
  /** Overhead swap plus every reported container's swap, as cAdvisor sees the whole machine. */
  swapBytes: number;
  /** Sum over running pods (the "pods" system container). */
  podsCpuSeconds: number;
  podsMemoryBytes: number;
}

/** Everything the node reports at tMs. Only running pods on this node with reported containers count. */
function nodeUsage(node: SimNode, pods: readonly SimPod[], tMs: number, state?: NodeCounterState): NodeUsage {
  const layout = layoutOf(node, pods, state);
  const containerCpu = layout.containerCpu;
  const podCpu = layout.podCpu;
  let podsCpuSeconds = 0;
  for (let i = 0; i < layout.reported.length; i++) {
    // The same additions in the same order as summing pod by pod, so the totals are bit-identical.
    let cpuSeconds = 0;
    for (const c of layout.reported[i].containers) {
      const seconds = containerCpuSeconds(c.container, tMs);
      containerCpu[c.index] = seconds;
      cpuSeconds += seconds;
    }
    podCpu[i] = cpuSeconds;
    podsCpuSeconds += cpuSeconds;
  }
  state?.observeLayout(layout, tMs);
  const overheadSeconds = containerCpuSeconds(
    { cpuMilli: node.overheadCpuMilli, startTimeMs: node.bootTimeMs },
    tMs,
  );
  let cpuSeconds = overheadSeconds + podsCpuSeconds + (state?.retiredCpuSeconds ?? 0);
  if (state && tMs >= state.latestNodeCpu.tMs) {
    cpuSeconds = Math.max(cpuSeconds, state.latestNodeCpu.seconds);
    state.latestNodeCpu = { tMs, seconds: cpuSeconds };
  }
  return {
    layout,
    containerCpuSeconds: containerCpu,
    podCpuSeconds: podCpu,
    cpuSeconds,
    memoryBytes: node.overheadMemoryBytes + layout.podsMemoryBytes,
    swapBytes: (node.overheadSwapBytes ?? 0) + layout.podsSwapBytes,
    podsCpuSeconds,
    podsMemoryBytes: layout.podsMemoryBytes,
  };
}

// ---------------------------------------------------------------------------------------------
// /metrics/resource

const STABLE = "[STABLE] ";
const ALPHA = "[ALPHA] ";

function familyHeader(name: string, help: string, type: "counter" | "gauge"): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

// The families' HELP and TYPE lines, written once; the families appear in name order.
const FAMILY_HEADERS = {
  containerCpu: familyHeader(
    "container_cpu_usage_seconds_total",
    `${STABLE}Cumulative cpu time consumed by the container in core-seconds`,
    "counter",
  ),
  containerMemory: familyHeader(
    "container_memory_working_set_bytes",
    `${STABLE}Current working set of the container in bytes`,
    "gauge",
  ),
  containerStart: familyHeader(
    "container_start_time_seconds",
    `${STABLE}Start time of the container since unix epoch in seconds`,
    "gauge",
  ),
  containerSwap: familyHeader(
    "container_swap_usage_bytes",
    `${ALPHA}Current amount of the container swap usage in bytes. Reported only on non-windows systems`,
    "gauge",
  ),
  nodeCpu: familyHeader(
    "node_cpu_usage_seconds_total",
    `${STABLE}Cumulative cpu time consumed by the node in core-seconds`,
    "counter",
  ),
  nodeMemory: familyHeader(
    "node_memory_working_set_bytes",
    `${STABLE}Current working set of the node in bytes`,
    "gauge",
  ),
  nodeSwap: familyHeader(
    "node_swap_usage_bytes",
    `${ALPHA}Current swap usage of the node in bytes. Reported only on non-windows systems`,
    "gauge",
  ),
  podCpu: familyHeader(
    "pod_cpu_usage_seconds_total",
    `${STABLE}Cumulative cpu time consumed by the pod in core-seconds`,
    "counter",
  ),
  podMemory: familyHeader(
    "pod_memory_working_set_bytes",
    `${STABLE}Current working set of the pod in bytes`,
    "gauge",
  ),
  scrapeError: familyHeader(
    "resource_scrape_error",
    `${STABLE}1 if there was an error while getting container metrics, 0 otherwise`,
    "gauge",
  ),
};

/**
 * Writes the /metrics/resource body for `node` at nowMs (ms; every sample stamped with it) into `out`:
 * the kubelet 1.33 families plus `container_swap_usage_bytes` for every reported container, as a
 * 1.34+ Linux kubelet writes it (0 when the container uses no swap). Everything but the CPU counters
 * and the timestamp comes precomputed from the node's layout.
 */
export function writeResourceMetrics(
  out: ByteWriter,
  node: SimNode,
  pods: readonly SimPod[],
  nowMs: number,
  state?: NodeCounterState,
): void {
  const t = Math.floor(nowMs);
  const usage = nodeUsage(node, pods, t, state);
  const { text, ops } = usage.layout.template;
  const containerCpu = usage.containerCpuSeconds;
  const podCpu = usage.podCpuSeconds;
  const containerCount = containerCpu.length;
  const stamp = ` ${t}\n`;
  let from = 0;
  for (let i = 0; i < ops.length; i += 2) {
    const end = ops[i];
    out.range(text, from, end);
    from = end;
    const value = ops[i + 1];
    if (value === OP_TEXT) continue;
    if (value !== OP_STAMP) {
      const seconds =
        value === OP_NODE_CPU
          ? usage.cpuSeconds
          : value < containerCount
            ? containerCpu[value]
            : podCpu[value - containerCount];
      out.ascii(formatGoFloat(seconds));
    }
    out.ascii(stamp);
  }
}

/** The /metrics/resource body as a string (see writeResourceMetrics). */
export function renderResourceMetrics(
  node: SimNode,
  pods: readonly SimPod[],
  nowMs: number,
  state?: NodeCounterState,
): string {
  stringScratch.reset();
  writeResourceMetrics(stringScratch, node, pods, nowMs, state);
  return stringScratch.toString();
}

const stringScratch = new ByteWriter();

// ---------------------------------------------------------------------------------------------
// /stats/summary

/** metav1.Time: RFC 3339 with second precision. */
function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function cpuStats(time: string, rateMilli: number, cpuSeconds: number) {
  return {
    time,
    usageNanoCores: Math.round(rateMilli * 1e6),
    usageCoreNanoSeconds: Math.round(cpuSeconds * 1e9),
  };
}

// Derived memory figures: usage includes page cache above the working set; rss is most of it.
function memoryStats(time: string, workingSetBytes: number, capacityBytes?: number) {
  return {
    time,
    ...(capacityBytes !== undefined ? { availableBytes: Math.max(0, capacityBytes - workingSetBytes) } : {}),
    usageBytes: Math.round(workingSetBytes * 1.25),
    workingSetBytes,
    rssBytes: Math.round(workingSetBytes * 0.8),
    pageFaults: Math.round(workingSetBytes / 4096),
    majorPageFaults: 0,
  };
}

const DISK_CAPACITY = 100 * 2 ** 30;
const DISK_AVAILABLE = 60 * 2 ** 30;

function fsStats(time: string, usedBytes: number) {
  return {
    time,
    availableBytes: DISK_AVAILABLE,
    capacityBytes: DISK_CAPACITY,
    usedBytes,
    inodesFree: 6_000_000,
    inodes: 6_553_600,
    inodesUsed: Math.max(1, Math.round(usedBytes / 65536)),
  };
}

/**
 * The Summary API (stats/v1alpha1) JSON for `node`. Values are computed at the whole second of
 * nowMs, the precision of its timestamps, so cumulative counters and times agree exactly.
 * With onlyCpuAndMemory the reduced GetCPUAndMemoryStats shape is returned.
 */
export function renderSummary(
  node: SimNode,
  pods: readonly SimPod[],
  nowMs: number,
  state?: NodeCounterState,
  onlyCpuAndMemory = false,
): string {
  const t = Math.floor(nowMs / 1000) * 1000;
  const time = rfc3339(t);
  const usage = nodeUsage(node, pods, t, state);
  const { layout } = usage;
  const podsRateMilli = layout.podsRateMilli;
  const bootTime = rfc3339(node.bootTimeMs);
  // The kubelet's and runtime's own share of the node overhead.
  const systemContainer = (name: string, share: number) => ({
    name,
    startTime: bootTime,
    cpu: cpuStats(
      time,
      node.overheadCpuMilli * share,
      containerCpuSeconds({ cpuMilli: node.overheadCpuMilli * share, startTimeMs: node.bootTimeMs }, t),
    ),
    memory: memoryStats(time, Math.round(node.overheadMemoryBytes * share)),
  });
  const systemContainers = [
    systemContainer("kubelet", 0.4),
    systemContainer("runtime", 0.3),
    {
      name: "pods",
      startTime: bootTime,
      cpu: cpuStats(time, podsRateMilli, usage.podsCpuSeconds),
      memory: memoryStats(time, usage.podsMemoryBytes, node.memoryBytes),
    },
  ];
  const swap = (swapUsageBytes: number) => ({ time, swapUsageBytes });
  const nodeStats = {
    nodeName: node.name,
    systemContainers,
    startTime: bootTime,
    cpu: cpuStats(time, node.overheadCpuMilli + podsRateMilli, usage.cpuSeconds),
    memory: memoryStats(time, usage.memoryBytes, node.memoryBytes),
    ...(onlyCpuAndMemory
      ? {}
      : {
          network: {
            time,
            name: "eth0",
            rxBytes: 0,
            rxErrors: 0,
            txBytes: 0,
            txErrors: 0,
            interfaces: [{ name: "eth0", rxBytes: 0, rxErrors: 0, txBytes: 0, txErrors: 0 }],
          },
          fs: fsStats(time, DISK_CAPACITY - DISK_AVAILABLE),
          runtime: { imageFs: fsStats(time, 2 * 2 ** 30) },
          rlimit: { time, maxpid: 4194304, curproc: 100 + layout.reported.length * 5 },
        }),
    swap: swap(usage.swapBytes),
  };
  const podStats = layout.reported.map((p, podIndex) => {
    const containers = p.containers.map((c) => ({
      name: c.container.name,
      startTime: rfc3339(c.container.startTimeMs),
      cpu: cpuStats(time, c.container.cpuMilli, usage.containerCpuSeconds[c.index]),
      memory: memoryStats(time, c.container.memoryBytes),
      ...(onlyCpuAndMemory ? {} : { rootfs: fsStats(time, 40960), logs: fsStats(time, 20480) }),
      swap: swap(c.container.swapBytes ?? 0),
    }));
    return {
      podRef: { name: p.pod.name, namespace: p.pod.namespace, uid: p.pod.uid },
      startTime: rfc3339(p.pod.startTimeMs),
      containers,
      cpu: cpuStats(time, p.rateMilli, usage.podCpuSeconds[podIndex]),
      memory: memoryStats(time, p.memoryBytes),
      ...(onlyCpuAndMemory
        ? {}
        : {
            network: { time, name: "eth0", rxBytes: 0, rxErrors: 0, txBytes: 0, txErrors: 0 },
            "ephemeral-storage": fsStats(time, 61440 * p.containers.length),
            process_stats: { process_count: p.containers.length },
          }),
      swap: swap(p.swapBytes),
    };
  });
  return `${JSON.stringify({ node: nodeStats, pods: podStats }, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// HTTPS servers

export const RESOURCE_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";
// Not Prometheus text (a line may not start with '<', and the labels are unterminated) nor JSON.
const GARBAGE_BODY =
  "<html><body>upstream connect error</body></html>\nnode_cpu_usage_seconds_total{broken 1 x\n";
const START_BATCH = 250;

interface Listener {
  /** The node as started, with kubeletPort set to the port actually bound. */
  node: SimNode;
  /** The serving certificate from the cluster CA, and (once needed) one from the wrong CA. */
  serving: CertAndKey;
  wrongServing?: CertAndKey;
  server: https.Server;
  /** The plain-HTTP read-only port, when the fleet has one. */
  readOnly: http.Server | undefined;
  sockets: Set<Socket>;
}

export interface KubeletFleetOptions {
  view: KubeletView;
  nodes: readonly SimNode[];
  ca: CA;
  faults?: ReadonlyMap<string, KubeletFault>;
  /** Also serve plain HTTP (no TLS, no auth) on internalIP:readOnlyPort, like the kubelet's read-only port. */
  readOnlyPort?: number;
  /** Authenticate and authorize HTTPS callers; absent = serve anyone (tests of the payloads only). */
  auth?: KubeletAuth;
  log?: (line: string) => void;
}

const DEFAULT_RESOURCE_METRICS_PATH = "/metrics/resource";

/** "ip:port", bracketing IPv6 addresses. */
export function hostPort(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

async function listen(server: http.Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err))]);
  return (server.address() as AddressInfo).port;
}

/** What a kubelet's serving certificate names: its InternalIP and node name plus its published addresses. */
export function servingNames(node: SimNode): { ipAddresses: string[]; dnsNames: string[] } {
  if (node.servingCertSANs === "dns-only") return { ipAddresses: [], dnsNames: [node.name] };
  const ips = new Set([node.internalIP]);
  const dns = new Set([node.name]);
  for (const a of node.addresses ?? []) {
    if (isIP(a.address) !== 0) ips.add(a.address);
    else dns.add(a.address);
  }
  return { ipAddresses: [...ips], dnsNames: [...dns] };
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers["accept-encoding"];
  if (typeof header !== "string") return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return coding.trim().toLowerCase() === "gzip" && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * Answers with `body` (gzipped when a 200 and asked for). A Buffer body may be shared scratch: it is
 * compressed or copied before this returns.
 */
function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  gzip: GzipEncoder,
): void {
  res.statusCode = status;
  res.setHeader("Content-Type", contentType);
  let payload: Buffer;
  if (status === 200 && acceptsGzip(req)) {
    // The fastest level: the bytes after decompression are the same, and compressing at the
    // default level cost the simulator more CPU than rendering the body.
    payload = gzip.encode(typeof body === "string" ? Buffer.from(body) : body);
    res.setHeader("Content-Encoding", "gzip");
  } else {
    // A copy for a Buffer: the caller's scratch is reused by the next response.
    payload = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  }
  res.setHeader("Content-Length", payload.length);
  res.end(payload);
}

/** One HTTPS kubelet endpoint per node, on node.internalIP:node.kubeletPort. */
export class KubeletFleet {
  private readonly view: KubeletView;
  private readonly ca: CA;
  private readonly log: (line: string) => void;
  private readonly faults = new Map<string, KubeletFault>();
  private readonly listeners = new Map<string, Listener>();
  private readonly states = new Map<string, NodeCounterState>();
  private readonly readOnlyPort: number | undefined;
  private readonly auth: KubeletAuth | undefined;
  /** Every kubelet of the fleet renders into this and compresses with this (both synchronous). */
  private readonly body = new ByteWriter();
  private readonly gzip = new GzipEncoder();
  /** The one key pair every serving cert of this fleet uses (made on first use). */
  private servingKey: Promise<KeyPairWithPem> | undefined;
  /** Serving-cert issuers of the cluster CA and of the wrong CA, made on first use. */
  private readonly issuers = new Map<CA, ServingCertIssuer>();
  /** A CA nobody trusts, made on first use by a wrong-ca fault. */
  private wrongCA: Promise<CA> | undefined;
  private closed = false;

  private constructor(opts: KubeletFleetOptions) {
    this.view = opts.view;
    this.ca = opts.ca;
    this.log = opts.log ?? (() => {});
    if (
      opts.readOnlyPort !== undefined &&
      (!Number.isInteger(opts.readOnlyPort) || opts.readOnlyPort < 1 || opts.readOnlyPort > 65535)
    ) {
      throw new Error(`KubeletFleet: readOnlyPort must be a port number 1..65535, got ${opts.readOnlyPort}`);
    }
    this.readOnlyPort = opts.readOnlyPort;
    this.auth = opts.auth;
    for (const [node, fault] of opts.faults ?? []) this.faults.set(node, fault);
  }

  /** Issues serving certs and starts listening for every node (in parallel batches). */
  static async start(opts: KubeletFleetOptions): Promise<KubeletFleet> {
    const fleet = new KubeletFleet(opts);
    const names = new Set<string>();
    for (const n of opts.nodes) {
      if (names.has(n.name))
        throw new Error(`KubeletFleet.start: duplicate node name ${JSON.stringify(n.name)}`);
      names.add(n.name);
    }
    const started = performance.now();
    try {
      for (let i = 0; i < opts.nodes.length; i += START_BATCH) {
        await Promise.all(opts.nodes.slice(i, i + START_BATCH).map((n) => fleet.addNode(n)));
      }
    } catch (err) {
      await fleet.close();
      throw err;
    }
    fleet.log(`started ${opts.nodes.length} kubelets in ${Math.round(performance.now() - started)} ms`);
    return fleet;
  }

  /**
   * Makes a node's kubelet misbehave (or behave again with undefined). Takes effect on the next
   * request; wrong-ca (and undoing it) on the next TLS handshake, once the returned promise resolves.
   */
  async setFault(node: string, fault: KubeletFault | undefined): Promise<void> {
    const before = this.faults.get(node);
    if (fault === undefined) this.faults.delete(node);
    else this.faults.set(node, fault);
    const listener = this.listeners.get(node);
    if (listener && (before === "wrong-ca") !== (fault === "wrong-ca")) {
      listener.server.setSecureContext(
        await this.secureContext(listener.node, fault === "wrong-ca", listener),
      );
    }
  }

  private wrongCertificateAuthority(): Promise<CA> {
    this.wrongCA ??= createCA("not-the-cluster-ca");
    return this.wrongCA;
  }

  private async issuer(ca: CA): Promise<ServingCertIssuer> {
    this.servingKey ??= createKeyPair();
    const key = await this.servingKey;
    let issuer = this.issuers.get(ca);
    if (!issuer) {
      issuer = ServingCertIssuer.create(ca, key);
      this.issuers.set(ca, issuer);
    }
    return issuer;
  }

  /** TLS options for a node's kubelet: its serving cert (from the wrong CA when asked) and the client CA. */
  private async secureContext(
    node: SimNode,
    wrong: boolean,
    listener?: Listener,
  ): Promise<{ cert: string; key: string; ca: string }> {
    let serving: CertAndKey | undefined = wrong ? listener?.wrongServing : listener?.serving;
    if (!serving) {
      const issuer = await this.issuer(wrong ? await this.wrongCertificateAuthority() : this.ca);
      const certPem = issuer.issue({
        commonName: `system:node:${node.name}`,
        organizations: ["system:nodes"],
        ...servingNames(node),
      });
      serving = { certPem, keyPem: issuer.keyPem };
      if (listener && wrong) listener.wrongServing = serving;
    }
    return { cert: serving.certPem, key: serving.keyPem, ca: this.ca.certPem };
  }

  /** The port node `name`'s kubelet listens on (resolves kubeletPort 0), or undefined if none runs. */
  kubeletPort(name: string): number | undefined {
    return this.listeners.get(name)?.node.kubeletPort;
  }

  /**
   * Starts a kubelet for `node` and returns the HTTPS port it listens on (node.kubeletPort, or the
   * free port picked for 0); a no-op if one already serves the same address.
   */
  async addNode(node: SimNode): Promise<number> {
    if (this.closed) throw new Error(`KubeletFleet is closed: cannot add node ${node.name}`);
    const existing = this.listeners.get(node.name);
    if (existing) {
      const samePort = node.kubeletPort === 0 || existing.node.kubeletPort === node.kubeletPort;
      if (existing.node.internalIP === node.internalIP && samePort) return existing.node.kubeletPort;
      await this.removeNode(node.name);
    }
    const good = await this.secureContext(node, false);
    const wrong = this.faults.get(node.name) === "wrong-ca";
    const tls = wrong ? await this.secureContext(node, true) : good;
    const listener: Listener = {
      node,
      serving: { certPem: good.cert, keyPem: good.key },
      ...(wrong ? { wrongServing: { certPem: tls.cert, keyPem: tls.key } } : {}),
      sockets: new Set(),
      // Client certificates are asked for and checked per request (a caller may use a token instead).
      server: https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }),
      readOnly: this.readOnlyPort === undefined ? undefined : http.createServer(),
    };
    for (const server of [listener.server, listener.readOnly]) {
      if (!server) continue;
      server.keepAliveTimeout = 120_000;
      server.headersTimeout = 125_000;
      server.on("connection", (socket: Socket) => {
        listener.sockets.add(socket);
        socket.once("close", () => listener.sockets.delete(socket));
      });
      // A broken client must not take the simulator down.
      server.on("clientError", (_err, socket) => socket.destroy());
      const secure = server === listener.server;
      server.on("request", (req, res) => this.handle(node.name, listener, req, res, secure));
    }
    // Claim the slot before listening so a concurrent addNode of the same node sees it.
    this.listeners.set(node.name, listener);
    if (!this.states.has(node.name)) this.states.set(node.name, new NodeCounterState());
    let address = hostPort(node.internalIP, node.kubeletPort);
    try {
      const port = await listen(listener.server, node.kubeletPort, node.internalIP);
      listener.node = { ...node, kubeletPort: port };
      if (listener.readOnly && this.readOnlyPort !== undefined) {
        address = `${hostPort(node.internalIP, this.readOnlyPort)} (read-only port)`;
        await listen(listener.readOnly, this.readOnlyPort, node.internalIP);
      }
    } catch (err) {
      if (this.listeners.get(node.name) === listener) {
        this.listeners.delete(node.name);
        this.states.delete(node.name);
      }
      await this.closeListener(listener);
      throw new Error(
        `kubelet for node ${node.name}: cannot listen on ${address}: ${(err as Error).message}`,
      );
    }
    if (this.closed) await this.closeListener(listener);
    return listener.node.kubeletPort;
  }

  /** Stops a node's kubelet and forgets its counters. Unknown names are ignored. */
  async removeNode(name: string): Promise<void> {
    const listener = this.listeners.get(name);
    this.listeners.delete(name);
    this.states.delete(name);
    if (listener) await this.closeListener(listener);
  }

  /** Closes every listener and every open connection, including hanging requests. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.listeners.values()];
    this.listeners.clear();
    this.states.clear();
    this.gzip.close();
    await Promise.all(all.map((l) => this.closeListener(l)));
  }

  private async closeListener(listener: Listener): Promise<void> {
    const servers = [listener.server, listener.readOnly].filter((s) => s !== undefined);
    const closed = servers.map((server) =>
      server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve(),
    );
    for (const socket of listener.sockets) socket.destroy();
    listener.sockets.clear();
    for (const server of servers) server.closeAllConnections();
    await Promise.all(closed);
  }

  private handle(
    nodeName: string,
    listener: Listener,
    req: IncomingMessage,
    res: ServerResponse,
    secure: boolean,
  ): void {
    const run = async () => {
      if (secure && this.auth && !this.authorized(nodeName, listener, req, res)) return;
      await this.respond(nodeName, listener, req, res);
    };
    run().catch((err: unknown) => {
      this.log(`kubelet ${nodeName}: failed to answer ${req.method} ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader("Content-Type", "text/plain; charset=utf-8");
        res.end(`Internal Error: ${(err as Error).message}\n`);
      } else {
        res.destroy();
      }
    });
  }

  /**
   * The kubelet's auth filter: x509 (cluster CA) or bearer token (as a TokenReview would answer),
   * anonymous disabled (401), then RBAC on nodes/<subresource> named after the node (403).
   */
  private authorized(
    nodeName: string,
    listener: Listener,
    req: IncomingMessage,
    res: ServerResponse,
  ): boolean {
    const auth = this.auth!;
    let user: UserInfo | undefined = certUser(req.socket as TLSSocket);
    if (!user) {
      const token = bearerToken(req.headers.authorization);
      user = token === undefined ? undefined : auth.tokens.authenticate(token);
    }
    if (!user) {
      res.writeHead(401, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("Unauthorized");
      return false;
    }
    const path = new URL(req.url ?? "/", "https://kubelet").pathname;
    // A node's moved resource-metrics endpoint is still its metrics.
    const movedMetrics = (this.view.node(nodeName) ?? listener.node).resourceMetricsPath;
    const subresource = path === movedMetrics ? "metrics" : kubeletSubresource(path);
    const verb = kubeletVerb(req.method ?? "GET");
    const decision = auth.rbac.authorize(user, {
      kind: "resource",
      verb,
      group: "",
      version: "v1",
      resource: "nodes",
      subresource,
      name: nodeName,
    });
    if (decision.allowed) return true;
    res.writeHead(403, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(`Forbidden (user=${user.name}, verb=${verb}, resource=nodes, subresource=${subresource})`);
    return false;
  }

  private async respond(nodeName: string, listener: Listener, req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "https://kubelet");
    const node = this.view.node(nodeName) ?? listener.node;
    // A summary-only kubelet serves no resource metrics at all; otherwise they live at one path,
    // and the mux answers 404 elsewhere (including /metrics/resource when the path is moved).
    const metricsPath = node.summaryOnly
      ? undefined
      : (node.resourceMetricsPath ?? DEFAULT_RESOURCE_METRICS_PATH);
    const isMetrics = url.pathname === metricsPath;
    if (!isMetrics && url.pathname !== "/stats/summary") {
      return send(req, res, 404, "text/plain; charset=utf-8", "404 page not found\n", this.gzip);
    }
    if (req.method !== "GET") {
      res.setHeader("Allow", "GET");
      return send(req, res, 405, "text/plain; charset=utf-8", "405: Method Not Allowed\n", this.gzip);
    }
    const fault = this.faults.get(nodeName);
    if (fault === "hang") return; // never answered; close() destroys the socket
    if (fault === "http500") {
      return send(
        req,
        res,
        500,
        "text/plain; charset=utf-8",
        "Internal Error: simulated kubelet failure\n",
        this.gzip,
      );
    }
    if (fault === "garbage") return send(req, res, 200, "text/plain; charset=utf-8", GARBAGE_BODY, this.gzip);

    const pods = this.view.podsOnNode(nodeName);
    const state = this.states.get(nodeName);
    const now = Date.now();
    if (isMetrics) {
      this.body.reset();
      writeResourceMetrics(this.body, node, pods, now, state);
      return send(req, res, 200, RESOURCE_METRICS_CONTENT_TYPE, this.body.view(), this.gzip);
    }
    const only = url.searchParams.getAll("only_cpu_and_memory");
    const onlyCpuAndMemory = only.length === 1 && only[0] === "true";
    return send(
      req,
      res,
      200,
      "application/json",
      renderSummary(node, pods, now, state, onlyCpuAndMemory),
      this.gzip,
    );
  }
}

/** The nodes subresource the kubelet authorizes a path as (its authorizer's path mapping). */
export function kubeletSubresource(path: string): string {
  const first = path.split("/")[1] ?? "";
  switch (first) {
    case "stats":
      return "stats";
    case "metrics":
      return "metrics";
    case "logs":
      return "log";
    case "spec":
      return "spec";
    case "checkpoint":
      return "checkpoint";
    case "configz":
      return "configz";
    case "healthz":
      return "healthz";
    case "pods":
      return "pods";
    default:
      return "proxy";
  }
}

function kubeletVerb(method: string): string {
  switch (method.toUpperCase()) {
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return "get";
  }
}
