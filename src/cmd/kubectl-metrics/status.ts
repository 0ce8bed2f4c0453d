// `status`: the diagnostics group's NodeScrapes (the server lists failing nodes first) and
// ServerStatuses, with what to do for each node that is not scraped.

import { nodeStateActions } from "./advice.ts";
import type { Session } from "./connect.ts";
import { DIAGNOSTICS_API } from "./explain.ts";
import { DIAGNOSTICS_APISERVICE, investigate } from "./investigate.ts";
import { EXIT, type NodeScrape, type Report, type ServerStatus } from "./report.ts";

/** Failing first, then NotReady, Pending, Excluded, Scraped; by name within each (as the server lists). */
const STATE_ORDER = ["Failing", "NotReady", "Pending", "Excluded", "Scraped"];

function stateRank(state: string | undefined): number {
  const i = STATE_ORDER.indexOf(state ?? "");
  return i < 0 ? STATE_ORDER.length : i;
}

export function sortNodeScrapes(items: readonly NodeScrape[]): NodeScrape[] {
  return [...items].sort(
    (a, b) =>
      stateRank(a.status?.state) - stateRank(b.status?.state) ||
      (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0),
  );
}

export async function status(session: Session): Promise<Report> {
  const report: Report = { command: "status", result: "Unknown", exitCode: EXIT.unknown };
  const scrapes = await session.get(`${DIAGNOSTICS_API}/nodescrapes`);
  if (scrapes.kind !== "ok") {
    report.problem = await investigate(
      session,
      scrapes,
      DIAGNOSTICS_APISERVICE,
      "list nodescrapes.diagnostics.metrics-server.x-k8s.io",
    );
    return report;
  }
  const items = sortNodeScrapes((scrapes.body as { items?: NodeScrape[] }).items ?? []);
  report.nodeScrapes = items;
  const servers = await session.get(`${DIAGNOSTICS_API}/serverstatuses`);
  if (servers.kind === "ok") report.serverStatuses = (servers.body as { items?: ServerStatus[] }).items ?? [];
  const actions: Record<string, string[]> = {};
  for (const item of items) {
    const a = nodeStateActions(item.metadata.name, item.status);
    if (a.length > 0) actions[item.metadata.name] = a;
  }
  report.nodeActions = actions;
  const allScraped = items.every((i) => i.status?.state === "Scraped" || i.status?.state === "Excluded");
  report.result = allScraped ? "Scraped" : "Incomplete";
  report.exitCode = allScraped ? EXIT.ok : EXIT.missing;
  return report;
}
