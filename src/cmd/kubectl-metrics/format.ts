// A Report as text for a person: what was found, then what to do. Pure: the clock is an argument.

import { parseQuantity } from "../../go/index.ts";
import type { NodeScrape, Problem, Report, ServerStatus } from "./report.ts";

interface Usage {
  cpu?: string;
  memory?: string;
}

interface MetricsBody {
  timestamp?: string;
  window?: string;
  usage?: Usage;
  containers?: { name: string; usage?: Usage }[];
}

/** As kubectl top: CPU in millicores rounded up, memory in MiB rounded down. */
function cpuText(q: string | undefined): string {
  if (q === undefined) return "-";
  try {
    return `${parseQuantity(q, -3, "ceil")}m`;
  } catch {
    return q;
  }
}

function memoryText(q: string | undefined): string {
  if (q === undefined) return "-";
  try {
    return `${Math.floor(parseQuantity(q) / 2 ** 20)}Mi`;
  } catch {
    return q;
  }
}

/** "14s ago (2026-12-08T03:20:11Z)", or the text as given when it is no time. */
export function ago(time: string | undefined, nowMs: number): string {
  if (time === undefined) return "never";
  const ms = Date.parse(time);
  if (!Number.isFinite(ms)) return time;
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  const span = s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
  return `${span} ago (${time})`;
}

/** Columns padded to the widest cell, as kubectl's tables are (three spaces apart). */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
      .join("   ")
      .trimEnd(),
  );
}

function bullets(actions: readonly string[], indent = "  "): string[] {
  return actions.map((a) => `${indent}→ ${a}`);
}

function subject(r: Report): string {
  return r.command === "explain pod" ? `pod ${r.namespace}/${r.name}` : `node ${r.name}`;
}

function servedLines(r: Report, nowMs: number): string[] {
  const m = (r.metrics ?? {}) as MetricsBody;
  const lines = [
    `${subject(r)}: metrics served, window ${m.window ?? "?"}, sampled ${ago(m.timestamp, nowMs)}`,
  ];
  if (m.containers !== undefined) {
    const rows = [
      ["CONTAINER", "CPU", "MEMORY"],
      ...m.containers.map((c) => [c.name, cpuText(c.usage?.cpu), memoryText(c.usage?.memory)]),
    ];
    lines.push(...table(rows));
  } else {
    lines.push(
      ...table([
        ["CPU", "MEMORY"],
        [cpuText(m.usage?.cpu), memoryText(m.usage?.memory)],
      ]),
    );
  }
  return lines;
}

function scrapeLine(s: NodeScrape, nowMs: number): string {
  const st = s.status ?? {};
  const parts = [`last attempt ${ago(st.lastAttempt, nowMs)}`];
  if (st.duration) parts.push(`took ${st.duration}`);
  if (st.consecutiveFailures) parts.push(`${st.consecutiveFailures} failures in a row`);
  if (st.lastSuccess) parts.push(`last success ${ago(st.lastSuccess, nowMs)}`);
  return `node ${s.metadata.name} is ${st.state ?? "in an unknown state"}: ${parts.join(", ")}`;
}

function missingLines(r: Report, nowMs: number): string[] {
  const lines = [`${subject(r)}: no metrics`];
  const causes = r.causes ?? [];
  if (causes.length === 0) {
    lines.push(`  ${r.message ?? ""}`);
    lines.push(
      ...bullets([
        "this metrics-server gives no reason (an older version?); see kubectl metrics status and its log: kubectl logs -n kube-system -l k8s-app=metrics-server",
      ]),
    );
  }
  for (const c of causes) {
    lines.push(`  ${c.reason}${c.field ? ` (${c.field})` : ""}: ${c.message}`);
    lines.push(...bullets(c.actions, "    "));
  }
  for (const s of r.nodeScrapes ?? []) {
    const error = s.status?.error;
    lines.push(`  ${scrapeLine(s, nowMs)}${error?.kind ? `, error kind ${error.kind}` : ""}`);
    // Without causes, the node's state is all there is: its error and what to do about it (a
    // cause already quotes the error).
    if (causes.length > 0) continue;
    if (error?.message) lines.push(`    error: ${error.message}`);
    lines.push(...bullets(r.nodeActions?.[s.metadata.name] ?? [], "    "));
  }
  return lines;
}

