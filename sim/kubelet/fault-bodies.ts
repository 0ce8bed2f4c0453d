// The value faults of a kubelet: a healthy body (Prometheus text or the Summary API object) with some
// of its numbers or timestamps changed the way broken kubelets change them. They hit "targets": the
// node's own series and those of its first running pod (namespace/name order), so a test can check
// both that these are excluded and that the node's other pods are still served. Only faulty nodes
// take this path; healthy bodies never pass through it (unless a counter-reset moved their zero).

import type { BodyFaultKind, SimNode } from "../types.ts";
import { formatGoFloat } from "./promtext.ts";
import { rfc3339, type StatsJson, type SummaryJson } from "./summary.ts";

/** How much an absurd-cpu counter outruns the node: this many times its cores. */
const ABSURD_CPU_CORES_FACTOR = 10;
/** An absurd-memory working set: this many times the node's memory capacity (plus the real value). */
const ABSURD_MEMORY_FACTOR = 4;
const FUTURE_MS = 3_600_000;
const BACKWARDS_STEP_MS = 60_000;
const DUPLICATE = (v: number) => v * 2 + 1;

/**
 * What a node's body faults remember between scrapes. The counter-reset offsets stay after the fault
 * is cleared: the node did reboot, and its counters go on from their new zero at the true rates.
 */
export class FaultMemory {
  /** CPU seconds subtracted from a counter since a counter-reset; keys "node", "ns/pod", "ns/pod/c". */
  readonly cpuOffsets = new Map<string, number>();
  /** Set by a counter-reset fault: the next body's counters become the new zero. */
  resetPending = false;
  /** backwards-timestamp: the timestamp the last body carried. */
  lastBackwardsMs: number | undefined;

  /** Whether even a healthy body needs this path (a counter-reset happened). */
  get changesHealthy(): boolean {
    return this.cpuOffsets.size > 0;
  }
}

export interface BodyFaultContext {
  /** The fault, or undefined for a healthy body that only applies counter-reset offsets. */
  kind: BodyFaultKind | undefined;
  node: SimNode;
  /** The time the body's values were computed at (ms). */
  nowMs: number;
  memory: FaultMemory;
}

/** The timestamp a body carries under a timestamp fault (undefined: none), advancing the clock. */
function stamp(ctx: BodyFaultContext, healthyMs: number): number | undefined {
  switch (ctx.kind) {
    case "no-timestamp":
      return undefined;
    case "future-timestamp":
      return healthyMs + FUTURE_MS;
    case "backwards-timestamp": {
      const t = Math.min(healthyMs, ctx.memory.lastBackwardsMs ?? healthyMs) - BACKWARDS_STEP_MS;
      ctx.memory.lastBackwardsMs = t;
      return t;
    }
    default:
      return healthyMs;
  }
}

/** The CPU counter (seconds) a broken kubelet reports for a target's true counter at ctx.nowMs. */
function absurdCpuSeconds(ctx: BodyFaultContext, seconds: number): number {
  const ageSeconds = Math.max(0, ctx.nowMs - ctx.node.bootTimeMs) / 1000;
  return seconds + ageSeconds * ctx.node.cpuCores * ABSURD_CPU_CORES_FACTOR;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)(?: (-?\d+))?$/;
const LABEL = /(\w+)="([^"]*)"/g;

/** "node", "ns/pod" or "ns/pod/container": the series' owner, from its family and labels. */
function seriesKey(family: string, labels: string | undefined): string {
  if (family.startsWith("node_")) return "node";
  const l: Record<string, string> = {};
  for (const m of (labels ?? "").matchAll(LABEL)) l[m[1]] = m[2];
  const pod = `${l.namespace}/${l.pod}`;
  return family.startsWith("container_") ? `${pod}/${l.container}` : pod;
}

/** The first pod (namespace/name order) among `keys` ("ns/pod/..."), or undefined. */
function firstPod(keys: Iterable<string>): string | undefined {
  let first: [string, string] | undefined;
  for (const key of keys) {
    const [ns, pod] = key.split("/");
    if (pod === undefined) continue;
    if (!first || ns < first[0] || (ns === first[0] && pod < first[1])) first = [ns, pod];
  }
  return first && `${first[0]}/${first[1]}`;
}

function isTarget(key: string, pod: string | undefined): boolean {
  return key === "node" || (pod !== undefined && (key === pod || key.startsWith(`${pod}/`)));
}

