// How NodeScrapes cross from the scraper worker to the main thread. A result message carries whole
// nodes (up to ~4,096 containers) packed column by column: every number of the message in one
// Float64Array and every index in one Uint32Array, both transferred (2 transfers per message instead
// of ~5 per node), plus one table of the message's distinct names and the node names. Structured clone
// copies every string separately and the main thread pays for each one when it deserialises, so
// names travel once per message, not once per container. The main side rebuilds NodeScrapes whose
// Float64Array columns are views into the transferred buffer (storage copies values out of them).
import type { NodeScrape } from "../../storage/index.ts";

/** One result message's nodes. */
export interface PackedScrapes {
  /** Node names, in batch order. */
  nodes: string[];
  /** The distinct namespace, pod and container names of all nodes of the message. */
  names: string[];
  /**
   * Per node i, NODE_FIELDS values at i × NODE_FIELDS (see NodeField), then the container columns:
   * COLUMN_COUNT sections of `containerCount` values each (startTimeMs, timestampMs, cpuNs,
   * memoryBytes, cpuNsRemainder, swapBytes), containers of all nodes back to back.
   */
  numbers: Float64Array;
  /**
   * Node i's containers are [offsets[i], offsets[i + 1]) for i < nodes.length (nodes.length + 1
   * offsets), then node i's presence flags at nodes.length + 1 + i (FLAG_*), then 3 name indexes
   * (namespace, pod, container) per container.
   */
  ints: Uint32Array;
  /** Total containers of the message. */
  containerCount: number;
}

// Node scalar fields, in order.
const NODE_TIMESTAMP = 0;
const NODE_CPU = 1;
const NODE_CPU_REMAINDER = 2;
const NODE_MEMORY = 3;
const NODE_SWAP = 4;
const NODE_START = 5;
const NODE_CPU_CAPACITY = 6;
const NODE_MEMORY_CAPACITY = 7;
const NODE_FIELDS = 8;

// Container columns, in order.
const COL_START = 0;
const COL_TIMESTAMP = 1;
const COL_CPU = 2;
const COL_MEMORY = 3;
const COL_CPU_REMAINDER = 4;
const COL_SWAP = 5;
const COLUMN_COUNT = 6;

// Which optional fields a node has (undefined and absent are kept apart from 0 and NaN).
const FLAG_NODE_CPU_REMAINDER = 1;
const FLAG_NODE_SWAP = 2;
const FLAG_CPU_REMAINDER_COLUMN = 4;
const FLAG_SWAP_COLUMN = 8;
const FLAG_CPU_CAPACITY = 16;
const FLAG_MEMORY_CAPACITY = 32;
const FLAG_WHOLE_SECOND_STARTS = 64;

export interface PackedMessage {
  message: PackedScrapes;
  transfer: ArrayBuffer[];
}

/** Splits a batch into messages of whole nodes, up to about containersPerMessage containers each. */
export function packBatch(batch: readonly NodeScrape[], containersPerMessage: number): PackedMessage[] {
  const messages: PackedMessage[] = [];
  let from = 0;
  while (from < batch.length) {
    let to = from + 1;
    let containers = batch[from].containerCount;
    while (to < batch.length && containers + batch[to].containerCount <= containersPerMessage) {
      containers += batch[to].containerCount;
      to++;
    }
    messages.push(pack(batch.slice(from, to)));
    from = to;
  }
  return messages;
}

/** Packs nodes into one message. */
export function pack(scrapes: readonly NodeScrape[]): PackedMessage {
  const nodeCount = scrapes.length;
  let total = 0;
  for (const s of scrapes) total += s.containerCount;
  const numbers = new Float64Array(nodeCount * NODE_FIELDS + COLUMN_COUNT * total);
  const ints = new Uint32Array(2 * nodeCount + 1 + 3 * total);
  const names: string[] = [];
  const position = new Map<string, number>();
  const indexOf = (name: string): number => {
    let i = position.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      position.set(name, i);
    }
    return i;
  };
  const columns = nodeCount * NODE_FIELDS;
  const flagsAt = nodeCount + 1;
  const namesAt = 2 * nodeCount + 1;
  let offset = 0;
  for (let n = 0; n < nodeCount; n++) {
    const s = scrapes[n];
    const base = n * NODE_FIELDS;
    numbers[base + NODE_TIMESTAMP] = s.nodeTimestampMs;
    numbers[base + NODE_CPU] = s.nodeCpuNs;
    numbers[base + NODE_CPU_REMAINDER] = s.nodeCpuNsRemainder ?? 0;
    numbers[base + NODE_MEMORY] = s.nodeMemoryBytes;
    numbers[base + NODE_SWAP] = s.nodeSwapBytes ?? Number.NaN;
    numbers[base + NODE_START] = s.nodeStartTimeMs;
    numbers[base + NODE_CPU_CAPACITY] = s.cpuCapacityNanocores ?? 0;
    numbers[base + NODE_MEMORY_CAPACITY] = s.memoryCapacityBytes ?? 0;
    let flags = 0;
    if (s.nodeCpuNsRemainder !== undefined) flags |= FLAG_NODE_CPU_REMAINDER;
    if (s.nodeSwapBytes !== undefined) flags |= FLAG_NODE_SWAP;
    if (s.cpuNsRemainder !== undefined) flags |= FLAG_CPU_REMAINDER_COLUMN;
    if (s.swapBytes !== undefined) flags |= FLAG_SWAP_COLUMN;
    if (s.cpuCapacityNanocores !== undefined) flags |= FLAG_CPU_CAPACITY;
    if (s.memoryCapacityBytes !== undefined) flags |= FLAG_MEMORY_CAPACITY;
    if (s.wholeSecondStartTimes === true) flags |= FLAG_WHOLE_SECOND_STARTS;
    ints[n] = offset;
    ints[flagsAt + n] = flags;
    const count = s.containerCount;
    const put = (column: number, values: ArrayLike<number> | undefined, absent: number): void => {
      const at = columns + column * total + offset;
      if (values === undefined) numbers.fill(absent, at, at + count);
      else for (let i = 0; i < count; i++) numbers[at + i] = values[i];
    };
    put(COL_START, s.startTimeMs, 0);
    put(COL_TIMESTAMP, s.timestampMs, 0);
    put(COL_CPU, s.cpuNs, 0);
    put(COL_MEMORY, s.memoryBytes, 0);
    put(COL_CPU_REMAINDER, s.cpuNsRemainder, 0);
    put(COL_SWAP, s.swapBytes, Number.NaN);
    for (let i = 0; i < count; i++) {
      const at = namesAt + 3 * (offset + i);
      ints[at] = indexOf(s.namespaces[i]);
      ints[at + 1] = indexOf(s.pods[i]);
      ints[at + 2] = indexOf(s.containers[i]);
    }
    offset += count;
  }
  ints[nodeCount] = offset;
  return {
    message: { nodes: scrapes.map((s) => s.node), names, numbers, ints, containerCount: total },
    transfer: [numbers.buffer, ints.buffer],
  };
}

