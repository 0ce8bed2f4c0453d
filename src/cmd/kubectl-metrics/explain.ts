// `explain pod` and `explain node`: GET the metrics through kube-apiserver; a 404 from metrics-server
// carries its causes (details.causes), to which the nodes' scrape status (the diagnostics group, when
// readable) adds the error's kind for precise advice; any other failure is investigated.

import { causeActions, nodeNamedIn, nodeStateActions } from "./advice.ts";
import type { Answer, Session, StatusBody } from "./connect.ts";
import { investigate, METRICS_APISERVICE } from "./investigate.ts";
import { EXIT, type NodeScrape, type Report } from "./report.ts";

export const METRICS_API = "/apis/metrics.k8s.io/v1beta1";
export const DIAGNOSTICS_API = "/apis/diagnostics.metrics-server.x-k8s.io/v1alpha1";

/** Whether a 404 is metrics-server's (or its caches') "no metrics for this object", not a missing API. */
function isObjectNotFound(status: StatusBody | undefined, kinds: readonly string[]): status is StatusBody {
  return status?.reason === "NotFound" && kinds.includes(status.details?.kind ?? "");
}

export async function explainPod(session: Session, namespace: string, name: string): Promise<Report> {
  const path = `${METRICS_API}/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
  const report: Report = {
    command: "explain pod",
    namespace,
    name,
    result: "Unknown",
    exitCode: EXIT.unknown,
  };
  const answer = await session.get(path);
  return finish(
    session,
    report,
    answer,
    ["podmetrics", "pods"],
    `get pods.metrics.k8s.io in namespace ${namespace}`,
  );
}

export async function explainNode(session: Session, name: string): Promise<Report> {
  const path = `${METRICS_API}/nodes/${encodeURIComponent(name)}`;
  const report: Report = { command: "explain node", name, result: "Unknown", exitCode: EXIT.unknown };
  const answer = await session.get(path);
  return finish(session, report, answer, ["nodemetrics", "nodes", "node"], "get nodes.metrics.k8s.io");
}

async function finish(
  session: Session,
  report: Report,
  answer: Answer,
  kinds: readonly string[],
  what: string,
): Promise<Report> {
  if (answer.kind === "ok") {
    report.result = "Served";
    report.exitCode = EXIT.ok;
    report.metrics = answer.body;
    return report;
  }
  if (answer.kind === "error" && answer.code === 404 && isObjectNotFound(answer.status, kinds)) {
    report.result = "Missing";
    report.exitCode = EXIT.missing;
    report.message = answer.status.message ?? answer.message;
    const causes = answer.status.details?.causes ?? [];
    let nodes = [...new Set(causes.map((c) => nodeNamedIn(c.message ?? "")).filter((n) => n !== undefined))];
    // A server that gives no causes (upstream, an older version): the node's scrape status may.
    if (nodes.length === 0) nodes = await subjectNode(session, report);
    const scrapes = await readNodeScrapes(session, nodes);
    if (causes.length === 0) {
      const actions: Record<string, string[]> = {};
      for (const s of scrapes) actions[s.metadata.name] = nodeStateActions(s.metadata.name, s.status);
      report.nodeActions = actions;
    }
    if (scrapes.length > 0) report.nodeScrapes = scrapes;
    const ctx = {
      ...(report.command === "explain pod" ? { namespace: report.namespace, pod: report.name } : {}),
      nodeStatus: (node: string) => scrapes.find((s) => s.metadata.name === node)?.status,
    };
    report.causes = causes.map((c) => {
      const reason = c.reason ?? "";
      const message = c.message ?? "";
      return {
        reason,
        message,
        ...(c.field === undefined ? {} : { field: c.field }),
        actions: causeActions(reason, message, ctx),
      };
    });
    return report;
  }
  report.problem = await investigate(session, answer, METRICS_APISERVICE, what);
  return report;
}

/** The node explained, or the pod's (spec.nodeName, when the user may read the pod). */
async function subjectNode(session: Session, report: Report): Promise<string[]> {
  if (report.name === undefined) return [];
  if (report.command === "explain node") return [report.name];
  const ns = encodeURIComponent(report.namespace ?? "");
  const answer = await session.get(`/api/v1/namespaces/${ns}/pods/${encodeURIComponent(report.name)}`);
  const node =
    answer.kind === "ok" ? (answer.body as { spec?: { nodeName?: string } }).spec?.nodeName : undefined;
  return node ? [node] : [];
}

/** The named nodes' NodeScrape objects; none for a node (or a group) the user may not read. */
async function readNodeScrapes(session: Session, nodes: readonly string[]): Promise<NodeScrape[]> {
  const found: NodeScrape[] = [];
  for (const node of nodes) {
    const answer = await session.get(`${DIAGNOSTICS_API}/nodescrapes/${encodeURIComponent(node)}`);
    if (answer.kind === "ok") found.push(answer.body as NodeScrape);
  }
  return found;
}
