// The Summary API (/stats/summary, stats/v1alpha1) JSON of a node.

import type { SimNode, SimPod } from "../types.ts";
import { containerCpuSeconds, type NodeCounterState, nodeUsage } from "./usage.ts";

/** metav1.Time: RFC 3339 with second precision. */
export function rfc3339(ms: number): string {
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
  return `${JSON.stringify(summaryObject(node, pods, nowMs, state, onlyCpuAndMemory), null, 2)}\n`;
}

/** The Summary API object renderSummary writes (fault bodies change it before writing). */
export function summaryObject(
  node: SimNode,
  pods: readonly SimPod[],
  nowMs: number,
  state?: NodeCounterState,
  onlyCpuAndMemory = false,
): SummaryJson {
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
  return { node: nodeStats, pods: podStats };
}

/** A stats object of the Summary API ("cpu", "memory", ...), loosely typed for fault bodies. */
export type StatsJson = Record<string, unknown>;

export interface SummaryJson {
  node: StatsJson & { cpu: StatsJson; memory: StatsJson };
  pods: (StatsJson & {
    podRef: { name: string; namespace: string; uid: string };
    containers: (StatsJson & { name: string; cpu: StatsJson; memory: StatsJson })[];
    cpu: StatsJson;
    memory: StatsJson;
  })[];
}
