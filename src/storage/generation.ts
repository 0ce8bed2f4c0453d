// One stored generation of the two-point store: the newest point ("last") and the point the rate is
// computed against ("prev") of every node and container. Rates, served flags and pod windows are not
// stored: reads compute them from the two points (a few arithmetic operations per container).
//
// Everything is columnar (typed arrays indexed by a slot) so that a 300,000-container batch costs a
// few arrays rather than an object per sample. Each tick builds a new generation sized exactly for
// its batch (the counts are known before the build starts); the replaced one is released at once,
// so between ticks only one generation is resident.
//
// Columns that are nearly always redundant are only allocated once a value needs them:
// - CPU remainders (only the Summary API sets them) while every remainder is zero;
// - swap while no swap value is known;
// - the prev start time while every prev point has its container's current start time (a start time
//   changes on a restart, which drops the prev point, or rarely otherwise, e.g. from unknown to known).

import { randomBytes } from "node:crypto";

/** Marks "no prev point" in the prevTs columns. Real timestamps are always finite. */
export const NO_PREV = Number.NaN;

/**
 * Random per process, so that nobody who can name pods can choose names that all collide (a flood
 * of colliding names would make every lookup walk them all). V8 seeds its own string hashes so too.
 */
const HASH_SEED = randomBytes(4).readUInt32LE(0);

