// What a node's kubelet reports at a given time, computed from the configured usage: cumulative CPU
// counters (kept monotonic when containers go away), and the per-node layout of pods, containers and
// the /metrics/resource body that stays constant until the node's pods change.

import { reportedContainers, type SimContainer, type SimNode, type SimPod } from "../types.ts";
import { FAMILY_HEADERS } from "./families.ts";
import { escapeLabelValue, formatGoFloat } from "./promtext.ts";

/**
 * A container's cumulative CPU in core-seconds at time tMs: its rate times its age, or for a container
 * the runtime really runs, what /proc says.
 */
export function containerCpuSeconds(
  c: Pick<SimContainer, "cpuMilli" | "startTimeMs" | "liveUsage">,
  tMs: number,
): number {
  if (c.liveUsage) return c.liveUsage()?.cpuSeconds ?? 0;
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
  observe(
    current: ReadonlyMap<string, Pick<SimContainer, "cpuMilli" | "startTimeMs" | "liveUsage">>,
    tMs: number,
  ): void {
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
      // A live container's CPU is not a model the counter could replay once it is gone: it retires as 0
      // (the node counter still never goes back: see latestNodeCpu).
      else
        this.seen.set(key, {
          cpuMilli: c.liveUsage ? 0 : c.cpuMilli,
          startTimeMs: c.startTimeMs,
          lastSeenMs: tMs,
        });
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
  /** Some container reports live usage: the layout holds a snapshot and is rebuilt on every request. */
  live: boolean;
}

// Value codes of a ResourceTemplate op (codes >= 0 index the container CPU figures, then the pods').
export const OP_TEXT = -1;
export const OP_STAMP = -2;
export const OP_NODE_CPU = -3;

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
  let live = false;
  for (const pod of [...pods].sort(comparePods)) {
    if (pod.nodeName !== node.name) continue;
    const containers = reportedContainers(pod);
    if (containers.length === 0) continue;
    let memoryBytes = 0;
    let swapBytes = 0;
    let rateMilli = 0;
    const entries = containers.map((configured) => {
      let c = configured;
      let rate: number | string = c.cpuMilli;
      if (configured.liveUsage) {
        // A snapshot of the process's usage now; the CPU counter itself is read at request time.
        const u = configured.liveUsage();
        c = { ...configured, cpuMilli: u?.cpuMilli ?? 0, memoryBytes: u?.memoryBytes ?? 0 };
        rate = "live";
        live = true;
      }
      // Rate and start time are part of the identity: a change is a new container (like a restart).
      current.set(`${pod.namespace}/${pod.name}/${pod.uid}/${c.name}/${rate}/${c.startTimeMs}`, c);
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
    live,
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
    !cached.live &&
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

export interface NodeUsage {
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
export function nodeUsage(
  node: SimNode,
  pods: readonly SimPod[],
  tMs: number,
  state?: NodeCounterState,
): NodeUsage {
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
