// Why a pod has no PodMetrics: the API server's view of it (unknown, not Running), its node's
// state, what its node's kubelet left out or the store refused, and how many points each container
// has (one so far, or one since a restart).

import { goQuote } from "../go/index.ts";
import type { LeftOutPod, NodeScrapeStatus, StoredPodView } from "../storage/index.ts";
import { nodeCauses } from "./node.ts";
import { ago, agoAt, inAt, rfc3339 } from "./times.ts";
import type { Cause, CauseReason, ExplainClock, LiveContainer, LivePod, PodFacts } from "./types.ts";

/** The reason for a left-out or refused pod, from the stable cause texts of LeftOutPod. */
export function leftOutReason(cause: string): CauseReason {
  if (/ is (0|missing)$/.test(cause)) return "ValuesMissing";
  if (cause.includes("conflicting")) return "ValuesConflicting";
  if (cause.includes("two nodes")) return "DuplicatePod";
  return "ValuesRefused";
}

// Why a kubelet reports zero or no values, as users meet it.
const MISSING_HINT =
  "a pod is served only when each of its containers has cpu and memory above 0 (a container that has just started, or a container runtime without stats for it, reports none)";

function leftOutCause(entry: LeftOutPod, node: string, whenText: string, refused: boolean): Cause {
  const reason = leftOutReason(entry.cause);
  const what = entry.container === undefined ? "the pod" : `container ${goQuote(entry.container)}`;
  const field = entry.container === undefined ? undefined : `containers[${entry.container}]`;
  let message: string;
  switch (reason) {
    case "ValuesMissing":
      message = `${what}: ${entry.cause} in the last answer of node ${goQuote(node)}'s kubelet, ${whenText}; ${MISSING_HINT}`;
      break;
    case "ValuesConflicting":
      message = `node ${goQuote(node)}'s kubelet reported conflicting values for ${what} in its last answer, ${whenText} (the same series twice with different values)`;
      break;
    case "DuplicatePod":
      message = `the pod was reported by two nodes ${whenText} (node ${goQuote(node)} and another); neither report is served`;
      break;
    default:
      message = `${refused ? "the store refused" : "the scrape left out"} ${what} from node ${goQuote(node)} ${whenText}: ${entry.cause}`;
  }
  return field === undefined ? { reason, message } : { reason, message, field };
}

function leftOutCauses(
  facts: PodFacts,
  scrape: NodeScrapeStatus,
  node: string,
  clock: ExplainClock,
): Cause[] {
  const mine = (e: LeftOutPod) => e.namespace === facts.namespace && e.pod === facts.name;
  const whenText = agoAt(scrape.latest.startMs, clock.nowMs);
  const causes: Cause[] = [];
  for (const e of scrape.latest.leftOut ?? [])
    if (mine(e)) causes.push(leftOutCause(e, node, whenText, false));
  for (const e of scrape.refused ?? []) if (mine(e)) causes.push(leftOutCause(e, node, whenText, true));
  return causes;
}

function pointCauses(stored: StoredPodView, live: LivePod | undefined, clock: ExplainClock): Cause[] {
  const causes: Cause[] = [];
  for (const c of stored.containers) {
    if (c.points === 2) continue;
    const due = inAt(c.newestMs + clock.resolutionMs, clock.nowMs);
    const field = `containers[${c.name}]`;
    const liveContainer = live?.containers.find((l) => l.name === c.name);
    if (c.restartedAtMs !== undefined) {
      causes.push({
        reason: "ContainerRestarted",
        message:
          `container ${goQuote(c.name)} restarted ${ago(c.restartedAtMs, clock.nowMs)} (at ${rfc3339(c.restartedAtMs)}${restartDetail(liveContainer)}); ` +
          `its CPU counter started again, so its rate needs a second point since the restart, due with the next scrape of node ${goQuote(stored.node)}, ${due}`,
        field,
      });
    } else {
      causes.push({
        reason: "OnePointSoFar",
        message:
          `container ${goQuote(c.name)} has one point so far, from ${agoAt(c.newestMs, clock.nowMs)}` +
          `; a rate needs two: the second is due with the next scrape of node ${goQuote(stored.node)}, ${due}`,
        field,
      });
    }
  }
  return causes;
}

function restartDetail(c: LiveContainer | undefined): string {
  if (c === undefined || c.restartCount === 0) return "";
  const last = c.lastTerminated;
  const exit = last?.reason
    ? `, last exit: ${last.reason}${last.exitCode === undefined ? "" : `, code ${last.exitCode}`}`
    : "";
  return `; restart count ${c.restartCount}${exit}`;
}

/** Containers the API server says restarted within the last two resolutions (no point since). */
function liveRestarts(live: LivePod, node: string, clock: ExplainClock): Cause[] {
  const causes: Cause[] = [];
  for (const c of live.containers) {
    if (c.restartCount === 0 || c.runningSinceMs === undefined) continue;
    if (clock.nowMs - c.runningSinceMs > 2 * clock.resolutionMs) continue;
    causes.push({
      reason: "ContainerRestarted",
      message:
        `container ${goQuote(c.name)} restarted ${ago(c.runningSinceMs, clock.nowMs)} (at ${rfc3339(c.runningSinceMs)}${restartDetail(c)}); ` +
        `its rate needs two points since the restart, due within ${(2 * clock.resolutionMs) / 1000}s of it from node ${goQuote(node)}`,
      field: `containers[${c.name}]`,
    });
  }
  return causes;
}

