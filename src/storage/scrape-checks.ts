// What a stored scrape must satisfy: the store takes batches from another thread and skips (and logs)
// what is malformed instead of serving it, and what no node can produce (a timestamp ahead of our
// clock, memory above the node's capacity, CPU faster than its cores, a window longer than the
// store's life). Also how a scrape's containers group into pods.

import type { NodeScrape } from "./types.ts";
import type { ValueLog } from "./value-log.ts";

/** What storing one scrape needs besides the two generations. */
export interface StoreContext {
  /** This process's wall clock when the batch is stored, Unix ms. */
  nowMs: number;
  /** --metric-resolution in ms. */
  resolutionMs: number;
  /** The longest window served: see maxWindowMs(). */
  maxWindowMs: number;
  /** Where the node's errors go (one line per kind, rate-limited). */
  log: ValueLog;
}

/**
 * How far a kubelet's timestamp may be ahead of this process's clock. Clocks of one cluster agree
 * to well under a second with NTP; a point further ahead would stretch the window of the next rate.
 */
export const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * How much faster than the node's cores a CPU rate may be: a sample's timestamp and its counter are
 * not read at the same instant, so a busy node's rate can come out a little above its cores.
 */
export const CPU_CAPACITY_TOLERANCE = 1.1;

/**
 * Plus the error of timestamps with one-second precision (the Summary API's): over a window of w
 * seconds a rate can be off by 1/w of the true one.
 */
const TIMESTAMP_PRECISION_MS = 1000;

/** The fastest CPU rate served over a window, in nanocores, for a capacity in nanocores. */
export function cpuRateLimit(cpuCapacity: number, windowMs: number): number {
  return cpuCapacity * (CPU_CAPACITY_TOLERANCE + TIMESTAMP_PRECISION_MS / windowMs);
}

export const FUTURE_TIMESTAMP = "timestamp in the future";
export const MEMORY_ABOVE_CAPACITY = "memory above the node's capacity";
export const CPU_ABOVE_CAPACITY = "CPU usage faster than the node's cores";
export const TIMESTAMP_WENT_BACK = "timestamp earlier than the stored point's";
export const WINDOW_TOO_LONG = "window longer than consecutive scrapes can span";

/** The longest window of consecutive scrapes, in resolutions (see maxWindowMs). */
export const MAX_WINDOW_RESOLUTIONS = 3;

/**
 * The longest window served. Two points of consecutive scrapes are about one resolution apart: a
 * tick that overruns, a request that takes up to its timeout and a kubelet sample that did not move
 * for a tick stretch that, but not past three resolutions. A longer window pairs
 * points that did not come from consecutive scrapes, e.g. around a kubelet clock that went back:
 * an average, but of another time. Nor can it be longer than this store has existed, plus the
 * clock skew allowed and a young container's window (its start time, under one resolution old).
 */
export function maxWindowMs(
  nowMs: number,
  startedAtMs: number,
  resolutionMs: number,
  consecutive = MAX_WINDOW_RESOLUTIONS * resolutionMs,
): number {
  return Math.min(consecutive, nowMs - startedAtMs + Math.max(MAX_CLOCK_SKEW_MS, resolutionMs));
}

/** A capacity as checked: the value when it is a positive number, else NaN (unknown: no check). */
export function capacityOrUnknown(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : Number.NaN;
}

/** Why a (valid) point must not be stored, or undefined: its timestamp or memory cannot be true. */
export function pointError(
  ts: number,
  memoryBytes: number,
  nowMs: number,
  memoryCapacity: number,
): string | undefined {
  if (ts > nowMs + MAX_CLOCK_SKEW_MS) return FUTURE_TIMESTAMP;
  // Comparisons with NaN (unknown capacity) are false.
  if (memoryBytes > memoryCapacity) return MEMORY_ABOVE_CAPACITY;
  return undefined;
}

/** Why a computed rate must not be served, or undefined. */
export function servedRateError(
  nanocores: number,
  windowMs: number,
  maxWindow: number,
  cpuCapacity: number,
): string | undefined {
  if (windowMs > maxWindow) return WINDOW_TOO_LONG;
  if (nanocores > cpuRateLimit(cpuCapacity, windowMs)) return CPU_ABOVE_CAPACITY;
  return undefined;
}

export function isTime(v: number): boolean {
  return Number.isFinite(v) && v > 0;
}

export function isStartTime(v: number): boolean {
  return Number.isFinite(v) && v >= 0;
}

export function isAmount(v: number): boolean {
  return Number.isFinite(v) && v >= 0;
}

/** An exact-counter correction: a (small) integer of either sign. */
export function isRemainder(v: number): boolean {
  return Number.isSafeInteger(v);
}

/** A swap reading as stored: the value when it is a usable amount, else NaN (unknown). */
export function swapOrUnknown(v: unknown): number {
  return typeof v === "number" && isAmount(v) ? v : Number.NaN;
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return (
    Array.isArray(v) ||
    (ArrayBuffer.isView(v) && typeof (v as unknown as ArrayLike<unknown>).length === "number")
  );
}

/** How many containers of a scrape can be read safely, or -1 if the scrape is not usable at all. */
export function usableContainerCount(s: NodeScrape): number {
  if (s === null || typeof s !== "object" || typeof s.node !== "string") return -1;
  const columns: unknown[] = [
    s.namespaces,
    s.pods,
    s.containers,
    s.startTimeMs,
    s.timestampMs,
    s.cpuNs,
    s.memoryBytes,
  ];
  let count = Number.isSafeInteger(s.containerCount) && s.containerCount >= 0 ? s.containerCount : 0;
  for (const column of columns) {
    if (!isArrayLike(column)) return count === 0 && column === undefined ? 0 : -1;
    count = Math.min(count, column.length);
  }
  // Optional columns: absent means every remainder is 0 and every swap value unknown.
  for (const optional of [s.cpuNsRemainder, s.swapBytes] as unknown[]) {
    if (optional === undefined) continue;
    if (!isArrayLike(optional)) return -1;
    count = Math.min(count, optional.length);
  }
  return count;
}

/** The end of the pod group that starts at container `from`: containers of one pod are contiguous. */
export function podGroupEnd(s: NodeScrape, from: number, count: number): number {
  const namespace = s.namespaces[from];
  const pod = s.pods[from];
  let to = from + 1;
  while (to < count && s.namespaces[to] === namespace && s.pods[to] === pod) to++;
  return to;
}
