// The store's points of one pod or node as facts for an explanation (StoreDescriber): how many points
// each container has, their times, and a restart seen when the newest point came in. Read only when a
// 404 is explained, never on a list's path.
import type { Generation } from "./generation.ts";
import type { StoredNodeView, StoredPodView } from "./types.ts";

export function describePod(g: Generation, namespace: string, name: string): StoredPodView | undefined {
  const slot = g.lookupPod(namespace, name);
  if (slot === undefined) return undefined;
  let node = "";
  // A pod's slot lies in the range of the node whose scrape stored it (a scan of the nodes: rare).
  for (const [owner, o] of g.ownerIndex) {
    if (g.ownerPodFrom[o] <= slot && slot < g.ownerPodTo[o]) {
      node = owner;
      break;
    }
  }
  const containers: StoredPodView["containers"] = [];
  for (let c = g.podFirst[slot]; c < g.podFirst[slot + 1]; c++) {
    const prevTs = g.containerPrevTs[c];
    const view: StoredPodView["containers"][number] = {
      name: g.containerName[c],
      points: Number.isNaN(prevTs) ? 1 : 2,
      newestMs: g.containerLastTs[c],
      startMs: g.containerLastStart[c],
    };
    if (!Number.isNaN(prevTs)) view.previousMs = prevTs;
    const restartedAt = g.containerRestartedAt?.get(c);
    if (restartedAt !== undefined) view.restartedAtMs = restartedAt;
    containers.push(view);
  }
  return { node, containers };
}

export function describeNode(g: Generation, name: string): StoredNodeView | undefined {
  const slot = g.nodeIndex.get(name);
  if (slot === undefined) return undefined;
  const prevTs = g.nodePrevTs[slot];
  const view: StoredNodeView = { points: Number.isNaN(prevTs) ? 1 : 2, newestMs: g.nodeLastTs[slot] };
  if (!Number.isNaN(prevTs)) view.previousMs = prevTs;
  return view;
}
