// What a generation serves: a node's or a pod's metrics point, with CPU as the rate between the
// newest point and the one before it. Rates are computed on read, so a tick stores raw counters only.

import type { Generation } from "./generation.ts";
import type { ContainerMetricsPoint, NodeMetricsPoint, PodMetricsPoint } from "./types.ts";

export const CPU_DECREASE = "unexpected decrease in cumulative CPU usage value";
export const START_DECREASE = "unexpected decrease in startTime of node/container";

/**
 * Exact CPU used between two points, each given as (nearest double, remainder). For counters past
 * 2^53 (Summary API) the doubles are close, so their difference is exact (Sterbenz lemma) and adding
 * the difference of the small remainders restores the exact integer delta. With remainders 0 (the
 * resource path) this is the plain difference.
 */
export function cpuDelta(lastCpu: number, lastRem: number, prevCpu: number, prevRem: number): number {
  return lastCpu - prevCpu + (lastRem - prevRem);
}

/** Why a rate cannot be computed between two points, or undefined when it can. */
export function rateError(lastStart: number, prevStart: number, delta: number): string | undefined {
  if (lastStart !== 0 && prevStart !== 0 && lastStart < prevStart) return START_DECREASE;
  // A counter reset: compared on the exact (double, remainder) pair, not on the doubles alone.
  if (delta < 0) return CPU_DECREASE;
  return undefined;
}

/** Nanocores: trunc(Δcpu / window in seconds), as upstream computes it. */
export function cpuRate(delta: number, lastTs: number, prevTs: number): number {
  return Math.trunc(delta / ((lastTs - prevTs) / 1000));
}

/**
 * Whether a window and rate may be served. Storing already keeps every prev point before its last
 * one and refuses impossible rates (store-scrape.ts); this guards the read against any way round.
 */
function servable(windowMs: number, nanocores: number): boolean {
  return windowMs > 0 && Number.isFinite(windowMs) && nanocores >= 0 && Number.isFinite(nanocores);
}

/** What is served for a node: undefined without a prev point or when the rate cannot be computed. */
export function nodePoint(g: Generation, slot: number): NodeMetricsPoint | undefined {
  const prevTs = g.nodePrevTs[slot];
  if (Number.isNaN(prevTs)) return undefined;
  const ts = g.nodeLastTs[slot];
  const delta = cpuDelta(
    g.nodeLastCpu[slot],
    g.nodeLastCpuRem[slot],
    g.nodePrevCpu[slot],
    g.nodePrevCpuRem[slot],
  );
  if (rateError(g.nodeLastStart[slot], g.nodePrevStart[slot], delta) !== undefined) return undefined;
  const windowMs = ts - prevTs;
  const cpuNanocores = cpuRate(delta, ts, prevTs);
  if (!servable(windowMs, cpuNanocores)) return undefined;
  const point: NodeMetricsPoint = {
    timestampMs: ts,
    windowMs,
    cpuNanocores,
    memoryBytes: g.nodeLastMem[slot],
  };
  const swap = g.nodeLastSwap[slot];
  if (!Number.isNaN(swap)) point.swapBytes = swap;
  return point;
}

/**
 * What is served for a pod: undefined while any of its containers lacks a prev point (upstream hides
 * the pod, e.g. for a container just added) or when no container's rate can be computed; else the
 * containers with a rate, and the timestamp and window of the earliest of them.
 */
export function podPoint(g: Generation, slot: number): PodMetricsPoint | undefined {
  const containers: ContainerMetricsPoint[] = [];
  let earliestTs = Number.POSITIVE_INFINITY;
  let earliestWindow = 0;
  for (let c = g.podFirst[slot]; c < g.podFirst[slot + 1]; c++) {
    const prevTs = g.containerPrevTs[c];
    if (Number.isNaN(prevTs)) return undefined;
    const ts = g.containerLastTs[c];
    const delta = cpuDelta(
      g.containerLastCpu[c],
      g.containerLastCpuRemAt(c),
      g.containerPrevCpu[c],
      g.containerPrevCpuRemAt(c),
    );
    if (rateError(g.containerLastStart[c], g.containerPrevStartAt(c), delta) !== undefined) continue;
    const cpuNanocores = cpuRate(delta, ts, prevTs);
    if (!servable(ts - prevTs, cpuNanocores)) return undefined;
    const point: ContainerMetricsPoint = {
      name: g.containerName[c],
      cpuNanocores,
      memoryBytes: g.containerLastMem[c],
    };
    const swap = g.containerLastSwapAt(c);
    if (!Number.isNaN(swap)) point.swapBytes = swap;
    containers.push(point);
    if (ts < earliestTs) {
      earliestTs = ts;
      earliestWindow = ts - prevTs;
    }
  }
  if (containers.length === 0) return undefined;
  return { timestampMs: earliestTs, windowMs: earliestWindow, containers };
}
