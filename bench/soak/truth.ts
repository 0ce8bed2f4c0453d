// Whether a served metric is right: the simulator's truth (GET /sim/truth) over time, and the check
// of every served node and pod against it.
//
// The truth changes only when pods come and go, and it is sampled: a value first seen at snapshot k
// may have started any time after snapshot k-1, and lasts until the snapshot that sees the next one.
// The soak reads the truth after each batch of deletions and each batch of creations, so between
// two snapshots a node's truth moves one way only and every value it passed lies between them.
// A node's CPU is a rate over [timestamp - window, timestamp], so it lies between the lowest and
// the highest truth of that span, less the CPU of pods deleted in it (the kubelet retires a deleted
// container's counter at its last report, as a cgroup that is gone stops counting). Memory is a
// gauge at the timestamp. A pod's containers never change their configured usage.
import type { Truth } from "../../scripts/cluster.ts";
import { parseGoDuration, parseQuantity } from "../../src/go/index.ts";

/** A served NodeMetrics or PodMetrics item (the JSON fields the check reads). */
export interface ServedItem {
  metadata: { name: string; namespace?: string };
  timestamp: string | null;
  window: string;
  usage?: { cpu: string; memory: string };
  containers?: { name: string; usage: { cpu: string; memory: string } }[];
}

export interface WrongValue {
  kind: "node" | "pod";
  /** Node name or namespace/name (and /container). */
  name: string;
  /** What is wrong, e.g. "cpu", "memory", "window", "unknown node". */
  what: string;
  detail: string;
  /** The node (of a pod: the node it was last seen on), when known. */
  node?: string;
  /** The served sample's span, [timestamp - window, timestamp] in ms, when it could be read. */
  span?: { fromMs: number; toMs: number };
  /** The faults the node had over the span (the soak fills it in). */
  faults?: string[];
}

export interface CheckResult {
  /** Items (nodes, or pods) checked. */
  items: number;
  /** Values (CPU and memory of each node or container) found right. */
  values: number;
  wrong: WrongValue[];
  /** Pods served with fewer containers than they have (allowed: a container's rate may fail). */
  partialPods: number;
}

export interface Tolerance {
  /** CPU: relative, and absolute in nanocores. */
  cpuRelative: number;
  cpuNanocores: number;
  memoryBytes: number;
  /**
   * CPU, relative, for a node under a fault whose values are only as exact as the server's clock
   * allows (samples without timestamps: the request's time stands in, so its latency skews a rate).
   */
  approximateCpuRelative: number;
  /** Clock slack around a sample's span (the API's timestamps have whole seconds). */
  slackMs: number;
}

export const DEFAULT_TOLERANCE: Tolerance = {
  cpuRelative: 0.002,
  cpuNanocores: 500_000,
  memoryBytes: 1024,
  approximateCpuRelative: 0.25,
  slackMs: 2000,
};

interface Span {
  /** Earliest the value may have started. */
  from: number;
  /** Latest it may have lasted until (the snapshot that last saw it, or saw the next value). */
  until: number;
}
interface NodeValue extends Span {
  cpu: number;
  memory: number;
}
interface Removal extends Span {
  cpu: number;
}
/** Whether `node` had a fault whose values are approximate at some time in [fromMs, untilMs]. */
export type ApproximateAt = (node: string, fromMs: number, untilMs: number) => boolean;

const NEVER: ApproximateAt = () => false;

interface PodNow {
  node: string;
  cpu: number;
}
type ContainerTruth = ReadonlyMap<string, { cpu: number; memory: number }>;

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

export class TruthHistory {
  readonly #tolerance: Tolerance;
  #lastSentMs = Number.NEGATIVE_INFINITY;
  readonly #nodes = new Map<string, NodeValue[]>();
  readonly #present = new Set<string>();
  /** When each present node was first seen in its current stay (a snapshot's receive time). */
  readonly #presentSince = new Map<string, number>();
  readonly #removals = new Map<string, Removal[]>();
  /** Every Running pod ever seen: its containers (a recreated pod of the same name may differ). */
  readonly #pods = new Map<string, ContainerTruth[]>();
  #podsNow = new Map<string, PodNow>();
  /** The node each pod ever seen was last seen on. */
  readonly #podNodes = new Map<string, string>();

