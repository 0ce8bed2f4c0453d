// What a stored scrape must satisfy: the store takes batches from another thread and skips (and logs)
// what is malformed instead of serving it. Also how a scrape's containers group into pods.

import type { NodeScrape } from "./types.ts";

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