/** A seeded 32-bit FNV-1a of a string's UTF-16 code units (the pod index's hash; not cryptographic). */
export function stringHash(s: string): number {
  let h = 0x811c9dc5 ^ HASH_SEED;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The pod index's hash of (namespace, name), mixed so that its high bits (which pick the bucket) depend
 * on every input bit, and so that equal names in different namespaces land apart.
 */
export function podHash(namespaceHash: number, nameHash: number): number {
  let h = nameHash ^ Math.imul(namespaceHash, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Generation {
  // ---- nodes, by slot ----
  readonly nodeIndex = new Map<string, number>();
  nodeCount = 0;
  readonly nodeLastStart: Float64Array;
  readonly nodeLastTs: Float64Array;
  readonly nodeLastCpu: Float64Array;
  /** Exact-counter correction of nodeLastCpu (NodeScrape.nodeCpuNsRemainder). */
  readonly nodeLastCpuRem: Float64Array;
  readonly nodeLastMem: Float64Array;
  /** Newest swap usage; NaN = unknown. A gauge: no prev is kept. */
  readonly nodeLastSwap: Float64Array;
  readonly nodePrevStart: Float64Array;
  /** NO_PREV when the node has no prev point. */
  readonly nodePrevTs: Float64Array;
  readonly nodePrevCpu: Float64Array;
  readonly nodePrevCpuRem: Float64Array;
  /** Nodes that have a prev point (the storage_points gauge and nodeReady()). */
  nodesWithPrev = 0;

  // ---- namespaces, by id (few: one Map is cheap) ----
  readonly namespaceIds = new Map<string, number>();
  readonly namespaceNames: string[] = [];
  readonly namespaceHashes: number[] = [];

  // ---- the nodes whose scrapes were stored (a node point or not), by owner slot ----
  /** Node name → owner slot. A node's pods are the contiguous pod slots its scrape stored. */
  readonly ownerIndex = new Map<string, number>();
  readonly ownerPodFrom: Uint32Array;
  readonly ownerPodTo: Uint32Array;

  // ---- pods, by slot; pod p owns containers [podFirst[p], podFirst[p + 1]) ----
  podCount = 0;
  /** podCapacity + 1 entries: each pod's first container, then the end of the last pod. */
  readonly podFirst: Uint32Array;
  readonly podName: string[];
  readonly podNamespace: Uint32Array;
  /**
   * Open-addressing hash table (linear probing) of pod slot + 1; 0 = empty. Twice the pod capacity
   * plus one, so it is at most half full and a probe always ends on an empty bucket. Flat typed
   * storage: a Map per namespace costs 28 to 56 bytes per pod and rehashes as it grows.
   */
  readonly podTable: Int32Array;
  /** Pods with at least one container with a prev point (podReady()). */
  podsWithPrev = 0;

  // ---- containers, by slot, sorted by name within their pod ----
  containerCount = 0;
  readonly containerName: string[];
  readonly containerLastStart: Float64Array;
  readonly containerLastTs: Float64Array;
  readonly containerLastCpu: Float64Array;
  readonly containerLastMem: Float64Array;
  /** NO_PREV when the container has no prev point. */
  readonly containerPrevTs: Float64Array;
  readonly containerPrevCpu: Float64Array;
  /** Exact-counter correction of containerLastCpu (NodeScrape.cpuNsRemainder); undefined = all zero. */
  containerLastCpuRem: Float64Array | undefined;
  /** Exact-counter correction of containerPrevCpu; undefined = all zero. */
  containerPrevCpuRem: Float64Array | undefined;
  /** The prev point's start time; undefined = the same as containerLastStart for every container. */
  containerPrevStart: Float64Array | undefined;
  /** Newest swap usage; NaN = unknown; undefined = unknown for every container. */
  containerLastSwap: Float64Array | undefined;
  /** Containers that have a prev point (the storage_points gauge). */
  containersWithPrev = 0;
  /**
   * Container slot → its start time, for containers whose newest point replaced one with another
   * start time (a restart) in the tick that made this generation. Rare: made on the first one.
   */
  containerRestartedAt: Map<number, number> | undefined;

  /** An empty generation with room for the given counts (each an upper bound). */
  constructor(nodes: number, pods: number, containers: number) {
    this.nodeLastStart = new Float64Array(nodes);
    this.nodeLastTs = new Float64Array(nodes);
    this.nodeLastCpu = new Float64Array(nodes);
    this.nodeLastCpuRem = new Float64Array(nodes);
    this.nodeLastMem = new Float64Array(nodes);
    this.nodeLastSwap = new Float64Array(nodes);
    this.nodePrevStart = new Float64Array(nodes);
    this.nodePrevTs = new Float64Array(nodes);
    this.nodePrevCpu = new Float64Array(nodes);
    this.nodePrevCpuRem = new Float64Array(nodes);
    this.ownerPodFrom = new Uint32Array(nodes);
    this.ownerPodTo = new Uint32Array(nodes);

    this.podFirst = new Uint32Array(pods + 1);
    // Pre-sized arrays keep V8's fast elements (not a dictionary) when filled in order: 8 bytes per slot.
    this.podName = new Array<string>(pods);
    this.podNamespace = new Uint32Array(pods);
    this.podTable = new Int32Array(2 * pods + 1);

    this.containerName = new Array<string>(containers);
    this.containerLastStart = new Float64Array(containers);
    this.containerLastTs = new Float64Array(containers);
    this.containerLastCpu = new Float64Array(containers);
    this.containerLastMem = new Float64Array(containers);
    this.containerPrevTs = new Float64Array(containers);
    this.containerPrevCpu = new Float64Array(containers);
  }

  /** Frees the typed arrays' memory at once. The generation must not be read afterwards. */
  release(): void {
    for (const value of Object.values(this)) {
      // Detaching (transfer to a zero-length buffer) frees the memory now; left to the GC, it would
      // stay resident until a major GC happens to run.
      if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer && value.byteLength > 0)
        value.buffer.transfer(0);
    }
  }

  /** Records that container slot c's newest point replaced one with another start time. */
  setRestartedAt(c: number, startMs: number): void {
    this.containerRestartedAt ??= new Map();
    this.containerRestartedAt.set(c, startMs);
  }

  /** The prev point's start time of container slot c. */
  containerPrevStartAt(c: number): number {
    return this.containerPrevStart === undefined ? this.containerLastStart[c] : this.containerPrevStart[c];
  }

  containerLastCpuRemAt(c: number): number {
    return this.containerLastCpuRem === undefined ? 0 : this.containerLastCpuRem[c];
  }

  containerPrevCpuRemAt(c: number): number {
    return this.containerPrevCpuRem === undefined ? 0 : this.containerPrevCpuRem[c];
  }

  containerLastSwapAt(c: number): number {
    return this.containerLastSwap === undefined ? Number.NaN : this.containerLastSwap[c];
  }

  /** Sets container slot c's columns that are allocated only when needed (see the file comment). */
  setContainerOptional(
    c: number,
    lastCpuRem: number,
    prevCpuRem: number,
    prevStart: number,
    lastSwap: number,
  ): void {
    // Object.is: a -0 remainder needs the column like any non-zero one (read back as +0, it could
    // turn a rate of -0 into 0).
    if (this.containerLastCpuRem !== undefined) this.containerLastCpuRem[c] = lastCpuRem;
    else if (!Object.is(lastCpuRem, 0)) {
      this.containerLastCpuRem = new Float64Array(this.containerLastCpu.length);
      this.containerLastCpuRem[c] = lastCpuRem;
    }
    if (this.containerPrevCpuRem !== undefined) this.containerPrevCpuRem[c] = prevCpuRem;
    else if (!Object.is(prevCpuRem, 0)) {
      this.containerPrevCpuRem = new Float64Array(this.containerPrevCpu.length);
      this.containerPrevCpuRem[c] = prevCpuRem;
    }
    // Start times are only compared (with 0 meaning unknown), so -0 and 0 need not be told apart.
    if (this.containerPrevStart !== undefined) this.containerPrevStart[c] = prevStart;
    else if (prevStart !== this.containerLastStart[c]) {
      this.containerPrevStart = new Float64Array(this.containerLastStart.length);
      // Every earlier slot's prev start equals its last start.
      this.containerPrevStart.set(this.containerLastStart.subarray(0, c));
      this.containerPrevStart[c] = prevStart;
    }
    if (this.containerLastSwap !== undefined) this.containerLastSwap[c] = lastSwap;
    else if (!Number.isNaN(lastSwap)) {
      this.containerLastSwap = new Float64Array(this.containerLastMem.length).fill(Number.NaN, 0, c);
      this.containerLastSwap[c] = lastSwap;
    }
  }

  /** The id of a namespace in this generation, or undefined if no pod of it is stored. */
  namespaceId(namespace: string): number | undefined {
    return this.namespaceIds.get(namespace);
  }

  /** The id of a namespace, registered if new. */
  addNamespace(namespace: string): number {
    let id = this.namespaceIds.get(namespace);
    if (id === undefined) {
      id = this.namespaceHashes.length;
      this.namespaceIds.set(namespace, id);
      this.namespaceNames.push(namespace);
      this.namespaceHashes.push(stringHash(namespace));
    }
    return id;
  }

  /**
   * The slot of pod (namespace id, name) given the name's stringHash, or the bucket where it would be
   * inserted encoded as -1 - bucket.
   */
  findPod(namespaceId: number, name: string, nameHash: number): number {
    const table = this.podTable;
    const size = table.length;
    // The hash's high bits pick the bucket (multiply-shift range reduction). The product is exact
    // below 2^53, i.e. for tables under 2^21 buckets; the clamp keeps larger ones in range.
    let bucket = Math.min(
      size - 1,
      Math.floor((podHash(this.namespaceHashes[namespaceId], nameHash) * size) / 2 ** 32),
    );
    for (;;) {
      const entry = table[bucket];
      if (entry === 0) return -1 - bucket;
      const slot = entry - 1;
      if (this.podNamespace[slot] === namespaceId && this.podName[slot] === name) return slot;
      bucket = bucket + 1 === size ? 0 : bucket + 1;
    }
  }

  /** Whether slot (any integer) holds pod (namespace id, name): checks a remembered slot. */
  isPodAt(slot: number, namespaceId: number, name: string): boolean {
    return (
      slot >= 0 &&
      slot < this.podCount &&
      this.podNamespace[slot] === namespaceId &&
      this.podName[slot] === name
    );
  }

  /** The slot of a pod, or undefined. */
  lookupPod(namespace: string, name: string): number | undefined {
    const namespaceId = this.namespaceIds.get(namespace);
    if (namespaceId === undefined || typeof name !== "string") return undefined;
    const slot = this.findPod(namespaceId, name, stringHash(name));
    return slot < 0 ? undefined : slot;
  }

  /** Records that node's scrape (or its carried entries) stored pod slots [podFrom, podTo). */
  addOwner(node: string, podFrom: number, podTo: number): void {
    const slot = this.ownerIndex.size;
    if (slot >= this.ownerPodFrom.length) return; // more nodes than counted: they cannot be carried
    this.ownerIndex.set(node, slot);
    this.ownerPodFrom[slot] = podFrom;
    this.ownerPodTo[slot] = podTo;
  }

  /** Registers pod slot podCount in the empty bucket findPod returned (as -1 - bucket). */
  addPod(namespaceId: number, name: string, missing: number): number {
    const slot = this.podCount++;
    this.podName[slot] = name;
    this.podNamespace[slot] = namespaceId;
    this.podTable[-1 - missing] = slot + 1;
    return slot;
  }
}
