// Storing one scrape into the next generation: validates its node point and pods, and carries each
// one's previous point over from the generation being replaced. A rate error is logged here, once per
// tick; reads find it again and leave the item out.

import * as log from "../log/index.ts";
import { type Generation, NO_PREV, stringHash } from "./generation.ts";
import { cpuDelta, cpuRate, rateError } from "./points.ts";
import {
  capacityOrUnknown,
  isAmount,
  isRemainder,
  isStartTime,
  isTime,
  podGroupEnd,
  pointError,
  type StoreContext,
  servedRateError,
  swapOrUnknown,
  TIMESTAMP_WENT_BACK,
} from "./scrape-checks.ts";
import type { NodeScrape } from "./types.ts";

/** Below this age a container's counter is too young to give an accurate rate (upstream's 10 s). */
const FRESH_CONTAINER_MIN_AGE_MS = 10_000;

function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

export function storeNode(old: Generation, next: Generation, s: NodeScrape, ctx: StoreContext): void {
  const node = s.node;
  const ts = s.nodeTimestampMs;
  if (ts === 0) return; // the node's own point was incomplete: the node is absent this tick
  const start = s.nodeStartTimeMs ?? 0;
  const cpu = s.nodeCpuNs;
  const cpuRem = s.nodeCpuNsRemainder ?? 0;
  const mem = s.nodeMemoryBytes;
  if (!isTime(ts) || !isStartTime(start) || !isAmount(cpu) || !isRemainder(cpuRem) || !isAmount(mem)) {
    ctx.log.error(undefined, "Skipping invalid node metrics point", { timestampMs: ts, cpuNs: cpu });
    return;
  }
  const unreal = pointError(ts, mem, ctx.nowMs, capacityOrUnknown(s.memoryCapacityBytes));
  if (unreal !== undefined) {
    ctx.log.error(new Error(unreal), "Skipping node metrics point");
    return;
  }
  const slot = next.nodeCount++;
  next.nodeIndex.set(node, slot);
  next.nodeLastStart[slot] = start;
  next.nodeLastTs[slot] = ts;
  next.nodeLastCpu[slot] = cpu;
  next.nodeLastCpuRem[slot] = cpuRem;
  next.nodeLastMem[slot] = mem;
  next.nodeLastSwap[slot] = swapOrUnknown(s.nodeSwapBytes);

  let prevTs = NO_PREV;
  let prevStart = 0;
  let prevCpu = 0;
  let prevCpuRem = 0;
  const oldSlot = old.nodeIndex.get(node);
  // A start time at or after the stored point means the node rebooted: its counter began again.
  if (oldSlot !== undefined && (start === 0 || start < old.nodeLastTs[oldSlot])) {
    const oldLastTs = old.nodeLastTs[oldSlot];
    const oldPrevTs = old.nodePrevTs[oldSlot];
    if (ts > oldLastTs) {
      prevTs = oldLastTs;
      prevStart = old.nodeLastStart[oldSlot];
      prevCpu = old.nodeLastCpu[oldSlot];
      prevCpuRem = old.nodeLastCpuRem[oldSlot];
    } else if (!Number.isNaN(oldPrevTs)) {
      if (oldPrevTs < ts) {
        prevTs = oldPrevTs;
        prevStart = old.nodePrevStart[oldSlot];
        prevCpu = old.nodePrevCpu[oldSlot];
        prevCpuRem = old.nodePrevCpuRem[oldSlot];
      } else {
        log.V(2).info("Found new node metrics point is older then stored previous, drop previous", {
          node,
          previousTimestamp: isoTime(oldPrevTs),
          timestamp: isoTime(ts),
        });
      }
    }
    // Upstream's rules leave it without a rate; say why (the same point stored again is no error).
    // Upstream also keeps the older point as the newest, so the next point is paired with it: its
    // counter and its time disagree (a clock that went back), and that rate would be wrong. The
    // stored point stays the newest instead.
    if (Number.isNaN(prevTs) && ts < oldLastTs) {
      ctx.log.error(new Error(TIMESTAMP_WENT_BACK), "Skipping node usage metric");
      next.nodeLastStart[slot] = old.nodeLastStart[oldSlot];
      next.nodeLastTs[slot] = oldLastTs;
      next.nodeLastCpu[slot] = old.nodeLastCpu[oldSlot];
      next.nodeLastCpuRem[slot] = old.nodeLastCpuRem[oldSlot];
      next.nodeLastMem[slot] = old.nodeLastMem[oldSlot];
      next.nodeLastSwap[slot] = old.nodeLastSwap[oldSlot];
    }
  }
  if (!Number.isNaN(prevTs)) {
    const delta = cpuDelta(cpu, cpuRem, prevCpu, prevCpuRem);
    // Logged once here; reads find the same error again and leave the node out.
    const err = rateError(start, prevStart, delta);
    if (err !== undefined) ctx.log.error(new Error(err), "Skipping node usage metric");
    else {
      const unserved = servedRateError(
        cpuRate(delta, ts, prevTs),
        ts - prevTs,
        ctx.maxWindowMs,
        capacityOrUnknown(s.cpuCapacityNanocores),
      );
      if (unserved !== undefined) {
        // Not this rate; the point itself may be the prev of the next one.
        ctx.log.error(new Error(unserved), "Skipping node usage metric");
        prevTs = NO_PREV;
      }
    }
  }
  next.nodePrevTs[slot] = prevTs;
  next.nodePrevStart[slot] = prevStart;
  next.nodePrevCpu[slot] = prevCpu;
  next.nodePrevCpuRem[slot] = prevCpuRem;
  if (!Number.isNaN(prevTs)) next.nodesWithPrev++;
}

