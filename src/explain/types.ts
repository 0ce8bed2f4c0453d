// What an explanation is made of: the facts about one node or pod that has no metrics, gathered by
// the API from its caches, the scrape status book, the store and a live lookup, and the causes it
// answers with (the Status causes of an explained 404; docs/metrics-api.md "Why a metric is missing").

import type { Node } from "../kube/index.ts";
import type { NodeScrapeStatus, StoredNodeView, StoredPodView } from "../storage/index.ts";

/** A cause's reason (a CauseType of the Status' details.causes); clients key on these strings. */
export type CauseReason =
  | "PodUnknown"
  | "PodNotRunning"
  | "PodLookupFailed"
  | "NodeUnknown"
  | "NodeExcluded"
  | "NodeNotReady"
  | "NodeScrapeFailed"
  | "NodeNotScrapedYet"
  | "NodePointMissing"
  | "ValuesMissing"
  | "ValuesConflicting"
  | "ValuesRefused"
  | "NotInKubeletResponse"
  | "OnePointSoFar"
  | "ContainerRestarted"
  | "DuplicatePod";

/** One metav1.StatusCause; `field` is `containers[<name>]` for a cause that is one container's. */
export interface Cause {
  reason: CauseReason;
  message: string;
  field?: string;
}

/** A container of a pod as the API server has it (status.containerStatuses). */
export interface LiveContainer {
  name: string;
  restartCount: number;
  /** state.running.startedAt, Unix ms. */
  runningSinceMs?: number;
  /** state.waiting.reason or state.terminated.reason, e.g. "CrashLoopBackOff", "Completed". */
  notRunningReason?: string;
  /** lastState.terminated: why and when the previous run ended. */
  lastTerminated?: { reason?: string; exitCode?: number; finishedAtMs?: number };
}

/** A pod as the API server has it: the fields an explanation reads. */
export interface LivePod {
  phase: string;
  /** spec.nodeName; "" when not scheduled. */
  nodeName: string;
  /** status.startTime, Unix ms. */
  startMs?: number;
  /** metadata.deletionTimestamp set: the pod is terminating. */
  deleting: boolean;
  containers: LiveContainer[];
}

/** The outcome of asking the API server for the pod. */
export type PodLookup =
  | { kind: "found"; pod: LivePod }
  | { kind: "absent" }
  /** The lookup did not answer (error, timeout, too many in flight): explain from the caches. */
  | { kind: "failed"; message: string }
  /** No lookup configured (tests, or a server without it): explain from the caches. */
  | { kind: "skipped" };

/** When the explanation is given, and the server's rhythm. */
export interface ExplainClock {
  nowMs: number;
  /** --metric-resolution, ms. */
  resolutionMs: number;
  /** When this server started, Unix ms (a young server has not scraped everything yet). */
  startedAtMs?: number;
}

/** What is known about one node. */
export interface NodeFacts {
  name: string;
  /** The node from the node cache; undefined when the cache has none. */
  node: Node | undefined;
  /** False when --node-selector leaves the node out. */
  selected: boolean;
  /** The --node-selector as written, for the message. */
  nodeSelectorText?: string;
  /** The node's scrape status; undefined when it has no report (or no book is wired). */
  scrape: NodeScrapeStatus | undefined;
  /** The store's view of the node's own point; undefined when it has none (or no describer). */
  stored: StoredNodeView | undefined;
  /** Whether the scrape status book and the describer are wired (without them, little is known). */
  known: { scrape: boolean; store: boolean };
}

/** What is known about one pod. */
export interface PodFacts {
  namespace: string;
  name: string;
  /** Whether the Running-pod cache has the pod. */
  inRunningCache: boolean;
  lookup: PodLookup;
  /** The store's view of the pod's containers; undefined when it has none. */
  stored: StoredPodView | undefined;
  /** The facts about the pod's node (spec.nodeName, else the node its points came from), if known. */
  node: NodeFacts | undefined;
}
