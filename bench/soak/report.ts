// The soak's report: what happened minute by minute, the totals, the verdict, and a markdown summary.
import type { ApiResult } from "../report.ts";
import type { SoakArgs } from "./args.ts";
import type { ChurnCounts } from "./churn.ts";
import type { WrongValue } from "./truth.ts";

export type Severity = "I" | "W" | "E" | "F" | "other";

/** A klog line's severity (its first letter before MMDD), or "other" (stack traces, Node warnings). */
export function logSeverity(line: string): Severity {
  return /^[IWEF]\d{4} /.test(line) ? (line[0] as Severity) : "other";
}

/** A klog line's message: the quoted text after "] ", or undefined. */
export function logMessage(line: string): string | undefined {
  return /\] "((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
}

export interface MinuteRow {
  /** Minutes since the soak started (0 = the first minute). */
  minute: number;
  /** The server's VmRSS samples of the minute. */
  rssKiB: { min: number; max: number; last: number };
  logLines: Record<Severity, number>;
  /** Served values checked, and how many of them were wrong. */
  checkedValues: number;
  wrongValues: number;
  /** Nodes with a fault at the minute's end. */
  faultedNodes: number;
  podsCreated: number;
  podsDeleted: number;
  nodesCreated: number;
  nodesDeleted: number;
}

const emptyLogs = (): Record<Severity, number> => ({ I: 0, W: 0, E: 0, F: 0, other: 0 });

/** Collects the rows: each sample or event lands in the minute it happened in. */
export class Minutes {
  readonly rows: MinuteRow[] = [];
  readonly #startMs: number;

  constructor(startMs: number) {
    this.#startMs = startMs;
  }

