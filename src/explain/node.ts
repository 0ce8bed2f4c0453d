// The causes that belong to a node: it is unknown, left out by --node-selector, NotReady, its
// scrape failed or has not happened, or its own point is missing, refused or alone. A pod's
// explanation starts with its node's (nodeCauses); a node's adds its own point (explainNode).

import { goQuote } from "../go/index.ts";
import type { Node } from "../kube/index.ts";
import type { NodeScrapeStatus, ScrapeError } from "../storage/index.ts";
import { ago, agoAt, inAt, rfc3339 } from "./times.ts";
import type { Cause, ExplainClock, NodeFacts } from "./types.ts";

/** The Ready condition's status ("True", "False", "Unknown"), or undefined when the node has none. */
export function readyStatus(node: Node): string | undefined {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

/**
 * What the user can do about an error beyond its text: the name the certificate lacks, the RBAC;
 * nothing when the error's text says it already.
 */
function errorDetail(error: ScrapeError, endpoint: string | undefined): string {
  switch (error.kind) {
    case "CertificateInvalid":
      if (error.certificateWanted === undefined || error.message.includes(error.certificateWanted)) return "";
      return (
        `; the kubelet's serving certificate does not name ${goQuote(error.certificateWanted)}` +
        (error.certificateHas?.length ? ` (it names ${error.certificateHas.join(", ")})` : "")
      );
    case "Forbidden":
      if (error.message.includes("nodes/")) return "";
      return `; the kubelet wants this server's identity allowed to get nodes/${endpoint === "summary" ? "stats" : "metrics"}`;
    case "Unauthorized":
      if (error.message.includes("credentials")) return "";
      return "; the kubelet does not accept this server's credentials";
    default:
      return "";
  }
}

function scrapeFailed(name: string, s: NodeScrapeStatus, clock: ExplainClock): Cause {
  const { latest } = s;
  const runs = s.consecutiveFailures > 1 ? `, ${s.consecutiveFailures} in a row` : "";
  const error = latest.error ?? { kind: "Other", message: "unknown error" };
  let message =
    `the last scrape of node ${goQuote(name)} failed ${ago(latest.startMs, clock.nowMs)} ` +
    `(at ${rfc3339(latest.startMs)}${runs}): ${error.message}${errorDetail(error, latest.endpoint)}`;
  if (s.lastSuccessMs !== undefined) message += `; last success ${agoAt(s.lastSuccessMs, clock.nowMs)}`;
  else if (s.failingSinceMs !== undefined) message += `; failing since ${rfc3339(s.failingSinceMs)}`;
  return { reason: "NodeScrapeFailed", message };
}

function notScrapedYet(name: string, clock: ExplainClock): Cause {
  const started =
    clock.startedAtMs === undefined ? "" : `; this server started ${agoAt(clock.startedAtMs, clock.nowMs)}`;
  return {
    reason: "NodeNotScrapedYet",
    message: `node ${goQuote(name)} has not been scraped yet${started} and scrapes every ${clock.resolutionMs / 1000}s`,
  };
}

/**
 * The causes of the node's state that keep every metric of it (and of its pods) away; empty when
 * its last scrape succeeded (or nothing is known), so the caller goes on to the points.
 */
export function nodeCauses(facts: NodeFacts, clock: ExplainClock): Cause[] {
  const { name, node, scrape } = facts;
  const q = goQuote(name);
  if (node === undefined) {
    return [
      {
        reason: "NodeUnknown",
        message: `node ${q} is not in this server's node cache: the API server has no such Node (or its watch has not delivered it yet)`,
      },
    ];
  }
  if (!facts.selected) {
    const selector = facts.nodeSelectorText ? `=${facts.nodeSelectorText}` : "";
    return [
      {
        reason: "NodeExcluded",
        message: `node ${q} is not selected by --node-selector${selector}, so it is not scraped`,
      },
    ];
  }
  const ready = readyStatus(node);
  if ((ready !== undefined && ready !== "True") || scrape?.latest.outcome === "NotReady") {
    const since =
      scrape?.latest.outcome === "NotReady" && scrape.lastSuccessMs !== undefined
        ? `; last scraped ${agoAt(scrape.lastSuccessMs, clock.nowMs)}`
        : "";
    return [
      {
        reason: "NodeNotReady",
        message: `node ${q} is not Ready (Ready=${ready ?? "Unknown"}); NotReady nodes are not scraped${since}`,
      },
    ];
  }
  if (scrape === undefined) return facts.known.scrape ? [notScrapedYet(name, clock)] : [];
  if (scrape.latest.outcome === "Failed") return [scrapeFailed(name, scrape, clock)];
  return [];
}

/** Why a node that is in the cache (or not) has no NodeMetrics; at least one cause. */
export function explainNode(facts: NodeFacts, clock: ExplainClock): Cause[] {
  const causes = nodeCauses(facts, clock);
  if (causes.length > 0) return causes;
  const q = goQuote(facts.name);
  const { scrape, stored } = facts;
  const latest = scrape?.latest;
  if (scrape?.nodeRefused !== undefined) {
    causes.push({
      reason: "ValuesRefused",
      message: `node ${q}'s own point was not stored: ${scrape.nodeRefused}`,
    });
  }
  if (latest !== undefined && !latest.nodePoint) {
    causes.push({
      reason: "NodePointMissing",
      message:
        `the last scrape of node ${q} succeeded ${agoAt(latest.startMs, clock.nowMs)} but its answer ` +
        `(${latest.endpoint ?? "resource"} endpoint) had no complete node point: the node's cpu or memory was missing or zero`,
    });
  }
  if (causes.length > 0) return causes;
  if (stored?.points === 1) {
    causes.push({
      reason: "OnePointSoFar",
      message:
        `node ${q} has one point so far, from ${agoAt(stored.newestMs, clock.nowMs)}; a rate needs two: ` +
        `the second is due with the next scrape, ${inAt(stored.newestMs + clock.resolutionMs, clock.nowMs)}`,
    });
  } else if (stored?.points === 2) {
    causes.push({
      reason: "ValuesRefused",
      message: `node ${q} has two points (${rfc3339(stored.previousMs ?? Number.NaN)} and ${rfc3339(stored.newestMs)}) but no rate could be computed from them (a CPU counter that went back, or a time that did not advance)`,
    });
  } else if (latest !== undefined) {
    causes.push({
      reason: "NodeNotScrapedYet",
      message: `node ${q} was scraped ${agoAt(latest.startMs, clock.nowMs)} but its point is not stored yet; it is due within ${clock.resolutionMs / 1000}s`,
    });
  } else {
    causes.push(notScrapedYet(facts.name, clock));
  }
  return causes;
}
