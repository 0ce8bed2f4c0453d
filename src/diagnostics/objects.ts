// NodeScrape and ServerStatus objects (diagnostics.metrics-server.x-k8s.io/v1alpha1, docs/diagnostics.md):
// a node's state from its latest scrape report, or from the node cache when it has none, and the
// replica's totals. Built as plain objects whose key order is the JSON's; absent fields are left
// undefined so JSON.stringify omits them (never null).

import { formatGoDuration, formatTimestamp } from "../go/index.ts";
import type { LabelSelector, Node } from "../kube/index.ts";
import type { LeftOutPod, NodeScrapeStatus, ScrapeError } from "../storage/index.ts";
import type { SelfCheckResult } from "./types.ts";

export const GROUP = "diagnostics.metrics-server.x-k8s.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export type NodeScrapeState = "Failing" | "NotReady" | "Pending" | "Excluded" | "Scraped";

/** List order: what needs attention first. */
const STATE_RANK: Record<NodeScrapeState, number> = {
  Failing: 0,
  NotReady: 1,
  Pending: 2,
  Excluded: 3,
  Scraped: 4,
};

/** One node as the diagnostics group sees it. */
export interface NodeScrapeView {
  name: string;
  state: NodeScrapeState;
  /** The status book's entry, when the node has a report. */
  status?: NodeScrapeStatus;
}

function isReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/**
 * A node's state: Excluded when --node-selector leaves it out (it is never scraped, whatever an old
 * report says), else from its latest report; a node without one is NotReady (the scraper skips
 * those, as upstream) or Pending (no tick has reached it yet).
 */
export function nodeScrapeView(
  node: Node,
  status: NodeScrapeStatus | undefined,
  nodeSelector: LabelSelector | undefined,
): NodeScrapeView {
  const name = node.metadata.name;
  if (nodeSelector && !nodeSelector.empty && !nodeSelector.matches(node.metadata.labels)) {
    return { name, state: "Excluded" };
  }
  if (status === undefined) return { name, state: isReady(node) ? "Pending" : "NotReady" };
  const outcome = status.latest.outcome;
  const state = outcome === "Failed" ? "Failing" : outcome === "NotReady" ? "NotReady" : "Scraped";
  return { name, state, status };
}

/** Failing first, then NotReady, Pending, Excluded, Scraped; by name within each. */
export function compareViews(a: NodeScrapeView, b: NodeScrapeView): number {
  return STATE_RANK[a.state] - STATE_RANK[b.state] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export interface ScrapeErrorJSON {
  kind: string;
  message: string;
  httpStatus?: number;
  certificateWanted?: string;
  certificateHas?: string[];
}

export interface NodeScrapeStatusJSON {
  state: NodeScrapeState;
  lastAttempt?: string;
  duration?: string;
  endpoint?: "resource" | "summary";
  url?: string;
  bytes?: number;
  nodePoint?: boolean;
  pods?: number;
  containers?: number;
  consecutiveFailures?: number;
  failingSince?: string;
  lastSuccess?: string;
  error?: ScrapeErrorJSON;
  leftOut?: LeftOutPod[];
  leftOutCount?: number;
  refused?: LeftOutPod[];
  nodeRefused?: string;
}

export interface NodeScrapeJSON {
  kind: "NodeScrape";
  apiVersion: typeof API_VERSION;
  metadata: { name: string };
  status: NodeScrapeStatusJSON;
}

function time(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : (formatTimestamp(ms) ?? undefined);
}

function errorJSON(e: ScrapeError): ScrapeErrorJSON {
  return {
    kind: e.kind,
    message: e.message,
    httpStatus: e.httpStatus,
    certificateWanted: e.certificateWanted,
    certificateHas: e.certificateHas,
  };
}

/** A list without entries is left out rather than written as []. */
function nonEmpty<T>(list: readonly T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? [...list] : undefined;
}

export function nodeScrapeJSON(view: NodeScrapeView): NodeScrapeJSON {
  const s = view.status;
  const status: NodeScrapeStatusJSON = { state: view.state };
  if (s !== undefined) {
    const r = s.latest;
    // A NotReady report is a node the tick skipped: it made no request, so it has no attempt.
    if (r.outcome !== "NotReady") {
      status.lastAttempt = time(r.startMs);
      // Whole milliseconds: the request's own timing, not the clock's sub-millisecond noise.
      status.duration = formatGoDuration(Math.round(r.durationMs));
      status.endpoint = r.endpoint;
      status.url = r.url;
      status.bytes = r.bytes;
      status.nodePoint = r.nodePoint;
      status.pods = r.pods;
      status.containers = r.containers;
    }
    status.consecutiveFailures = s.consecutiveFailures;
    status.failingSince = time(s.failingSinceMs);
    status.lastSuccess = time(s.lastSuccessMs);
    if (r.error) status.error = errorJSON(r.error);
    status.leftOut = nonEmpty(r.leftOut);
    status.leftOutCount = r.leftOutCount ? r.leftOutCount : undefined;
    status.refused = nonEmpty(s.refused);
    status.nodeRefused = s.nodeRefused;
  }
  return { kind: "NodeScrape", apiVersion: API_VERSION, metadata: { name: view.name }, status };
}

/** What the replica knows about itself, besides the nodes. */
export interface ServerInfo {
  /** The object's name: this replica's host name (the pod's name in a cluster). */
  name: string;
  /** Process start, Unix ms. */
  startedAtMs: number;
  /** The package version. */
  version: string;
  resolutionMs: number;
}

/** The latest finished tick. */
export interface TickInfo {
  startMs: number;
  durationMs: number;
}

export interface ServerStatusJSON {
  kind: "ServerStatus";
  apiVersion: typeof API_VERSION;
  metadata: { name: string; creationTimestamp: string | null };
  status: {
    version: string;
    resolution: string;
    lastTick?: { start?: string; duration: string };
    nodes: {
      total: number;
      scraped: number;
      failing: number;
      notReady: number;
      excluded: number;
      pending: number;
    };
    pods: number;
    containers: number;
    checks?: {
      name: string;
      status: SelfCheckResult["status"];
      message: string;
      action?: string;
      since?: string;
    }[];
  };
}

export function serverStatusJSON(
  info: ServerInfo,
  views: readonly NodeScrapeView[],
  tick: TickInfo | undefined,
  checks: readonly SelfCheckResult[] | undefined,
): ServerStatusJSON {
  const nodes = { total: views.length, scraped: 0, failing: 0, notReady: 0, excluded: 0, pending: 0 };
  let pods = 0;
  let containers = 0;
  for (const v of views) {
    if (v.state === "Scraped") {
      nodes.scraped++;
      pods += v.status?.latest.pods ?? 0;
      containers += v.status?.latest.containers ?? 0;
    } else if (v.state === "Failing") nodes.failing++;
    else if (v.state === "NotReady") nodes.notReady++;
    else if (v.state === "Excluded") nodes.excluded++;
    else nodes.pending++;
  }
  return {
    kind: "ServerStatus",
    apiVersion: API_VERSION,
    metadata: { name: info.name, creationTimestamp: formatTimestamp(info.startedAtMs) },
    status: {
      version: info.version,
      resolution: formatGoDuration(info.resolutionMs),
      lastTick: tick && {
        start: time(tick.startMs),
        duration: formatGoDuration(Math.round(tick.durationMs)),
      },
      nodes,
      pods,
      containers,
      checks: checks?.map((c) => ({
        name: c.name,
        status: c.status,
        message: c.message,
        action: c.action,
        since: time(c.sinceMs),
      })),
    },
  };
}