  row(atMs: number): MinuteRow {
    const minute = Math.max(0, Math.floor((atMs - this.#startMs) / 60_000));
    while (this.rows.length <= minute) {
      this.rows.push({
        minute: this.rows.length,
        rssKiB: { min: Number.NaN, max: Number.NaN, last: Number.NaN },
        logLines: emptyLogs(),
        checkedValues: 0,
        wrongValues: 0,
        faultedNodes: this.rows.at(-1)?.faultedNodes ?? 0,
        podsCreated: 0,
        podsDeleted: 0,
        nodesCreated: 0,
        nodesDeleted: 0,
      });
    }
    return this.rows[minute]!;
  }

  rss(atMs: number, kib: number): void {
    const r = this.row(atMs).rssKiB;
    r.min = Number.isNaN(r.min) ? kib : Math.min(r.min, kib);
    r.max = Number.isNaN(r.max) ? kib : Math.max(r.max, kib);
    r.last = kib;
  }

  log(atMs: number, line: string): void {
    this.row(atMs).logLines[logSeverity(line)]++;
  }
}

/** One API call's row: the scale bench's, without what only a single bench window reports. */
export type LoadRow = Omit<ApiResult, "meanResponseBytes" | "items" | "latenciesMs">;

export interface Spread {
  min: number;
  p50: number;
  max: number;
}

export interface Restart {
  atMinute: number;
  code: number | null;
  signal: string | null;
  /** The server's last lines before it exited. */
  tail: string;
}

export interface SoakReport {
  schema: "metrics-server-ts/soak/v1";
  startedAt: string;
  params: Omit<SoakArgs, "help" | "verbose" | "outDir">;
  machine: { cpuModel: string; cores: number; nodeVersion: string; gitCommit: string };
  cluster: { nodes: number; pods: number; faultCandidates: number };
  restarts: Restart[];
  checks: {
    /** Check rounds that read both lists and the truth. */
    rounds: number;
    /** Rounds that could not read a list (non-200 or transport error). */
    failedReads: number;
    failedReadSamples: string[];
    /** Items in the served lists, over the rounds. */
    nodesServed: Spread;
    podsServed: Spread;
    checkedValues: number;
    wrongValues: number;
    /** The first wrong values found (at most 50). */
    wrongSamples: WrongValue[];
    partialPods: number;
    /** Per round: nodes without a fault for three resolutions (and existing as long) not served. */
    missingHealthyNodes: Spread;
    /** The first such nodes (at most 50), with the minute. */
    missingHealthySamples: string[];
  };
  faults: { draws: number; bySpec: Record<string, number> };
  churn: ChurnCounts;
  /** Warning and error messages of the server by text, most frequent first (at most 20). */
  topMessages: { severity: Severity; message: string; count: number }[];
  minutes: MinuteRow[];
  load: Record<string, LoadRow>;
}

/** Why the soak failed (empty: it passed). */
export function failures(r: SoakReport): string[] {
  const out: string[] = [];
  if (r.restarts.length > 0) out.push(`the server restarted ${r.restarts.length} time(s)`);
  if (r.checks.wrongValues > 0) out.push(`${r.checks.wrongValues} wrong value(s) served`);
  if (r.checks.rounds === 0) out.push("no check round completed: nothing was verified");
  return out;
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const mib = (kib: number): string => fmt(kib / 1024, 1);

/** The human summary: a BENCHMARKS.md-style section. */
export function renderSummary(r: SoakReport): string {
  const p = r.params;
  const lines: string[] = [];
  const total = (s: Severity): number => r.minutes.reduce((sum, m) => sum + m.logLines[s], 0);
  const minutes = Math.max(1, r.minutes.length);
  lines.push(`### Soak: ${p.minutes} min, ${r.cluster.nodes} nodes, ${fmt(p.faultFraction * 100)} % faulty`);
  lines.push("");
  lines.push(
    `${r.startedAt}, commit ${r.machine.gitCommit.slice(0, 12)}, ${r.machine.cores} × ${r.machine.cpuModel}, Node ${r.machine.nodeVersion}. ` +
      `${r.cluster.nodes} nodes × ${p.podsPerNode} pods × ${p.containersPerPod} containers (${r.cluster.pods} pods), ` +
      `resolution ${p.resolution}; faults (${p.faults.join(", ")}) on ${fmt(p.faultFraction * 100)} % of ` +
      `${r.cluster.faultCandidates} nodes, drawn again every ${fmt(p.faultPeriodMs / 1000)} s; ` +
      `${p.podChurn} pods and ${p.nodeChurn} nodes created and deleted per minute; ` +
      `API load ${p.rate}/s HPA-style, ${p.getRate}/s get, ${p.listRate}/s list-all; seed ${p.seed}.`,
  );
  lines.push("");
  lines.push("| result | value |");
  lines.push("|---|---|");
  lines.push(`| server restarts | ${r.restarts.length} |`);
  lines.push(
    `| wrong values served | ${r.checks.wrongValues} of ${r.checks.checkedValues + r.checks.wrongValues} checked (${r.checks.rounds} rounds) |`,
  );
  lines.push(
    `| nodes served per round (p50 / min) | ${fmt(r.checks.nodesServed.p50)} / ${fmt(r.checks.nodesServed.min)} |`,
  );
  lines.push(
    `| pods served per round (p50 / min) | ${fmt(r.checks.podsServed.p50)} / ${fmt(r.checks.podsServed.min)} |`,
  );
  lines.push(
    `| healthy nodes not served, per round (p50 / max) | ${fmt(r.checks.missingHealthyNodes.p50)} / ${fmt(r.checks.missingHealthyNodes.max)} |`,
  );
  lines.push(`| pods served with a container left out | ${r.checks.partialPods} |`);
  lines.push(`| failed list reads of the checker | ${r.checks.failedReads} |`);
  const rss = r.minutes.map((m) => m.rssKiB.last).filter(Number.isFinite);
  lines.push(
    `| server RSS first / last / max minute (MiB) | ${mib(rss[0] ?? Number.NaN)} / ${mib(rss.at(-1) ?? Number.NaN)} / ${mib(Math.max(...r.minutes.map((m) => m.rssKiB.max).filter(Number.isFinite)))} |`,
  );
  lines.push(
    `| log lines per minute (info / warning / error / other) | ${fmt(total("I") / minutes, 1)} / ${fmt(total("W") / minutes, 1)} / ${fmt(total("E") / minutes, 1)} / ${fmt(total("other") / minutes, 1)} |`,
  );
  lines.push(
    `| fault draws / churn (pods ± / nodes ±) | ${r.faults.draws} / ${r.churn.podsCreated}+${r.churn.podsDeleted}− / ${r.churn.nodesCreated}+${r.churn.nodesDeleted}− (${r.churn.errors} errors) |`,
  );
  lines.push("");
  lines.push("| API call | rate/s | requests | errors | p50 ms | p99 ms | max ms |");
  lines.push("|---|---|---|---|---|---|---|");
  for (const [name, l] of Object.entries(r.load)) {
    lines.push(
      `| ${name} | ${l.ratePerSecond} | ${l.completed} | ${l.errors + l.unfinished} | ${fmt(l.latencyMs.p50, 1)} | ${fmt(l.latencyMs.p99, 1)} | ${fmt(l.latencyMs.max, 1)} |`,
    );
  }
  lines.push("");
  lines.push(
    "| minute | RSS MiB (max) | log I / W / E | values checked | wrong | faulty nodes | pods ± | nodes ± |",
  );
  lines.push("|---|---|---|---|---|---|---|---|");
  for (const m of r.minutes) {
    lines.push(
      `| ${m.minute} | ${mib(m.rssKiB.max)} | ${m.logLines.I} / ${m.logLines.W} / ${m.logLines.E} | ${m.checkedValues} | ${m.wrongValues} | ${m.faultedNodes} | ${m.podsCreated}+${m.podsDeleted}− | ${m.nodesCreated}+${m.nodesDeleted}− |`,
    );
  }
  if (r.topMessages.length > 0) {
    lines.push("");
    lines.push("Most frequent warning and error messages: ");
    lines.push(r.topMessages.map((t) => `${t.severity} "${t.message}" × ${t.count}`).join("; "));
  }
  if (r.checks.missingHealthySamples.length > 0) {
    lines.push("");
    lines.push(`Healthy nodes not served: ${r.checks.missingHealthySamples.slice(0, 10).join(", ")}`);
  }
  if (r.checks.wrongSamples.length > 0) {
    lines.push("");
    lines.push("First wrong values:");
    for (const w of r.checks.wrongSamples.slice(0, 10)) {
      const faults = w.faults === undefined ? "" : `; node's faults then: ${w.faults.join(", ") || "none"}`;
      lines.push(`- ${w.kind} ${w.name}: ${w.what}: ${w.detail}${faults}`);
    }
  }
  for (const x of r.restarts) {
    lines.push("");
    lines.push(`Restart in minute ${x.atMinute} (code ${x.code}, signal ${x.signal}); last lines:`);
    lines.push("```", x.tail, "```");
  }
  const failed = failures(r);
  lines.push("");
  lines.push(failed.length === 0 ? "Verdict: PASS" : `Verdict: FAIL: ${failed.join("; ")}`);
  return `${lines.join("\n")}\n`;
}
