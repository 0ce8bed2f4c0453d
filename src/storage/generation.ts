// One stored generation of the two-point store: the newest point ("last") and the point the rate is
// computed against ("prev") of every node and container, plus the rates that will be served.
//
// Everything is columnar (typed arrays indexed by a slot) so that a 300,000-container batch costs a
// few arrays rather than an object per sample. The store keeps two generations and swaps them on
// every tick, so the arrays are reused and only grow.

/** Marks "no prev point" in the prevTs columns. Real timestamps are always finite. */
export const NO_PREV = Number.NaN;

function grownFloat64(current: Float64Array<ArrayBuffer>, needed: number): Float64Array<ArrayBuffer> {
  if (current.length >= needed) return current;
  return new Float64Array(Math.max(needed, Math.ceil(current.length * 1.5), 16));
}

function grownUint8(current: Uint8Array<ArrayBuffer>, needed: number): Uint8Array<ArrayBuffer> {
  if (current.length >= needed) return current;
  return new Uint8Array(Math.max(needed, Math.ceil(current.length * 1.5), 16));
}

function grownUint32(current: Uint32Array<ArrayBuffer>, needed: number): Uint32Array<ArrayBuffer> {
  if (current.length >= needed) return current;
  return new Uint32Array(Math.max(needed, Math.ceil(current.length * 1.5), 16));
}

export class Generation {
  // ---- nodes, by slot ----
  nodeIndex = new Map<string, number>();
  nodeCount = 0;
  nodeLastStart = new Float64Array(0);
  nodeLastTs = new Float64Array(0);
  nodeLastCpu = new Float64Array(0);
  /** Exact-counter correction of nodeLastCpu (NodeScrape.nodeCpuNsRemainder). */
  nodeLastCpuRem = new Float64Array(0);
  nodeLastMem = new Float64Array(0);
  /** Newest swap usage; NaN = unknown. A gauge: no prev is kept. */
  nodeLastSwap = new Float64Array(0);
  nodePrevStart = new Float64Array(0);
  /** NO_PREV when the node has no prev point. */
  nodePrevTs = new Float64Array(0);
  nodePrevCpu = new Float64Array(0);
  nodePrevCpuRem = new Float64Array(0);
  /** 1 when a rate can be served for the node. */
  nodeServed = new Uint8Array(0);
  nodeRate = new Float64Array(0);
  /** Nodes that have a prev point (the storage_points gauge and nodeReady()). */
  nodesWithPrev = 0;

  // ---- pods, by slot; a pod owns containers [podFirst, podEnd) ----
  /** namespace → pod name → pod slot. Nested so that no "ns/name" string is built per pod per tick. */
  podIndex = new Map<string, Map<string, number>>();
  podCount = 0;
  podFirst = new Uint32Array(0);
  podEnd = new Uint32Array(0);
  /** 1 when the pod is served (every container has a prev and at least one rate is valid). */
  podServed = new Uint8Array(0);
  podTs = new Float64Array(0);
  podWindow = new Float64Array(0);

  // ---- containers, by slot, sorted by name within their pod ----
  containerCount = 0;
  containerName: string[] = [];
  containerLastStart = new Float64Array(0);
  containerLastTs = new Float64Array(0);
  containerLastCpu = new Float64Array(0);
  /** Exact-counter correction of containerLastCpu (NodeScrape.cpuNsRemainder). */
  containerLastCpuRem = new Float64Array(0);
  containerLastMem = new Float64Array(0);
  /** Newest swap usage; NaN = unknown. */
  containerLastSwap = new Float64Array(0);
  containerPrevStart = new Float64Array(0);
  /** NO_PREV when the container has no prev point. */
  containerPrevTs = new Float64Array(0);
  containerPrevCpu = new Float64Array(0);
  containerPrevCpuRem = new Float64Array(0);
  /** 1 when the container's rate is valid (served as part of its pod if the pod is served). */
  containerServed = new Uint8Array(0);
  containerRate = new Float64Array(0);
  /** Containers that have a prev point (the storage_points gauge). */
  containersWithPrev = 0;
  /** Pods with at least one container with a prev point (podReady()). */
  podsWithPrev = 0;

  /** Empties the generation and makes room for at least the given counts. */
  reset(nodes: number, pods: number, containers: number): void {
    this.nodeIndex = new Map();
    this.nodeCount = 0;
    this.nodesWithPrev = 0;
    this.nodeLastStart = grownFloat64(this.nodeLastStart, nodes);
    this.nodeLastTs = grownFloat64(this.nodeLastTs, nodes);
    this.nodeLastCpu = grownFloat64(this.nodeLastCpu, nodes);
    this.nodeLastCpuRem = grownFloat64(this.nodeLastCpuRem, nodes);
    this.nodeLastMem = grownFloat64(this.nodeLastMem, nodes);
    this.nodeLastSwap = grownFloat64(this.nodeLastSwap, nodes);
    this.nodePrevStart = grownFloat64(this.nodePrevStart, nodes);
    this.nodePrevTs = grownFloat64(this.nodePrevTs, nodes);
    this.nodePrevCpu = grownFloat64(this.nodePrevCpu, nodes);
    this.nodePrevCpuRem = grownFloat64(this.nodePrevCpuRem, nodes);
    this.nodeServed = grownUint8(this.nodeServed, nodes);
    this.nodeRate = grownFloat64(this.nodeRate, nodes);

    this.podIndex = new Map();
    this.podCount = 0;
    this.podsWithPrev = 0;
    this.podFirst = grownUint32(this.podFirst, pods);
    this.podEnd = grownUint32(this.podEnd, pods);
    this.podServed = grownUint8(this.podServed, pods);
    this.podTs = grownFloat64(this.podTs, pods);
    this.podWindow = grownFloat64(this.podWindow, pods);

    this.containerCount = 0;
    this.containersWithPrev = 0;
    // Reused: slots are overwritten in order; the tail is trimmed once the batch is written.
    this.containerLastStart = grownFloat64(this.containerLastStart, containers);
    this.containerLastTs = grownFloat64(this.containerLastTs, containers);
    this.containerLastCpu = grownFloat64(this.containerLastCpu, containers);
    this.containerLastCpuRem = grownFloat64(this.containerLastCpuRem, containers);
    this.containerLastMem = grownFloat64(this.containerLastMem, containers);
    this.containerLastSwap = grownFloat64(this.containerLastSwap, containers);
    this.containerPrevStart = grownFloat64(this.containerPrevStart, containers);
    this.containerPrevTs = grownFloat64(this.containerPrevTs, containers);
    this.containerPrevCpu = grownFloat64(this.containerPrevCpu, containers);
    this.containerPrevCpuRem = grownFloat64(this.containerPrevCpuRem, containers);
    this.containerServed = grownUint8(this.containerServed, containers);
    this.containerRate = grownFloat64(this.containerRate, containers);
  }

  /** Drops name references beyond the live containers so old strings can be collected. */
  trimNames(): void {
    this.containerName.length = this.containerCount;
  }

  lookupPod(namespace: string, name: string): number | undefined {
    return this.podIndex.get(namespace)?.get(name);
  }

  /** Registers a pod slot; returns false if the pod is already in this generation. */
  addPod(namespace: string, name: string, slot: number): boolean {
    let byName = this.podIndex.get(namespace);
    if (byName === undefined) {
      byName = new Map();
      this.podIndex.set(namespace, byName);
    } else if (byName.has(name)) {
      return false;
    }
    byName.set(name, slot);
    return true;
  }
}