/**
 * Rebuilds the NodeScrapes of one message, passing every name through `intern` so repeated names
 * share one string across nodes and ticks. Throws on a malformed message.
 */
export function unpackMessage(m: PackedScrapes, intern: (s: string) => string): NodeScrape[] {
  checkMessage(m);
  const nodeCount = m.nodes.length;
  const total = m.containerCount;
  const { numbers, ints } = m;
  const names = m.names.map(intern);
  const columns = nodeCount * NODE_FIELDS;
  const flagsAt = nodeCount + 1;
  const namesAt = 2 * nodeCount + 1;
  const out = new Array<NodeScrape>(nodeCount);
  for (let n = 0; n < nodeCount; n++) {
    const from = ints[n];
    const to = ints[n + 1];
    const count = to - from;
    const flags = ints[flagsAt + n];
    const column = (c: number): Float64Array => {
      const at = columns + c * total + from;
      return numbers.subarray(at, at + count);
    };
    const namespaces = new Array<string>(count);
    const pods = new Array<string>(count);
    const containers = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const at = namesAt + 3 * (from + i);
      namespaces[i] = nameAt(names, ints[at]);
      pods[i] = nameAt(names, ints[at + 1]);
      containers[i] = nameAt(names, ints[at + 2]);
    }
    const base = n * NODE_FIELDS;
    const s: NodeScrape = {
      node: intern(m.nodes[n]),
      nodeTimestampMs: numbers[base + NODE_TIMESTAMP],
      nodeCpuNs: numbers[base + NODE_CPU],
      nodeMemoryBytes: numbers[base + NODE_MEMORY],
      nodeStartTimeMs: numbers[base + NODE_START],
      containerCount: count,
      namespaces,
      pods,
      containers,
      startTimeMs: column(COL_START),
      timestampMs: column(COL_TIMESTAMP),
      cpuNs: column(COL_CPU),
      memoryBytes: column(COL_MEMORY),
    };
    if (flags & FLAG_NODE_CPU_REMAINDER) s.nodeCpuNsRemainder = numbers[base + NODE_CPU_REMAINDER];
    if (flags & FLAG_NODE_SWAP) s.nodeSwapBytes = numbers[base + NODE_SWAP];
    if (flags & FLAG_CPU_REMAINDER_COLUMN) s.cpuNsRemainder = column(COL_CPU_REMAINDER);
    if (flags & FLAG_SWAP_COLUMN) s.swapBytes = column(COL_SWAP);
    if (flags & FLAG_CPU_CAPACITY) s.cpuCapacityNanocores = numbers[base + NODE_CPU_CAPACITY];
    if (flags & FLAG_MEMORY_CAPACITY) s.memoryCapacityBytes = numbers[base + NODE_MEMORY_CAPACITY];
    if (flags & FLAG_WHOLE_SECOND_STARTS) s.wholeSecondStartTimes = true;
    out[n] = s;
  }
  return out;
}

/** The shape checks that make every index read in unpackMessage safe. */
function checkMessage(m: PackedScrapes): void {
  if (m === null || typeof m !== "object") throw new Error("result message is not an object");
  const { nodes, names, numbers, ints, containerCount: total } = m;
  if (!Array.isArray(nodes) || !nodes.every((n) => typeof n === "string")) throw new Error("bad node names");
  if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) throw new Error("bad name table");
  if (!Number.isSafeInteger(total) || total < 0) throw new Error(`bad container count ${String(total)}`);
  const nodeCount = nodes.length;
  if (
    !(numbers instanceof Float64Array) ||
    numbers.length !== nodeCount * NODE_FIELDS + COLUMN_COUNT * total
  ) {
    throw new Error(`number block does not match ${nodeCount} nodes and ${total} containers`);
  }
  if (!(ints instanceof Uint32Array) || ints.length !== 2 * nodeCount + 1 + 3 * total) {
    throw new Error(`index block does not match ${nodeCount} nodes and ${total} containers`);
  }
  if (ints[0] !== 0 || ints[nodeCount] !== total)
    throw new Error("container offsets do not cover the message");
  for (let n = 0; n < nodeCount; n++) {
    if (ints[n + 1] < ints[n]) throw new Error(`container offsets of node ${n} go backwards`);
  }
}

function nameAt(names: string[], i: number): string {
  const name = names[i];
  if (name === undefined) throw new Error(`name index ${i} out of range`);
  return name;
}
