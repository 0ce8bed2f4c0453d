// The configured truth: what a metrics pipeline must report for the current state, derived from the
// configured usage (served at GET /sim/truth).

import { type PodPhase, reportedContainers, type Scenario } from "../types.ts";

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