export function problemLines(p: Problem): string[] {
  const lines = [`could not find out: ${p.message}`];
  if (p.apiService) {
    const a = p.apiService;
    const why = a.reason ? ` (${a.reason}${a.message ? `: ${a.message}` : ""})` : "";
    lines.push(
      `  APIService ${a.name}: Available=${a.available}${why}${a.service ? `, service ${a.service}` : ""}`,
    );
  }
  if (p.pods !== undefined) {
    if (p.pods.length === 0) lines.push("  metrics-server pods: none found");
    for (const pod of p.pods)
      lines.push(
        `  pod ${pod.name}: ${pod.phase}, ${pod.ready ? "Ready" : "not Ready"}, ${pod.restarts} restarts${pod.waiting ? `, ${pod.waiting}` : ""}`,
      );
  }
  lines.push(...bullets(p.actions));
  return lines;
}

function checkLines(s: ServerStatus, nowMs: number): string[] {
  const st = s.status ?? {};
  const tick = st.lastTick
    ? `, last tick ${ago(st.lastTick.start, nowMs)} took ${st.lastTick.duration ?? "?"}`
    : "";
  const lines = [
    `server ${s.metadata.name}: version ${st.version ?? "?"}, resolution ${st.resolution ?? "?"}${tick}; ${st.pods ?? 0} pods, ${st.containers ?? 0} containers`,
  ];
  if (st.checks?.length) lines.push("  start-up self-check:");
  for (const c of st.checks ?? []) {
    lines.push(`    ${c.status.padEnd(7)} ${c.name}: ${c.message ?? ""}`);
    if (c.status === "Failed" && c.action) lines.push(...bullets([c.action], "      "));
  }
  return lines;
}

function statusLines(r: Report, nowMs: number): string[] {
  const items = r.nodeScrapes ?? [];
  const lines: string[] = [];
  const unscraped = items.filter((i) => i.status?.state !== "Scraped");
  if (unscraped.length > 0) {
    const rows = [["NODE", "STATE", "LAST ATTEMPT", "FAILURES", "ERROR"]];
    for (const i of unscraped) {
      const st = i.status ?? {};
      rows.push([
        i.metadata.name,
        st.state ?? "?",
        st.lastAttempt ? ago(st.lastAttempt, nowMs) : "-",
        String(st.consecutiveFailures ?? 0),
        st.error ? `${st.error.kind ?? "?"}: ${st.error.message ?? ""}` : "",
      ]);
    }
    lines.push(...table(rows));
    for (const i of unscraped) {
      const actions = r.nodeActions?.[i.metadata.name] ?? [];
      if (actions.length > 0) lines.push(`${i.metadata.name}:`, ...bullets(actions));
    }
  }
  const count = (state: string): number => items.filter((i) => i.status?.state === state).length;
  lines.push(
    `nodes: ${items.length} total, ${count("Scraped")} scraped, ${count("Failing")} failing, ${count("NotReady")} NotReady, ${count("Pending")} pending, ${count("Excluded")} excluded`,
  );
  for (const s of r.serverStatuses ?? []) lines.push(...checkLines(s, nowMs));
  return lines;
}

/** The whole text, newline-terminated. */
export function formatReport(r: Report, nowMs: number): string {
  let lines: string[];
  if (r.problem) lines = problemLines(r.problem);
  else if (r.command === "status") lines = statusLines(r, nowMs);
  else if (r.result === "Served") lines = servedLines(r, nowMs);
  else lines = missingLines(r, nowMs);
  return `${lines.join("\n")}\n`;
}
