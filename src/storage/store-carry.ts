// Carrying a node over unchanged: while its kubelet has not answered yet this tick, a node keeps the
// points it had when the tick began (its node point and the pods its scrape stored), copied from the
// tick's base generation column by column. Nothing is recomputed or logged: it was when stored.

import { type Generation, stringHash } from "./generation.ts";

/** How many node slots, pods and containers carrying `node` from `base` takes at most. */
export function carriedSize(base: Generation, node: string): { pods: number; containers: number } {
  const owner = base.ownerIndex.get(node);
  if (owner === undefined) return { pods: 0, containers: 0 };
  const from = base.ownerPodFrom[owner];
  const to = base.ownerPodTo[owner];
  return { pods: to - from, containers: base.podFirst[to] - base.podFirst[from] };
}

/** Copies `node`'s point and pods from `base` into `next`; pods already in `next` stay as they are. */
export function carryNode(base: Generation, next: Generation, node: string): void {
  const b = base.nodeIndex.get(node);
  if (b !== undefined && !next.nodeIndex.has(node) && next.nodeCount < next.nodeLastTs.length) {
    const n = next.nodeCount++;
    next.nodeIndex.set(node, n);
    next.nodeLastStart[n] = base.nodeLastStart[b];
    next.nodeLastTs[n] = base.nodeLastTs[b];
    next.nodeLastCpu[n] = base.nodeLastCpu[b];
    next.nodeLastCpuRem[n] = base.nodeLastCpuRem[b];
    next.nodeLastMem[n] = base.nodeLastMem[b];
    next.nodeLastSwap[n] = base.nodeLastSwap[b];
    next.nodePrevStart[n] = base.nodePrevStart[b];
    next.nodePrevTs[n] = base.nodePrevTs[b];
    next.nodePrevCpu[n] = base.nodePrevCpu[b];
    next.nodePrevCpuRem[n] = base.nodePrevCpuRem[b];
    if (!Number.isNaN(base.nodePrevTs[b])) next.nodesWithPrev++;
  }
  const owner = base.ownerIndex.get(node);
  const podFrom = next.podCount;
  if (owner !== undefined) {
    for (let p = base.ownerPodFrom[owner]; p < base.ownerPodTo[owner]; p++) carryPod(base, next, p);
  }
  next.addOwner(node, podFrom, next.podCount);
}

function carryPod(base: Generation, next: Generation, p: number): void {
  const name = base.podName[p];
  const namespaceId = next.addNamespace(base.namespaceNames[base.podNamespace[p]]);
  const bucket = next.findPod(namespaceId, name, stringHash(name));
  // Claimed by a node that has answered (a duplicate pod): the answer is newer.
  if (bucket >= 0 || next.podCount === next.podName.length) return;
  const slot = next.addPod(namespaceId, name, bucket);
  next.podFirst[slot] = next.containerCount;
  let withPrev = 0;
  for (let c = base.podFirst[p]; c < base.podFirst[p + 1]; c++) {
    const d = next.containerCount++;
    next.containerName[d] = base.containerName[c];
    next.containerLastStart[d] = base.containerLastStart[c];
    next.containerLastTs[d] = base.containerLastTs[c];
    next.containerLastCpu[d] = base.containerLastCpu[c];
    next.containerLastMem[d] = base.containerLastMem[c];
    next.containerPrevTs[d] = base.containerPrevTs[c];
    next.containerPrevCpu[d] = base.containerPrevCpu[c];
    next.setContainerOptional(
      d,
      base.containerLastCpuRemAt(c),
      base.containerPrevCpuRemAt(c),
      base.containerPrevStartAt(c),
      base.containerLastSwapAt(c),
    );
    const restartedAt = base.containerRestartedAt?.get(c);
    if (restartedAt !== undefined) next.setRestartedAt(d, restartedAt);
    if (!Number.isNaN(base.containerPrevTs[c])) withPrev++;
  }
  next.podFirst[slot + 1] = next.containerCount;
  if (withPrev > 0) next.podsWithPrev++;
  next.containersWithPrev += withPrev;
}