export function storePods(
  old: Generation,
  next: Generation,
  s: NodeScrape,
  count: number,
  ctx: StoreContext,
): void {
  let from = 0;
  while (from < count) {
    const to = podGroupEnd(s, from, count);
    storePod(old, next, s, from, to, ctx);
    from = to;
  }
}

/** Stores containers [from, to) of a scrape, which all belong to one pod. */
function storePod(
  old: Generation,
  next: Generation,
  s: NodeScrape,
  from: number,
  to: number,
  ctx: StoreContext,
): void {
  const namespace = s.namespaces[from];
  const pod = s.pods[from];
  if (typeof namespace !== "string" || typeof pod !== "string") {
    ctx.log.error(undefined, "Skipping pod metrics with a non-string name");
    return;
  }
  if (next.podCount === next.podName.length) {
    // More pods than were counted: the batch was changed while storeAsync was storing it. The
    // generation has no room (and a full pod index would never end a probe): leave the pod out.
    ctx.log.error(undefined, "Skipping pod metrics: the batch changed while it was being stored", {
      pod: `${namespace}/${pod}`,
    });
    return;
  }
  // One hash of the name serves both lookups: the pod index mixes the namespace in per generation.
  const podNameHash = stringHash(pod);
  const namespaceId = next.addNamespace(namespace);
  const bucket = next.findPod(namespaceId, pod, podNameHash);
  if (bucket >= 0) {
    ctx.log.error(undefined, "Got duplicate pod point", { pod: `${namespace}/${pod}` });
    return;
  }
  const names = s.containers;
  const remainders = s.cpuNsRemainder;
  const swaps = s.swapBytes;
  const memoryCapacity = capacityOrUnknown(s.memoryCapacityBytes);
  const cpuCapacity = capacityOrUnknown(s.cpuCapacityNanocores);
  let sorted = true;
  for (let i = from; i < to; i++) {
    if (
      typeof names[i] !== "string" ||
      !isTime(s.timestampMs[i]) ||
      !isStartTime(s.startTimeMs[i]) ||
      !isAmount(s.cpuNs[i]) ||
      (remainders !== undefined && !isRemainder(remainders[i])) ||
      !isAmount(s.memoryBytes[i])
    ) {
      ctx.log.error(undefined, "Skipping invalid pod metrics point", {
        pod: `${namespace}/${pod}`,
        container: String(names[i]),
      });
      return;
    }
    // A container the node cannot have hides its pod, as an incomplete one does (not a smaller sum).
    const unreal = pointError(s.timestampMs[i], s.memoryBytes[i], ctx.nowMs, memoryCapacity);
    if (unreal !== undefined) {
      ctx.log.error(new Error(unreal), "Skipping pod metrics point", {
        pod: `${namespace}/${pod}`,
        container: names[i],
      });
      return;
    }
    if (i > from && !(names[i - 1] < names[i])) sorted = false;
  }
  // Duplicates also land here: a stable sort keeps the first of equal names first.
  let order: number[] | undefined;
  if (!sorted) {
    order = [];
    for (let i = from; i < to; i++) order.push(i);
    order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
  }

  const slot = next.addPod(namespaceId, pod, bucket);
  next.podFirst[slot] = next.containerCount;
  const oldNamespaceId = old.namespaceId(namespace);
  const oldSlot = oldNamespaceId === undefined ? -1 : old.findPod(oldNamespaceId, pod, podNameHash);
  let oldCursor = oldSlot < 0 ? 0 : old.podFirst[oldSlot];
  const oldEnd = oldSlot < 0 ? 0 : old.podFirst[oldSlot + 1];

  let withPrev = 0;
  let previousName: string | undefined;
  for (let k = 0; k < to - from; k++) {
    const i = order === undefined ? from + k : order[k];
    const name = names[i];
    if (name === previousName) {
      ctx.log.error(undefined, "Got duplicate Container point", {
        container: name,
        pod: `${namespace}/${pod}`,
      });
      continue;
    }
    previousName = name;
    const start = s.startTimeMs[i];
    const ts = s.timestampMs[i];
    const cpu = s.cpuNs[i];
    const cpuRem = remainders === undefined ? 0 : remainders[i];
    const c = next.containerCount++;
    next.containerName[c] = name;
    next.containerLastStart[c] = start;
    next.containerLastTs[c] = ts;
    next.containerLastCpu[c] = cpu;
    next.containerLastMem[c] = s.memoryBytes[i];

    let prevTs = NO_PREV;
    /** The old generation's container whose point stays the newest (a timestamp that went back). */
    let keepOld = -1;
    // Without a prev point the prev start is never read; the last start costs no column.
    let prevStart = start;
    let prevCpu = 0;
    let prevCpuRem = 0;
    const age = ts - start;
    if (
      s.wholeSecondStartTimes !== true &&
      start !== 0 &&
      start < ts &&
      age >= FRESH_CONTAINER_MIN_AGE_MS &&
      age < ctx.resolutionMs
    ) {
      // Young container: its counter started at 0 at its start time, so that is a valid prev.
      prevTs = start;
      prevStart = start;
    } else if (oldSlot >= 0) {
      // Both generations keep a pod's containers sorted by name, so one forward walk finds matches.
      while (oldCursor < oldEnd && old.containerName[oldCursor] < name) oldCursor++;
      if (oldCursor < oldEnd && old.containerName[oldCursor] === name) {
        const oldLastTs = old.containerLastTs[oldCursor];
        // For explanations (describe.ts): a point with another start time than the one it replaces.
        const oldStart = old.containerLastStart[oldCursor];
        if (start !== 0 && oldStart !== 0 && start !== oldStart) next.setRestartedAt(c, start);
        // A start time at or after the stored point means a restart: the counter began again.
        if (start === 0 || start < oldLastTs) {
          const oldPrevTs = old.containerPrevTs[oldCursor];
          if (ts > oldLastTs) {
            prevTs = oldLastTs;
            prevStart = old.containerLastStart[oldCursor];
            prevCpu = old.containerLastCpu[oldCursor];
            prevCpuRem = old.containerLastCpuRemAt(oldCursor);
          } else if (!Number.isNaN(oldPrevTs)) {
            if (oldPrevTs < ts) {
              prevTs = oldPrevTs;
              prevStart = old.containerPrevStartAt(oldCursor);
              prevCpu = old.containerPrevCpu[oldCursor];
              prevCpuRem = old.containerPrevCpuRemAt(oldCursor);
            } else {
              log
                .V(2)
                .info("Found new container metrics point is older then stored previous , drop previous", {
                  container: name,
                  pod: `${namespace}/${pod}`,
                  previousTimestamp: isoTime(oldPrevTs),
                  timestamp: isoTime(ts),
                });
            }
          }
          if (Number.isNaN(prevTs) && ts < oldLastTs) {
            ctx.log.error(new Error(TIMESTAMP_WENT_BACK), "Skipping container usage metric", {
              container: name,
              pod: `${namespace}/${pod}`,
            });
            // The stored point stays the newest (see storeNode).
            keepOld = oldCursor;
          }
        }
      }
    }
    if (!Number.isNaN(prevTs)) {
      const delta = cpuDelta(cpu, cpuRem, prevCpu, prevCpuRem);
      // Logged once here; reads find the same error again and skip the container.
      const err = rateError(start, prevStart, delta);
      const unserved =
        err ?? servedRateError(cpuRate(delta, ts, prevTs), ts - prevTs, ctx.maxWindowMs, cpuCapacity);
      if (unserved !== undefined) {
        ctx.log.error(new Error(unserved), "Skipping container usage metric", {
          container: name,
          pod: `${namespace}/${pod}`,
        });
      }
      if (err === undefined && unserved !== undefined) {
        // No prev: the pod is not served this tick (not with a smaller sum); this point may be the
        // prev of the next one.
        prevTs = NO_PREV;
        prevStart = start;
        prevCpu = 0;
        prevCpuRem = 0;
      }
    }
    next.containerPrevTs[c] = prevTs;
    next.containerPrevCpu[c] = prevCpu;
    if (keepOld >= 0) {
      next.containerLastStart[c] = old.containerLastStart[keepOld];
      next.containerLastTs[c] = old.containerLastTs[keepOld];
      next.containerLastCpu[c] = old.containerLastCpu[keepOld];
      next.containerLastMem[c] = old.containerLastMem[keepOld];
      next.setContainerOptional(
        c,
        old.containerLastCpuRemAt(keepOld),
        prevCpuRem,
        old.containerLastStart[keepOld],
        old.containerLastSwapAt(keepOld),
      );
    } else {
      const swap = swaps === undefined ? Number.NaN : swapOrUnknown(swaps[i]);
      next.setContainerOptional(c, cpuRem, prevCpuRem, prevStart, swap);
    }
    if (!Number.isNaN(prevTs)) withPrev++;
  }
  next.podFirst[slot + 1] = next.containerCount;
  if (withPrev > 0) next.podsWithPrev++;
  next.containersWithPrev += withPrev;
}