const CPU_FAMILY = /_cpu_usage_seconds_total$/;
const MEMORY_FAMILY = /_memory_working_set_bytes$/;
const MISSING_FAMILIES = new Set(["node_memory_working_set_bytes", "container_memory_working_set_bytes"]);

/** A /metrics/resource body (as writeResourceMetrics wrote it) under a body fault. */
export function distortResourceMetrics(healthy: string, ctx: BodyFaultContext): string {
  const { kind, memory } = ctx;
  const lines = healthy.split("\n");
  const samples = lines.map((line) => (line.startsWith("#") ? null : SAMPLE.exec(line)));
  const keys = samples.map((m) => (m ? seriesKey(m[1], m[2]) : ""));
  const pod = firstPod(keys.filter((_key, i) => samples[i]?.[1].startsWith("container_")));
  // zero-cpu and zero-memory hit one container of the target pod: the first by name.
  const firstContainer = keys.filter((key) => pod !== undefined && key.startsWith(`${pod}/`)).sort()[0];
  if (kind === "counter-reset" && memory.resetPending) {
    for (let i = 0; i < lines.length; i++) {
      const m = samples[i];
      if (m && CPU_FAMILY.test(m[1])) memory.cpuOffsets.set(keys[i], Number(m[3]));
    }
    memory.resetPending = false;
  }
  const t = Math.floor(ctx.nowMs);
  const ts = stamp(ctx, t);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const m = samples[i];
    if (!m) {
      const family = /^# (?:HELP|TYPE) (\S+)/.exec(line)?.[1];
      if (!(kind === "missing-families" && family && MISSING_FAMILIES.has(family))) out.push(line);
      continue;
    }
    const [, family, labels = "", valueText] = m;
    if (kind === "missing-families" && MISSING_FAMILIES.has(family)) continue;
    const key = keys[i];
    const cpu = CPU_FAMILY.test(family);
    const mem = MEMORY_FAMILY.test(family);
    let value = Number(valueText);
    const offset = cpu ? memory.cpuOffsets.get(key) : undefined;
    if (offset !== undefined) value -= offset;
    let duplicate: number | undefined;
    if ((kind === "zero-cpu" && cpu) || (kind === "zero-memory" && mem)) {
      if (key === "node" || key === firstContainer) value = 0;
    } else if ((cpu || mem) && isTarget(key, pod)) {
      if (kind === "nan") value = Number.NaN;
      else if (kind === "inf") value = cpu ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
      else if (kind === "negative") value = -value - 1;
      else if (kind === "absurd-cpu" && cpu) value = absurdCpuSeconds(ctx, value);
      else if (kind === "absurd-memory" && mem) value += ctx.node.memoryBytes * ABSURD_MEMORY_FACTOR;
      else if (kind === "duplicate-series") duplicate = DUPLICATE(value);
    }
    const text = value === Number(valueText) ? valueText : formatGoFloat(value);
    // Samples without a timestamp in the healthy body (container_start_time_seconds) keep none.
    const tail = m[4] === undefined || ts === undefined ? "" : ` ${ts}`;
    out.push(`${family}${labels} ${text}${tail}`);
    if (duplicate !== undefined) out.push(`${family}${labels} ${formatGoFloat(duplicate)}${tail}`);
  }
  return out.join("\n");
}

// JSON has no NaN or infinities; a number too large for a double parses as one.
const INF = "\u0000+inf";
const NEG_INF = "\u0000-inf";

interface SummarySeries {
  key: string;
  stats: StatsJson;
}

function summarySeries(obj: SummaryJson): SummarySeries[] {
  const all: SummarySeries[] = [{ key: "node", stats: obj.node }];
  for (const p of obj.pods) {
    const pod = `${p.podRef.namespace}/${p.podRef.name}`;
    all.push({ key: pod, stats: p });
    for (const c of p.containers) all.push({ key: `${pod}/${c.name}`, stats: c });
  }
  return all;
}

function stats(s: StatsJson, name: "cpu" | "memory"): Record<string, unknown> | undefined {
  const v = s[name];
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
}

/** A copy of a Summary API pod or container with its CPU and memory figures changed by `f`. */
function changedCopy<T extends StatsJson>(s: T, f: (v: number) => number): T {
  const copy = structuredClone(s);
  for (const series of [copy, ...((copy.containers as StatsJson[] | undefined) ?? [])]) {
    const cpu = stats(series, "cpu");
    const mem = stats(series, "memory");
    if (cpu) cpu.usageCoreNanoSeconds = f(cpu.usageCoreNanoSeconds as number);
    if (cpu) cpu.usageNanoCores = f(cpu.usageNanoCores as number);
    if (mem) mem.workingSetBytes = f(mem.workingSetBytes as number);
  }
  return copy;
}

