// The pods a decode leaves out (incomplete or conflicting), for the node's scrape report: the first
// MAX_LEFT_OUT_PER_NODE of them and how many there were. A healthy body costs one empty list.
import { type LeftOutPod, MAX_LEFT_OUT_PER_NODE } from "../../storage/index.ts";

/** The pods completePods leaves out: the first few, and how many. */
export interface LeftOutList {
  items: LeftOutPod[];
  count: number;
}

export function newLeftOutList(): LeftOutList {
  return { items: [], count: 0 };
}

/** Puts what was left out on the decoder's scrape (nothing when nothing was left out). */
export function attachLeftOut(
  scrape: { leftOut?: LeftOutPod[]; leftOutCount?: number },
  list: LeftOutList,
): void {
  if (list.count === 0) return;
  scrape.leftOut = list.items;
  scrape.leftOutCount = list.count;
}

/** Counts one left-out pod, and keeps it while the list has room. */
export function leaveOut(
  list: LeftOutList | undefined,
  namespace: string,
  pod: string,
  container: string,
  cause: string,
): void {
  if (list === undefined) return;
  list.count++;
  if (list.items.length < MAX_LEFT_OUT_PER_NODE) list.items.push({ namespace, pod, container, cause });
}
