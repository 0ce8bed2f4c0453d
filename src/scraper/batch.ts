// The tick's batch from the nodes' scrapes: in node order, each pod once. A pod reported by two
// kubelets is kept from the first node only, as upstream's merge does (kubernetes-sigs/metrics-server
// pkg/scraper/scraper.go), and told to a DuplicatePodSink for the scrape status.
import { formatGoDuration } from "../go/index.ts";
import * as log from "../log/index.ts";
import type { LeftOutPod, NodeScrape } from "../storage/index.ts";

/** Told the pods a tick's merge dropped from `node` because an earlier node reported them too. */
export type DuplicatePodSink = (node: string, pods: LeftOutPod[]) => void;

/** The pods of a scrape (containers of a pod are contiguous). */
export function countPods(s: NodeScrape): number {
  let pods = 0;
  for (let i = 0; i < s.containerCount; i++) {
    if (i === 0 || s.pods[i] !== s.pods[i - 1] || s.namespaces[i] !== s.namespaces[i - 1]) pods++;
  }
  return pods;
}

/**
 * The tick's batch: the scrapes of the nodes that answered, in node order, without duplicate pods
 * (logged here, once per tick, as upstream's merge does). `startMs` is the tick's performance.now().
 */
export function finishBatch(
  order: readonly string[],
  scrapes: ReadonlyMap<string, NodeScrape>,
  startMs: number,
  onDuplicatePods?: DuplicatePodSink,
): NodeScrape[] {
  const answered: NodeScrape[] = [];
  for (const node of order) {
    const s = scrapes.get(node);
    if (s !== undefined) answered.push(s);
  }
  const batch = dropDuplicatePods(answered, onDuplicatePods);
  if (log.V(1).enabled) {
    let nodeCount = 0;
    let podCount = 0;
    for (const s of batch) {
      if (s.nodeTimestampMs !== 0) nodeCount++;
      podCount += countPods(s);
    }
    log.V(1).info("Scrape finished", {
      duration: formatGoDuration(performance.now() - startMs),
      nodeCount,
      podCount,
    });
  }
  return batch;
}

/** A LeftOutPod cause: the pod came from an earlier node of the tick too. */
export const REPORTED_BY_TWO_NODES = "reported by two nodes";

/**
 * A pod reported by two kubelets is kept from the first node only (upstream logs "Got duplicate pod
 * point" and drops the later one). Containers of a pod are contiguous, so pods are compared by group.
 */
function dropDuplicatePods(batch: NodeScrape[], onDuplicatePods: DuplicatePodSink | undefined): NodeScrape[] {
  const seen = new Set<string>();
  return batch.map((s) => {
    let keep: boolean[] | undefined;
    let dropped: LeftOutPod[] | undefined;
    let i = 0;
    while (i < s.containerCount) {
      let j = i + 1;
      while (j < s.containerCount && s.pods[j] === s.pods[i] && s.namespaces[j] === s.namespaces[i]) j++;
      const key = s.namespaces[i] + "/" + s.pods[i];
      if (seen.has(key)) {
        log.error(undefined, "Got duplicate pod point", { pod: key });
        keep ??= new Array<boolean>(s.containerCount).fill(true);
        keep.fill(false, i, j);
        dropped ??= [];
        dropped.push({ namespace: s.namespaces[i], pod: s.pods[i], cause: REPORTED_BY_TWO_NODES });
      } else {
        seen.add(key);
      }
      i = j;
    }
    if (dropped !== undefined) onDuplicatePods?.(s.node, dropped);
    return keep ? filterContainers(s, keep) : s;
  });
}

function filterContainers(s: NodeScrape, keep: boolean[]): NodeScrape {
  const idx: number[] = [];
  for (let i = 0; i < s.containerCount; i++) if (keep[i]) idx.push(i);
  const pick = (a: Float64Array): Float64Array => Float64Array.from(idx, (i) => a[i]);
  const filtered: NodeScrape = {
    ...s,
    containerCount: idx.length,
    namespaces: idx.map((i) => s.namespaces[i]),
    pods: idx.map((i) => s.pods[i]),
    containers: idx.map((i) => s.containers[i]),
    startTimeMs: pick(s.startTimeMs),
    timestampMs: pick(s.timestampMs),
    cpuNs: pick(s.cpuNs),
    memoryBytes: pick(s.memoryBytes),
  };
  // Every per-container column, the optional ones too: a column left as it was would pair the kept
  // containers with the dropped ones' values.
  if (s.cpuNsRemainder !== undefined) filtered.cpuNsRemainder = pick(s.cpuNsRemainder);
  if (s.swapBytes !== undefined) filtered.swapBytes = pick(s.swapBytes);
  return filtered;
}
