// Shared by the real-client tests: the one cluster each test file starts (test/clients/clients.yaml,
// node `delta` broken), what the metrics API should serve for it according to the simulator's truth,
// and a client-side Kubernetes quantity parser (written here rather than borrowed from src/ so the
// served values are checked by code that shares nothing with the code that produced them).
import assert from "node:assert/strict";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Truth } from "../../scripts/cluster.ts";
import { type Cluster, startCluster } from "./cluster.ts";
import { root } from "./paths.ts";
import { poll } from "./poll.ts";

export const SCENARIO = join(root, "test", "clients", "clients.yaml");
/** The node whose kubelet answers 500 to everything: listed by the API server, never any metrics. */
export const BROKEN_NODE = "delta";

export type TruthPod = Truth["pods"][number];
export type TruthNode = Truth["nodes"][number];

export interface ClientsCluster extends Cluster {
  /** Nodes the metrics-server can scrape, sorted by name. */
  servedNodes: TruthNode[];
  /** Running pods on scrapeable nodes: exactly the pods the metrics API serves, by namespace/name. */
  servedPods: TruthPod[];
  /** Date.now() just before the simulator started (pods with `age: 0s` were created about then). */
  startedMs: number;
}

export async function startClientsCluster(t: TestContext): Promise<ClientsCluster> {
  const startedMs = Date.now();
  const c = await startCluster(t, {
    simArgs: ["--scenario", SCENARIO, "--fault", `${BROKEN_NODE}=http500`],
    resolution: "3s",
  });
  const servedNodes = c.truth.nodes.filter((n) => n.name !== BROKEN_NODE).sort(byName);
  const servedPods = c.truth.pods
    .filter((p) => p.phase === "Running" && p.node !== BROKEN_NODE)
    .sort(byNamespaceThenName);
  assert.ok(servedNodes.length >= 3 && servedPods.length >= 6, "the scenario file was loaded");
  return { ...c, servedNodes, servedPods, startedMs };
}

/** Byte-wise order, as Go's string comparison (kubectl and metrics-server sort this way). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: { name: string }, b: { name: string }): number {
  return compareStrings(a.name, b.name);
}

/** kubectl's default order for pods: namespace, then name. */
export function byNamespaceThenName(
  a: { namespace: string; name: string },
  b: { namespace: string; name: string },
): number {
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}

export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

export function podCpuNanocores(p: TruthPod): number {
  return p.containers.reduce((s, c) => s + c.cpuNanocores, 0);
}

export function podMemoryBytes(p: TruthPod): number {
  return p.containers.reduce((s, c) => s + c.memoryBytes, 0);
}

export function truthPod(c: ClientsCluster, namespace: string, name: string): TruthPod {
  const p = c.truth.pods.find((x) => x.namespace === namespace && x.name === name);
  assert.ok(p, `the scenario has pod ${namespace}/${name}`);
  return p;
}

export function truthNode(c: ClientsCluster, name: string): TruthNode {
  const n = c.truth.nodes.find((x) => x.name === name);
  assert.ok(n, `the scenario has node ${name}`);
  return n;
}

/** Served values are rates over a window: within 5 % (plus one unit of rounding) of the truth. */
export function assertNear(what: string, got: number, want: number, unit = 1): void {
  assert.ok(
    Math.abs(got - want) <= want * 0.05 + unit,
    `${what}: got ${got}, truth is ${want} (tolerance 5 % + ${unit})`,
  );
}

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40 };

/** Parses a Kubernetes quantity ("254376797n", "1", "2135700Ki", "1e3") to a number of base units. */
export function parseQuantity(text: string): number {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([numkMGT]|[KMGT]i)|[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new Error(`not a Kubernetes quantity: ${JSON.stringify(text)}`);
  const value = Number(m[1]);
  if (m[3] !== undefined) return value * 10 ** Number(m[3]);
  const suffix = m[2] ?? "";
  if (suffix in BINARY_SUFFIX) return value * 2 ** BINARY_SUFFIX[suffix];
  return value * 10 ** DECIMAL_SUFFIX[suffix];
}

export interface Usage {
  cpu: string;
  memory: string;
}

/** Checks a served usage against the truth: CPU in nanocores, memory in bytes. */
export function assertUsage(
  what: string,
  usage: Usage | undefined,
  cpuNanocores: number,
  memoryBytes: number,
): void {
  assert.ok(usage, `${what} has usage`);
  assertNear(`${what} cpu (nanocores)`, Math.round(parseQuantity(usage.cpu) * 1e9), cpuNanocores, 1e6);
  assertNear(`${what} memory (bytes)`, parseQuantity(usage.memory), memoryBytes, 2 ** 20);
}

/** RFC 3339 timestamp with seconds precision and a Go duration window, as metrics-server serves them. */
export function assertTimestampAndWindow(what: string, obj: { timestamp?: string; window?: string }): void {
  assert.match(obj.timestamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${what} timestamp`);
  assert.match(obj.window ?? "", /^(\d+(\.\d+)?(ms|s|m))+$/, `${what} window`);
  assert.ok(Date.parse(obj.timestamp!) <= Date.now() + 5000, `${what} timestamp is not in the future`);
}

/** Polls with the suite's usual deadline until `fn` yields a value. */
export function waitFor<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  return poll(what, fn, 150_000, 1000);
}
