// meta.k8s.io Table output for `kubectl get nodescrapes` and `kubectl get serverstatuses`: fixed
// columns per kind, cells computed on the server as kube's printers do (ages as HumanDuration,
// "<none>" for nothing), each row's object per `includeObject`.

import type { IncludeObject, TableVersion } from "../api/index.ts";
import { humanDuration } from "../go/index.ts";
import type { NodeScrapeJSON, ServerStatusJSON } from "./objects.ts";

interface Column {
  name: string;
  type: "string" | "integer";
  format: string;
  description: string;
}

type Cell = string | number;

export interface TableRow {
  cells: Cell[];
  object: { metadata: object; whole: () => object };
}

const NONE = "<none>";

const NODE_SCRAPE_COLUMNS: readonly Column[] = [
  { name: "Name", type: "string", format: "name", description: "The node's name." },
  {
    name: "State",
    type: "string",
    format: "",
    description: "Failing, NotReady, Pending, Excluded or Scraped.",
  },
  { name: "Last Attempt", type: "string", format: "", description: "When the last scrape started." },
  { name: "Duration", type: "string", format: "", description: "How long the last scrape took." },
  { name: "Endpoint", type: "string", format: "", description: "The kubelet endpoint: resource or summary." },
  { name: "Pods", type: "integer", format: "", description: "Pods the last scrape kept." },
  { name: "Failures", type: "integer", format: "", description: "Failed scrapes in a row." },
  { name: "Error", type: "string", format: "", description: "Why the last scrape failed." },
];

const SERVER_STATUS_COLUMNS: readonly Column[] = [
  { name: "Name", type: "string", format: "name", description: "The replica's host name." },
  { name: "Nodes", type: "integer", format: "", description: "Nodes in the node cache." },
  { name: "Failing", type: "integer", format: "", description: "Nodes whose last scrape failed." },
  { name: "Pods", type: "integer", format: "", description: "Pods in the last scrapes." },
  { name: "Last Tick", type: "string", format: "", description: "When the last finished tick started." },
  { name: "Checks", type: "string", format: "", description: "The start-up self-check." },
];

function age(time: string | undefined, nowMs: number): string {
  return time === undefined ? NONE : humanDuration(nowMs - Date.parse(time));
}

export function nodeScrapeRow(o: NodeScrapeJSON, nowMs: number): TableRow {
  const s = o.status;
  const error = s.error ? `${s.error.kind}: ${s.error.message}` : NONE;
  return {
    cells: [
      o.metadata.name,
      s.state,
      age(s.lastAttempt, nowMs),
      s.duration ?? NONE,
      s.endpoint ?? NONE,
      s.pods ?? 0,
      s.consecutiveFailures ?? 0,
      error,
    ],
    object: { metadata: o.metadata, whole: () => o },
  };
}

/** "Passed", "Failed: a, b", "Pending: c" (failures before pending ones), "<none>" without checks. */
function checksCell(checks: ServerStatusJSON["status"]["checks"]): string {
  if (checks === undefined || checks.length === 0) return NONE;
  for (const status of ["Failed", "Pending"] as const) {
    const names = checks.filter((c) => c.status === status).map((c) => c.name);
    if (names.length > 0) return `${status}: ${names.join(", ")}`;
  }
  return "Passed";
}

export function serverStatusRow(o: ServerStatusJSON, nowMs: number): TableRow {
  const s = o.status;
  return {
    cells: [
      o.metadata.name,
      s.nodes.total,
      s.nodes.failing,
      s.pods,
      age(s.lastTick?.start, nowMs),
      checksCell(s.checks),
    ],
    object: { metadata: o.metadata, whole: () => o },
  };
}

function rowObject(row: TableRow, version: TableVersion, include: IncludeObject): object | null {
  if (include === "None") return null;
  if (include === "Object") return row.object.whole();
  return {
    kind: "PartialObjectMetadata",
    apiVersion: `meta.k8s.io/${version}`,
    metadata: row.object.metadata,
  };
}

export type TableKind = "NodeScrape" | "ServerStatus";

/** The Table document (newline-terminated) for one object or a list. */
export function tableJSON(
  kind: TableKind,
  rows: readonly TableRow[],
  version: TableVersion,
  include: IncludeObject,
): string {
  const columns = kind === "NodeScrape" ? NODE_SCRAPE_COLUMNS : SERVER_STATUS_COLUMNS;
  const table = {
    kind: "Table",
    apiVersion: `meta.k8s.io/${version}`,
    metadata: {},
    columnDefinitions: columns.map((c) => ({ ...c, priority: 0 })),
    rows: rows.map((r) => ({ cells: r.cells, object: rowObject(r, version, include) })),
  };
  return JSON.stringify(table) + "\n";
}
