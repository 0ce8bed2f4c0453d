// Which kubelet faults the soak keeps on its nodes, and how it draws them.
import { KUBELET_FAULT_KINDS } from "../../test/support/faults.ts";

export interface SoakFault {
  /** What POST /sim/faults is given. */
  spec: string;
  /**
   * Values served under it are only as exact as the server's clock allows (samples without
   * timestamps), so the check of its node and pods allows a wider CPU tolerance.
   */
  approximate: boolean;
}

/**
 * The faults the soak draws from: every kubelet fault kind of the simulator, with its sample SPEC,
 * from the one list of them (test/support/faults.ts).
 */
export const SOAK_FAULTS: readonly SoakFault[] = KUBELET_FAULT_KINDS.map((k) => ({
  spec: k.spec,
  approximate: k.expect === "approximate",
}));

export const SOAK_FAULT_SPECS: readonly string[] = SOAK_FAULTS.map((f) => f.spec);

/** When each node had which fault: answers whether a node's values were approximate at a time. */
export class FaultLog {
  readonly #approximate: ReadonlySet<string>;
  readonly #spans = new Map<string, { spec: string; fromMs: number; untilMs: number }[]>();

  constructor(faults: readonly SoakFault[] = SOAK_FAULTS) {
    this.#approximate = new Set(faults.filter((f) => f.approximate).map((f) => f.spec));
  }

  /**
   * Node's fault becomes `spec` (null: cleared) through a request sent at sentMs: the new fault may
   * act from then on; the old one until the returned function is called with the answer's time.
   */
  change(node: string, spec: string | null, sentMs: number): (doneMs: number) => void {
    const spans = this.#spans.get(node) ?? [];
    this.#spans.set(node, spans);
    const last = spans.at(-1);
    const open = last?.untilMs === Number.POSITIVE_INFINITY ? last : undefined;
    if (spec !== null) spans.push({ spec, fromMs: sentMs, untilMs: Number.POSITIVE_INFINITY });
    return (doneMs) => {
      if (open) open.untilMs = doneMs;
    };
  }

  /** The faults node had at some time in [fromMs, untilMs], in order. */
  specsAt(node: string, fromMs: number, untilMs: number): string[] {
    return (this.#spans.get(node) ?? [])
      .filter((s) => s.fromMs <= untilMs && s.untilMs >= fromMs)
      .map((s) => s.spec);
  }

  /** Whether node had any fault at some time in [fromMs, untilMs]. */
  faultedAt = (node: string, fromMs: number, untilMs: number): boolean =>
    (this.#spans.get(node) ?? []).some((s) => s.fromMs <= untilMs && s.untilMs >= fromMs);

  approximateAt = (node: string, fromMs: number, untilMs: number): boolean =>
    (this.#spans.get(node) ?? []).some(
      (s) => this.#approximate.has(s.spec) && s.fromMs <= untilMs && s.untilMs >= fromMs,
    );
}

/** A small seeded generator (mulberry32): the same seed draws the same faults and churn. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** round(fraction × candidates) distinct nodes, each with a spec drawn from `specs`. */
export function drawFaults(
  candidates: readonly string[],
  fraction: number,
  specs: readonly string[],
  random: () => number,
): Map<string, string> {
  const pool = [...candidates];
  const count = Math.min(pool.length, Math.round(fraction * pool.length));
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    // A partial Fisher-Yates shuffle: the first `count` entries are a uniform sample.
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    out.set(pool[i]!, specs[Math.floor(random() * specs.length)]!);
  }
  return out;
}

/** The POST /sim/faults calls that turn fault set `from` into `to`: clears first, then sets. */
export function faultChanges(
  from: ReadonlyMap<string, string>,
  to: ReadonlyMap<string, string>,
): { node: string; fault: string | null }[] {
  const changes: { node: string; fault: string | null }[] = [];
  for (const node of from.keys()) if (!to.has(node)) changes.push({ node, fault: null });
  for (const [node, fault] of to) if (from.get(node) !== fault) changes.push({ node, fault });
  return changes;
}