/** The Summary API body for `obj` (as summaryObject made it) under a body fault. */
export function distortSummary(obj: SummaryJson, ctx: BodyFaultContext): string {
  const { kind, memory, node } = ctx;
  const series = summarySeries(obj);
  const pod = firstPod(
    obj.pods.filter((p) => p.containers.length > 0).map((p) => `${p.podRef.namespace}/${p.podRef.name}`),
  );
  if (kind === "counter-reset" && memory.resetPending) {
    for (const s of series) {
      const cpu = stats(s.stats, "cpu");
      if (cpu) memory.cpuOffsets.set(s.key, (cpu.usageCoreNanoSeconds as number) / 1e9);
    }
    memory.resetPending = false;
  }
  const firstContainer = series
    .map((s) => s.key)
    .filter((key) => pod !== undefined && key.startsWith(`${pod}/`))
    .sort()[0];
  const t = Math.floor(ctx.nowMs / 1000) * 1000;
  const ts = stamp(ctx, t);
  for (const { key, stats: s } of series) {
    const cpu = stats(s, "cpu");
    const mem = stats(s, "memory");
    const offset = memory.cpuOffsets.get(key);
    if (cpu && offset !== undefined) {
      cpu.usageCoreNanoSeconds = (cpu.usageCoreNanoSeconds as number) - Math.round(offset * 1e9);
    }
    if (kind === "missing-families") delete s.memory;
    for (const x of [cpu, mem]) {
      if (!x) continue;
      if (ts === undefined) delete x.time;
      else x.time = rfc3339(ts);
    }
    if (!isTarget(key, pod)) continue;
    switch (kind) {
      case "zero-cpu":
      case "zero-memory":
        // The node and the target pod's first container (summarySeries lists them in this order).
        if (key !== "node" && key !== firstContainer) break;
        if (kind === "zero-cpu" && cpu) Object.assign(cpu, { usageNanoCores: 0, usageCoreNanoSeconds: 0 });
        if (kind === "zero-memory" && mem) mem.workingSetBytes = 0;
        break;
      case "nan":
        if (cpu) Object.assign(cpu, { usageNanoCores: null, usageCoreNanoSeconds: null });
        if (mem) mem.workingSetBytes = null;
        break;
      case "inf":
        if (cpu) Object.assign(cpu, { usageNanoCores: INF, usageCoreNanoSeconds: INF });
        if (mem) mem.workingSetBytes = NEG_INF;
        break;
      case "negative":
        if (cpu) cpu.usageNanoCores = -(cpu.usageNanoCores as number) - 1;
        if (cpu) cpu.usageCoreNanoSeconds = -(cpu.usageCoreNanoSeconds as number) - 1;
        if (mem) mem.workingSetBytes = -(mem.workingSetBytes as number) - 1;
        break;
      case "absurd-cpu":
        if (!cpu) break;
        cpu.usageCoreNanoSeconds = Math.round(
          absurdCpuSeconds(ctx, (cpu.usageCoreNanoSeconds as number) / 1e9) * 1e9,
        );
        cpu.usageNanoCores = (cpu.usageNanoCores as number) + node.cpuCores * ABSURD_CPU_CORES_FACTOR * 1e9;
        break;
      case "absurd-memory":
        if (mem)
          mem.workingSetBytes = (mem.workingSetBytes as number) + node.memoryBytes * ABSURD_MEMORY_FACTOR;
        break;
    }
  }
  // The same pod twice with other values, and (in the first copy) its first container twice.
  if (kind === "duplicate-series" && pod !== undefined) {
    const i = obj.pods.findIndex((p) => `${p.podRef.namespace}/${p.podRef.name}` === pod);
    const original = obj.pods[i];
    original.containers.splice(1, 0, changedCopy(original.containers[0], DUPLICATE));
    obj.pods.splice(i + 1, 0, changedCopy(original, DUPLICATE));
  }
  return `${JSON.stringify(obj, null, 2)
    .replaceAll(JSON.stringify(INF), "1e999")
    .replaceAll(JSON.stringify(NEG_INF), "-1e999")}\n`;
}