  constructor(tolerance: Tolerance = DEFAULT_TOLERANCE) {
    this.#tolerance = tolerance;
  }

  /**
   * Records a truth asked for at sentMs and received at atMs (the simulator computed it in between).
   * Snapshots must be added in the order they were read, one read at a time.
   */
  add(atMs: number, truth: Truth, sentMs = atMs): void {
    const prevMs = this.#lastSentMs;
    const seen = new Set<string>();
    for (const n of truth.nodes) {
      seen.add(n.name);
      const values = this.#nodes.get(n.name) ?? [];
      this.#nodes.set(n.name, values);
      const last = values.at(-1);
      if (last && this.#present.has(n.name) && last.cpu === n.cpuNanocores && last.memory === n.memoryBytes) {
        last.until = atMs;
      } else {
        if (last && this.#present.has(n.name)) last.until = atMs;
        values.push({ from: prevMs, until: atMs, cpu: n.cpuNanocores, memory: n.memoryBytes });
      }
    }
    for (const name of this.#present) {
      if (!seen.has(name)) {
        const last = this.#nodes.get(name)?.at(-1);
        if (last) last.until = atMs;
      }
    }
    for (const name of seen) if (!this.#present.has(name)) this.#presentSince.set(name, atMs);
    for (const name of this.#present) if (!seen.has(name)) this.#presentSince.delete(name);
    this.#present.clear();
    for (const name of seen) this.#present.add(name);

    const podsNow = new Map<string, PodNow>();
    for (const p of truth.pods) {
      if (p.containers.length === 0) continue;
      const k = key(p.namespace, p.name);
      const containers: ContainerTruth = new Map(
        p.containers.map((c) => [c.name, { cpu: c.cpuNanocores, memory: c.memoryBytes }]),
      );
      const variants = this.#pods.get(k);
      if (!variants) this.#pods.set(k, [containers]);
      else if (!variants.some((v) => sameContainers(v, containers))) variants.push(containers);
      this.#podNodes.set(k, p.node);
      podsNow.set(k, { node: p.node, cpu: p.containers.reduce((s, c) => s + c.cpuNanocores, 0) });
    }
    for (const [k, before] of this.#podsNow) {
      const now = podsNow.get(k);
      if (now && now.node === before.node) continue;
      const removals = this.#removals.get(before.node) ?? [];
      this.#removals.set(before.node, removals);
      removals.push({ from: prevMs, until: atMs, cpu: before.cpu });
    }
    this.#podsNow = podsNow;
    this.#lastSentMs = sentMs;
  }

  /** Forgets what ended before `beforeMs` (values no served point can cover any more). */
  prune(beforeMs: number): void {
    for (const [name, values] of this.#nodes) {
      const keep = values.filter((v) => v.until >= beforeMs);
      if (keep.length === 0 && !this.#present.has(name)) this.#nodes.delete(name);
      else this.#nodes.set(name, keep.length > 0 ? keep : values.slice(-1));
    }
    for (const [name, removals] of this.#removals) {
      const keep = removals.filter((r) => r.until >= beforeMs);
      if (keep.length === 0) this.#removals.delete(name);
      else this.#removals.set(name, keep);
    }
  }

  /**
   * Nodes of the latest truth that existed from sinceMs on, had no fault after it (`faulted`) and
   * are missing from `served`: nodes the server should have served.
   */
  missingHealthyNodes(
    served: readonly ServedItem[],
    sinceMs: number,
    faulted: (node: string, fromMs: number, untilMs: number) => boolean,
  ): string[] {
    const names = new Set(served.map((i) => i.metadata.name));
    const missing: string[] = [];
    for (const [name, since] of this.#presentSince) {
      if (since <= sinceMs && !names.has(name) && !faulted(name, sinceMs, Number.POSITIVE_INFINITY)) {
        missing.push(name);
      }
    }
    return missing.sort();
  }

  /** Checks served NodeMetrics items (fetched at fetchedAtMs, before the latest snapshot). */
  checkNodes(items: readonly ServedItem[], fetchedAtMs: number, approximate = NEVER): CheckResult {
    const result: CheckResult = { items: 0, values: 0, wrong: [], partialPods: 0 };
    const tol = this.#tolerance;
    for (const item of items) {
      result.items++;
      const name = item.metadata.name;
      const wrong = (what: string, detail: string): void => {
        result.wrong.push({ kind: "node", name, what, detail, node: name, ...spanOf(item) });
      };
      const point = readPoint(item, fetchedAtMs, tol.slackMs);
      if (typeof point === "string") {
        wrong("point", point);
        continue;
      }
      const usage = readUsage(item.usage);
      if (typeof usage === "string") {
        wrong("usage", usage);
        continue;
      }
      const values = this.#nodes.get(name);
      if (!values) {
        wrong("unknown node", "served, but never in the truth");
        continue;
      }
      const cpuSpan = { from: point.ts - point.window - tol.slackMs, until: point.ts + 1000 + tol.slackMs };
      const memSpan = { from: point.ts - tol.slackMs, until: point.ts + 1000 + tol.slackMs };
      const cpuValues = values.filter((v) => overlaps(v, cpuSpan)).map((v) => v.cpu);
      const memValues = values.filter((v) => overlaps(v, memSpan)).map((v) => v.memory);
      if (cpuValues.length === 0 || memValues.length === 0) {
        wrong("not in truth", `served for ${item.timestamp}, when the node was not in the truth`);
        continue;
      }
      const removed = (this.#removals.get(name) ?? [])
        .filter((r) => overlaps(r, cpuSpan))
        .reduce((s, r) => s + r.cpu, 0);
      const cpuLow = Math.min(...cpuValues) - removed;
      const cpuHigh = Math.max(...cpuValues);
      const relative = approximate(name, cpuSpan.from, cpuSpan.until)
        ? tol.approximateCpuRelative
        : tol.cpuRelative;
      const cpuSlack = tol.cpuNanocores + relative * cpuHigh;
      if (usage.cpu < cpuLow - cpuSlack || usage.cpu > cpuHigh + cpuSlack) {
        wrong(
          "cpu",
          `${usage.cpu} nanocores, truth ${range(cpuLow, cpuHigh)} (at ${item.timestamp}, window ${item.window})`,
        );
      } else result.values++;
      const memLow = Math.min(...memValues);
      const memHigh = Math.max(...memValues);
      if (usage.memory < memLow - tol.memoryBytes || usage.memory > memHigh + tol.memoryBytes) {
        wrong("memory", `${usage.memory} bytes, truth ${range(memLow, memHigh)} (at ${item.timestamp})`);
      } else result.values++;
    }
    return result;
  }

  /** Checks served PodMetrics items (fetched at fetchedAtMs, before the latest snapshot). */
  checkPods(items: readonly ServedItem[], fetchedAtMs: number, approximate = NEVER): CheckResult {
    const result: CheckResult = { items: 0, values: 0, wrong: [], partialPods: 0 };
    const tol = this.#tolerance;
    for (const item of items) {
      result.items++;
      const name = key(item.metadata.namespace ?? "", item.metadata.name);
      const wrong = (what: string, detail: string, container?: string): void => {
        const node = this.#podNodes.get(name);
        result.wrong.push({
          kind: "pod",
          name: container ? `${name}/${container}` : name,
          what,
          detail,
          ...(node === undefined ? {} : { node }),
          ...spanOf(item),
        });
      };
      const containers = item.containers ?? [];
      const variants = this.#pods.get(name);
      if (!variants) {
        wrong("unknown pod", "served, but never Running in the truth");
        continue;
      }
      // A pod whose every container's rate failed has no timestamp and a zero window (upstream's
      // "decreased data point" case): nothing is served for it, so nothing can be wrong.
      if (containers.length === 0) {
        result.partialPods++;
        continue;
      }
      const point = readPoint(item, fetchedAtMs, tol.slackMs);
      if (typeof point === "string") {
        wrong("point", point);
        continue;
      }
      // The variant the served containers fit best (almost always the only one).
      const truth =
        variants.find((v) => containers.every((c) => v.has(c.name))) ?? variants[variants.length - 1]!;
      if (containers.length < truth.size) result.partialPods++;
      const node = this.#podNodes.get(name);
      const relative =
        node !== undefined &&
        approximate(node, point.ts - point.window - tol.slackMs, point.ts + 1000 + tol.slackMs)
          ? tol.approximateCpuRelative
          : tol.cpuRelative;
      for (const c of containers) {
        const want = truth.get(c.name);
        if (!want) {
          wrong("unknown container", "served, but not a container of the pod", c.name);
          continue;
        }
        const usage = readUsage(c.usage);
        if (typeof usage === "string") {
          wrong("usage", usage, c.name);
          continue;
        }
        const cpuSlack = tol.cpuNanocores + relative * want.cpu;
        if (Math.abs(usage.cpu - want.cpu) > cpuSlack) {
          wrong("cpu", `${usage.cpu} nanocores, truth ${want.cpu} (window ${item.window})`, c.name);
        } else result.values++;
        if (Math.abs(usage.memory - want.memory) > tol.memoryBytes) {
          wrong("memory", `${usage.memory} bytes, truth ${want.memory}`, c.name);
        } else result.values++;
      }
    }
    return result;
  }
}

/** The item's sample span, if its timestamp and window can be read. */
function spanOf(item: ServedItem): { span?: { fromMs: number; toMs: number } } {
  const ts = item.timestamp === null ? Number.NaN : Date.parse(item.timestamp);
  let window = Number.NaN;
  try {
    window = parseGoDuration(item.window);
  } catch {
    // no span
  }
  return Number.isFinite(ts) && Number.isFinite(window) ? { span: { fromMs: ts - window, toMs: ts } } : {};
}

function sameContainers(a: ContainerTruth, b: ContainerTruth): boolean {
  if (a.size !== b.size) return false;
  for (const [name, v] of a) {
    const w = b.get(name);
    if (!w || w.cpu !== v.cpu || w.memory !== v.memory) return false;
  }
  return true;
}

function overlaps(a: Span, b: Span): boolean {
  return a.from <= b.until && a.until >= b.from;
}

function range(low: number, high: number): string {
  return low === high ? String(low) : `${low}..${high}`;
}

/** The sample's time and window in ms, or what is wrong with them. */
function readPoint(
  item: ServedItem,
  fetchedAtMs: number,
  slackMs: number,
): { ts: number; window: number } | string {
  const ts = item.timestamp === null ? Number.NaN : Date.parse(item.timestamp);
  if (!Number.isFinite(ts)) return `timestamp ${JSON.stringify(item.timestamp)} is not a time`;
  if (ts > fetchedAtMs + slackMs) return `timestamp ${item.timestamp} is in the future`;
  let window = Number.NaN;
  try {
    window = parseGoDuration(item.window);
  } catch {
    // refused below
  }
  if (!(window > 0)) return `window ${JSON.stringify(item.window)} is not a positive duration`;
  return { ts, window };
}

/** CPU in nanocores and memory in bytes, or what is wrong with them. */
function readUsage(
  usage: { cpu: string; memory: string } | undefined,
): { cpu: number; memory: number } | string {
  if (!usage) return "no usage";
  let cpu: number;
  let memory: number;
  try {
    cpu = parseQuantity(usage.cpu, -9);
    memory = parseQuantity(usage.memory);
  } catch (err) {
    return `unparseable usage ${JSON.stringify(usage)}: ${(err as Error).message}`;
  }
  if (!Number.isFinite(cpu) || cpu < 0) return `cpu ${usage.cpu} is negative or not finite`;
  if (!Number.isFinite(memory) || memory < 0) return `memory ${usage.memory} is negative or not finite`;
  return { cpu, memory };
}
