// Which kubelet faults the soak keeps on its nodes, and how it draws them.
import { type AdminCredentials, apiRequest } from "../../scripts/cluster.ts";

/**
 * The fault specs the soak draws from: every kind `POST /sim/faults` accepts (the simulator's
 * --help lists them). Kept in this one place so a new kind is one line here.
 */
export const SOAK_FAULT_SPECS: readonly string[] = ["hang", "http500", "garbage", "wrong-ca"];

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

/** Sets (or with null clears) one node's kubelet fault. */
export async function setFault(creds: AdminCredentials, node: string, fault: string | null): Promise<void> {
  const res = await apiRequest(creds, "POST", "/sim/faults", { node, fault });
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`POST /sim/faults ${node}=${fault}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  }
}