function notRunning(facts: PodFacts, pod: LivePod): Cause {
  const q = goQuote(`${facts.namespace}/${facts.name}`);
  if (pod.phase === "Running") {
    return {
      reason: "PodNotRunning",
      message: `pod ${q} is Running in the API server but not yet in this server's cache of Running pods (its watch lags)`,
    };
  }
  const why: string[] = [];
  if (pod.phase === "Pending" && pod.nodeName === "") why.push("not scheduled to a node yet");
  for (const c of pod.containers) {
    if (c.notRunningReason) why.push(`container ${goQuote(c.name)}: ${c.notRunningReason}`);
  }
  const detail = why.length > 0 ? ` (${why.join(", ")})` : "";
  return {
    reason: "PodNotRunning",
    message: `pod ${q} is ${pod.phase || "in no phase"}${detail}; metrics are served for Running pods only`,
  };
}

/** Why a pod has no PodMetrics; at least one cause. */
export function explainPod(facts: PodFacts, clock: ExplainClock): Cause[] {
  const q = goQuote(`${facts.namespace}/${facts.name}`);
  const causes: Cause[] = [];
  const { lookup } = facts;
  let live: LivePod | undefined;
  if (lookup.kind === "absent") {
    const cached = facts.inRunningCache
      ? " (this server's pod cache still has it: the deletion has not reached it yet)"
      : "";
    return [{ reason: "PodUnknown", message: `pod ${q} does not exist in the API server${cached}` }];
  }
  if (lookup.kind === "found") {
    live = lookup.pod;
    if (live.phase !== "Running" || !facts.inRunningCache) return [notRunning(facts, live)];
  } else {
    if (lookup.kind === "failed") {
      causes.push({
        reason: "PodLookupFailed",
        message: `could not read pod ${q} from the API server (${lookup.message}); explained from this server's caches`,
      });
    }
    if (!facts.inRunningCache) {
      causes.push({
        reason: "PodUnknown",
        message: `pod ${q} is not among the Running pods this server knows: it does not exist, or is not Running`,
      });
      return causes;
    }
  }

  const nodeFacts = facts.node;
  if (nodeFacts !== undefined) {
    const fromNode = nodeCauses(nodeFacts, clock);
    if (fromNode.length > 0) return [...causes, ...fromNode];
  }
  const node = nodeFacts?.name ?? facts.stored?.node ?? live?.nodeName ?? "";
  const scrape = nodeFacts?.scrape;
  const found = causes.length;
  if (scrape !== undefined) causes.push(...leftOutCauses(facts, scrape, node, clock));
  if (facts.stored !== undefined) {
    const points = pointCauses(facts.stored, live, clock);
    // A restart the store saw is explained with the API server's restart count; others once.
    const seen = new Set(points.map((c) => c.field));
    causes.push(...points);
    if (live !== undefined) causes.push(...liveRestarts(live, node, clock).filter((c) => !seen.has(c.field)));
  } else if (live !== undefined) {
    causes.push(...liveRestarts(live, node, clock));
  }
  if (causes.length > found) return causes;

  if (facts.stored === undefined && scrape !== undefined) {
    const latest = scrape.latest;
    const started =
      live?.startMs !== undefined && live.startMs > latest.startMs
        ? `; the pod started at ${rfc3339(live.startMs)}, after that scrape: the next is due ${inAt(latest.startMs + clock.resolutionMs, clock.nowMs)}`
        : "";
    const more =
      (scrape.latest.leftOutCount ?? 0) > (scrape.latest.leftOut?.length ?? 0)
        ? `; it left out ${scrape.latest.leftOutCount} pods, not all listed, this one may be among them`
        : "";
    causes.push({
      reason: "NotInKubeletResponse",
      message: `the last scrape of node ${goQuote(node)} succeeded ${agoAt(latest.startMs, clock.nowMs)} but its answer had no complete series for pod ${q}${started}${more}`,
    });
  } else if (facts.stored !== undefined) {
    causes.push({
      reason: "ValuesRefused",
      message: `the store has two points for each container of pod ${q} but could compute no rate from them (a CPU counter that went back, or a time that did not advance)`,
    });
  } else if (node !== "") {
    causes.push({
      reason: "NodeNotScrapedYet",
      message: `no scrape of node ${goQuote(node)} has brought pod ${q} yet; the server scrapes every ${clock.resolutionMs / 1000}s`,
    });
  } else {
    causes.push({
      reason: "NodeNotScrapedYet",
      message: `no scrape has brought pod ${q} yet; the server scrapes every ${clock.resolutionMs / 1000}s`,
    });
  }
  return causes;
}
