// The /metrics/resource families the decoder keeps, and what a sample of each records. Upstream reads
// the cpu, memory and start time ones (kubernetes-sigs/metrics-server
// pkg/scraper/client/resource/decode.go); swap is read as well, for the optional swap usage only.
// Adding a family is one row of FAMILIES (and, for a new kind of value, one case in recordSample).
import {
  type ContainerAccumulator,
  differs,
  SERIES_CPU,
  SERIES_MEMORY,
  SERIES_START_TIME,
  SERIES_SWAP,
} from "./accumulators.ts";
import { nameEndsAt } from "./syntax.ts";

// What a family's sample sets.
const CPU = 0;
const MEMORY = 1;
const START_TIME = 2;
const SWAP = 3;
/** The SERIES_* bit of each kind of value. */
const SERIES_OF = [SERIES_CPU, SERIES_MEMORY, SERIES_START_TIME, SERIES_SWAP];

const FAMILIES: readonly { name: string; node: boolean; sets: number }[] = [
  { name: "node_cpu_usage_seconds_total", node: true, sets: CPU },
  { name: "node_memory_working_set_bytes", node: true, sets: MEMORY },
  { name: "node_swap_usage_bytes", node: true, sets: SWAP },
  { name: "container_cpu_usage_seconds_total", node: false, sets: CPU },
  { name: "container_memory_working_set_bytes", node: false, sets: MEMORY },
  { name: "container_start_time_seconds", node: false, sets: START_TIME },
  { name: "container_swap_usage_bytes", node: false, sets: SWAP },
];

// The table by family id (FAMILIES index + 1; 0 = a family that is not kept), in typed arrays for the
// decoder's loop.
/** The family's metric name, as bytes. */
export const FAMILY_NAME: readonly Uint8Array[] = [
  new Uint8Array(0),
  ...FAMILIES.map((f) => Uint8Array.from(f.name, (ch) => ch.charCodeAt(0))),
];
/** 1 for a node's own family, 0 for a container's. */
export const FAMILY_OF_NODE = Uint8Array.from([0, ...FAMILIES.map((f) => (f.node ? 1 : 0))]);
const FAMILY_SETS = Uint8Array.from([0, ...FAMILIES.map((f) => f.sets)]);
/** Family ids by the first byte of their name. */
const BY_FIRST_BYTE: number[][] = Array.from({ length: 256 }, () => []);
for (let id = 1; id < FAMILY_NAME.length; id++) BY_FIRST_BYTE[FAMILY_NAME[id][0]].push(id);

/** The kept family whose sample line starts at `start` (0 = none): its name, ending there. */
export function familyOf(bytes: Uint8Array, start: number): number {
  for (const id of BY_FIRST_BYTE[bytes[start]]) {
    const name = FAMILY_NAME[id];
    if (start + name.length > bytes.length) continue;
    let j = 1;
    while (j < name.length && bytes[start + j] === name[j]) j++;
    if (j < name.length) continue;
    // The name must end here: `container_cpu_usage_seconds_total_foo` is another metric.
    if (nameEndsAt(bytes, start + name.length)) return id;
  }
  return 0;
}

/** A counter or byte count that is NaN, infinite or negative cannot be used; 0 marks it missing. */
function usable(v: number): number {
  return Number.isFinite(v) && v > 0 ? v : 0;
}

/** `v` (usable) times `scale`, truncated: 0 (missing) when the product is too large for a double. */
function scaled(v: number, scale: number): number {
  const x = Math.trunc(usable(v) * scale);
  return x === Number.POSITIVE_INFINITY ? 0 : x;
}

/** A swap byte count: NaN (unknown) unless finite and non-negative; 0 is a real value (swap off). */
function swapAmount(v: number): number {
  return Number.isFinite(v) && v >= 0 ? Math.trunc(v) + 0 : Number.NaN;
}

/**
 * Records a sample of family `id` (not 0) in `c`, the node's point or a container's. As upstream reads
 * them: cpu and memory both set the point's time, the later line winning; the start time's own sample
 * timestamp is ignored; swap never sets a time and never makes a point complete or incomplete.
 * A second sample of the same series that records another value (or, for cpu and memory, another
 * time) marks the series as conflicting: a swap series is then unknown, any other leaves the point out.
 * @returns 1 when this sample made the series conflicting, else 0.
 */
export function recordSample(
  c: ContainerAccumulator,
  id: number,
  value: number,
  timestampMs: number,
): number {
  let conflict = 0;
  switch (FAMILY_SETS[id]) {
    case CPU: {
      const cpuNs = scaled(value, 1e9);
      if ((c.seen & SERIES_CPU) !== 0 && (cpuNs !== c.cpuNs || timestampMs !== c.cpuTimeMs))
        conflict = markConflict(c, SERIES_CPU);
      c.seen |= SERIES_CPU;
      c.cpuNs = cpuNs;
      c.cpuTimeMs = timestampMs;
      c.timestampMs = timestampMs;
      return conflict;
    }
    case MEMORY: {
      const memoryBytes = scaled(value, 1);
      if ((c.seen & SERIES_MEMORY) !== 0 && (memoryBytes !== c.memoryBytes || timestampMs !== c.memoryTimeMs))
        conflict = markConflict(c, SERIES_MEMORY);
      c.seen |= SERIES_MEMORY;
      c.memoryBytes = memoryBytes;
      c.memoryTimeMs = timestampMs;
      c.timestampMs = timestampMs;
      return conflict;
    }
    case START_TIME: {
      // Not truncated: times are milliseconds with fractions.
      const ms = usable(value) * 1000;
      const startTimeMs = ms === Number.POSITIVE_INFINITY ? 0 : ms;
      if ((c.seen & SERIES_START_TIME) !== 0 && startTimeMs !== c.startTimeMs)
        conflict = markConflict(c, SERIES_START_TIME);
      c.seen |= SERIES_START_TIME;
      c.startTimeMs = startTimeMs;
      return conflict;
    }
    default: {
      const swapBytes = swapAmount(value);
      if ((c.seen & SERIES_SWAP) !== 0 && differs(swapBytes, c.swapBytes))
        conflict = markConflict(c, SERIES_SWAP);
      c.seen |= SERIES_SWAP;
      // Once conflicting, a swap series stays unknown whatever comes after.
      c.swapBytes = (c.conflicts & SERIES_SWAP) !== 0 ? Number.NaN : swapBytes;
      c.swapSeen = true;
      return conflict;
    }
  }
}

/** Marks `series` of `c` as conflicting; 1 if it was not already. */
function markConflict(c: ContainerAccumulator, series: number): number {
  if ((c.conflicts & series) !== 0) return 0;
  c.conflicts |= series;
  return 1;
}

/** The family names of a container's (or the node's) conflicting series, as SERIES_* bits say. */
export function conflictingFamilies(conflicts: number, node: boolean): string[] {
  const names: string[] = [];
  for (const f of FAMILIES) {
    if (f.node === node && (conflicts & SERIES_OF[f.sets]) !== 0) names.push(f.name);
  }
  return names;
}
