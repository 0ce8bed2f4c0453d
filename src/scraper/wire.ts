// How a NodeScrape crosses from the scraper worker to the main thread. Structured clone copies every
// string separately and the main thread pays for each one when it deserialises, so each node's three
// name columns travel as one small table of its distinct names plus a Uint32Array of indexes (a node
// with 60 containers in 30 pods sends ~35 strings instead of 180). The Float64Array columns are
// transferred, not copied.
import type { NodeScrape } from "../storage/types.ts";

export interface WireScrape {
  node: string;
  nodeTimestampMs: number;
  nodeCpuNs: number;
  nodeCpuNsRemainder?: number;
  nodeMemoryBytes: number;
  nodeSwapBytes?: number;
  nodeStartTimeMs: number;
  containerCount: number;
  /** The distinct namespace, pod and container names of this node. */
  names: string[];
  /** 3 × containerCount indexes into names: namespace, pod, container of container i at 3i..3i+2. */
  nameIndex: Uint32Array;
  startTimeMs: Float64Array;
  timestampMs: Float64Array;
  cpuNs: Float64Array;
  cpuNsRemainder?: Float64Array;
  memoryBytes: Float64Array;
  swapBytes?: Float64Array;
}

const COLUMNS = ["startTimeMs", "timestampMs", "cpuNs", "memoryBytes"] as const;
const OPTIONAL_COLUMNS = ["cpuNsRemainder", "swapBytes"] as const;

/**
 * Encodes one scrape and adds the buffers to move to `transfer`. The scrape's typed arrays are
 * detached by the post (or copied first when they share a buffer), so do not use `s` afterwards.
 */
export function encodeScrape(s: NodeScrape, transfer: ArrayBuffer[]): WireScrape {
  const n = s.containerCount;
  const names: string[] = [];
  const position = new Map<string, number>();
  const nameIndex = new Uint32Array(3 * n);
  const indexOf = (name: string): number => {
    let i = position.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      position.set(name, i);
    }
    return i;
  };
  for (let i = 0; i < n; i++) {
    nameIndex[3 * i] = indexOf(s.namespaces[i]);
    nameIndex[3 * i + 1] = indexOf(s.pods[i]);
    nameIndex[3 * i + 2] = indexOf(s.containers[i]);
  }
  transfer.push(nameIndex.buffer);
  const wire: WireScrape = {
    node: s.node,
    nodeTimestampMs: s.nodeTimestampMs,
    nodeCpuNs: s.nodeCpuNs,
    nodeMemoryBytes: s.nodeMemoryBytes,
    nodeStartTimeMs: s.nodeStartTimeMs,
    containerCount: n,
    names,
    nameIndex,
    startTimeMs: movable(s.startTimeMs, transfer),
    timestampMs: movable(s.timestampMs, transfer),
    cpuNs: movable(s.cpuNs, transfer),
    memoryBytes: movable(s.memoryBytes, transfer),
  };
  if (s.nodeCpuNsRemainder !== undefined) wire.nodeCpuNsRemainder = s.nodeCpuNsRemainder;
  if (s.nodeSwapBytes !== undefined) wire.nodeSwapBytes = s.nodeSwapBytes;
  if (s.cpuNsRemainder) wire.cpuNsRemainder = movable(s.cpuNsRemainder, transfer);
  if (s.swapBytes) wire.swapBytes = movable(s.swapBytes, transfer);
  return wire;
}

// A column that owns its whole buffer is moved as is; one that is a view into a larger (or already
// listed) buffer is copied, since transferring would take the rest of that buffer with it.
function movable(a: Float64Array, transfer: ArrayBuffer[]): Float64Array {
  const owns = a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;
  const column = owns && !transfer.includes(a.buffer) ? a : a.slice();
  transfer.push(column.buffer as ArrayBuffer);
  return column;
}

/**
 * Rebuilds a NodeScrape on the receiving side, passing every name through `intern` so repeated names
 * share one string across nodes and ticks. Throws on a malformed record.
 */
export function decodeScrape(w: WireScrape, intern: (s: string) => string): NodeScrape {
  const n = w.containerCount;
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad container count ${String(n)}`);
  if (!(w.nameIndex instanceof Uint32Array) || w.nameIndex.length !== 3 * n) {
    throw new Error(`name index does not match ${n} containers`);
  }
  for (const column of COLUMNS) checkColumn(w[column], n, column);
  for (const column of OPTIONAL_COLUMNS) if (w[column] !== undefined) checkColumn(w[column], n, column);
  const names = w.names.map(intern);
  const namespaces = new Array<string>(n);
  const pods = new Array<string>(n);
  const containers = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    namespaces[i] = nameAt(names, w.nameIndex[3 * i]);
    pods[i] = nameAt(names, w.nameIndex[3 * i + 1]);
    containers[i] = nameAt(names, w.nameIndex[3 * i + 2]);
  }
  const s: NodeScrape = {
    node: intern(w.node),
    nodeTimestampMs: w.nodeTimestampMs,
    nodeCpuNs: w.nodeCpuNs,
    nodeMemoryBytes: w.nodeMemoryBytes,
    nodeStartTimeMs: w.nodeStartTimeMs,
    containerCount: n,
    namespaces,
    pods,
    containers,
    startTimeMs: w.startTimeMs,
    timestampMs: w.timestampMs,
    cpuNs: w.cpuNs,
    memoryBytes: w.memoryBytes,
  };
  if (w.nodeCpuNsRemainder !== undefined) s.nodeCpuNsRemainder = w.nodeCpuNsRemainder;
  if (w.nodeSwapBytes !== undefined) s.nodeSwapBytes = w.nodeSwapBytes;
  if (w.cpuNsRemainder !== undefined) s.cpuNsRemainder = w.cpuNsRemainder;
  if (w.swapBytes !== undefined) s.swapBytes = w.swapBytes;
  return s;
}

function checkColumn(a: unknown, n: number, name: string): void {
  if (!(a instanceof Float64Array) || a.length !== n)
    throw new Error(`column ${name} does not have ${n} values`);
}

function nameAt(names: string[], i: number): string {
  const name = names[i];
  if (name === undefined) throw new Error(`name index ${i} out of range`);
  return name;
}
