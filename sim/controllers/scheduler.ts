// The scheduler: binds each pod created through the API without a node to a Ready node that matches its
// nodeSelector and its required pod anti-affinity, spreading pods of the same owner, then other pods.
// A pod that fits nowhere stays Pending with PodScheduled=False/Unschedulable and kube-scheduler's
// message, and is retried whenever a node or pod changes.

import type { Cluster, KubeObject } from "../state/index.ts";
import type { SimNode, SimPod } from "../types.ts";
import { isRecord, ownerUid, records, selectorMatches, stringMap } from "./labels.ts";
import { Controller } from "./queue.ts";

/** Why a node does not fit, in kube-scheduler's words (the part after "<n> node(s) ..."). */
export const NOT_READY = "had untolerated taint {node.kubernetes.io/not-ready: }";
export const SELECTOR_MISMATCH = "didn't match Pod's node affinity/selector";
export const ANTI_AFFINITY = "didn't match pod anti-affinity rules";

export interface PlacedPod {
  namespace: string;
  nodeName: string;
  labels: Readonly<Record<string, string>>;
  owner?: string;
}

/** The first reason `node` cannot run `pod`, or undefined if it can. */
export function unfit(
  pod: KubeObject,
  node: SimNode,
  nodes: ReadonlyMap<string, SimNode>,
  placed: readonly PlacedPod[],
): string | undefined {
  if (!node.ready) return NOT_READY;
  const spec = isRecord(pod.spec) ? pod.spec : {};
  for (const [k, v] of Object.entries(stringMap(spec.nodeSelector))) {
    // The "!=" form is not part of nodeSelector; a value must match exactly.
    if (node.labels[k] !== v) return SELECTOR_MISMATCH;
  }
  const affinity = isRecord(spec.affinity) ? spec.affinity : {};
  const anti = isRecord(affinity.podAntiAffinity) ? affinity.podAntiAffinity : {};
  for (const term of records(anti.requiredDuringSchedulingIgnoredDuringExecution)) {
    const key = typeof term.topologyKey === "string" ? term.topologyKey : "";
    const domain = node.labels[key];
    if (domain === undefined) continue;
    const namespaces =
      Array.isArray(term.namespaces) && term.namespaces.length > 0 ? term.namespaces.map(String) : undefined;
    const allNamespaces =
      isRecord(term.namespaceSelector) && Object.keys(term.namespaceSelector).length === 0;
    const inScope = (ns: string) =>
      allNamespaces || (namespaces ? namespaces.includes(ns) : ns === pod.metadata.namespace);
    const clash = placed.some((p) => {
      const where = nodes.get(p.nodeName);
      return (
        where?.labels[key] === domain && inScope(p.namespace) && selectorMatches(term.labelSelector, p.labels)
      );
    });
    if (clash) return ANTI_AFFINITY;
  }
  return undefined;
}

/** kube-scheduler's FitError message: "0/3 nodes are available: 1 node(s) ..., 2 node(s) .... preemption: ...". */
export function unschedulableMessage(total: number, reasons: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].map(([r, n]) => `${n} node(s) ${r}`).sort();
  const head =
    total === 0 ? "0/0 nodes are available" : `0/${total} nodes are available: ${parts.join(", ")}`;
  return `${head}. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
}

/** Picks the node for `pod`: fewest pods of the same owner, then fewest pods, then name order. */
export function chooseNode(
  candidates: readonly SimNode[],
  owner: string | undefined,
  placed: readonly PlacedPod[],
): SimNode | undefined {
  let best: SimNode | undefined;
  let bestScore: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (const n of candidates) {
    let siblings = 0;
    let all = 0;
    for (const p of placed) {
      if (p.nodeName !== n.name) continue;
      all++;
      if (owner !== undefined && p.owner === owner) siblings++;
    }
    if (siblings < bestScore[0] || (siblings === bestScore[0] && all < bestScore[1])) {
      best = n;
      bestScore = [siblings, all];
    }
  }
  return best;
}

function rfc3339Now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class Scheduler extends Controller {
  private readonly pending = new Set<string>();

  private readonly cluster: Cluster;
  constructor(cluster: Cluster, log: (line: string) => void) {
    super("scheduler", log);
    this.cluster = cluster;
    const retryAll = () => {
      for (const k of this.pending) this.queue.add(k);
    };
    this.watch(
      cluster.subscribe("pods", (e) => {
        const key = `${e.object.namespace}/${e.object.name}`;
        if (e.type === "DELETED") {
          this.pending.delete(key);
          retryAll();
        } else if (e.type === "ADDED") {
          const sim = cluster.pod(e.object.namespace ?? "", e.object.name);
          if (sim?.api && !sim.nodeName) {
            this.pending.add(key);
            this.queue.add(key);
          }
        }
      }),
      cluster.subscribe("nodes", retryAll),
    );
    for (const p of cluster.scenario().pods) {
      if (p.api && !p.nodeName) {
        const key = `${p.namespace}/${p.name}`;
        this.pending.add(key);
        this.queue.add(key);
      }
    }
  }

  protected reconcile(key: string): void {
    const [ns, name] = key.split("/");
    const sim = this.cluster.pod(ns, name);
    const pod = this.cluster.get("pods", ns, name);
    if (!sim?.api || !pod || sim.nodeName) {
      this.pending.delete(key);
      return;
    }
    const scenario = this.cluster.scenario();
    const nodes = new Map(scenario.nodes.map((n) => [n.name, n]));
    const placed: PlacedPod[] = scenario.pods
      .filter((p) => p.nodeName !== "" && p.phase !== "Succeeded" && p.phase !== "Failed")
      .map((p) => ({ namespace: p.namespace, nodeName: p.nodeName, labels: p.labels, owner: ownerOf(p) }));
    const fits: SimNode[] = [];
    const reasons: string[] = [];
    for (const n of [...nodes.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const why = unfit(pod, n, nodes, placed);
      if (why) reasons.push(why);
      else fits.push(n);
    }
    const chosen = chooseNode(fits, ownerUid(pod), placed);
    const now = rfc3339Now();
    if (!chosen) {
      const message = unschedulableMessage(nodes.size, reasons);
      const old = records(sim.api.status?.conditions).find((c) => c.type === "PodScheduled");
      if (old?.message === message) return;
      this.cluster.addPod({
        ...sim,
        api: {
          ...sim.api,
          status: {
            phase: "Pending",
            conditions: [
              {
                type: "PodScheduled",
                status: "False",
                lastProbeTime: null,
                lastTransitionTime: now,
                reason: "Unschedulable",
                message,
              },
            ],
            qosClass: "BestEffort",
          },
        },
      });
      return;
    }
    this.pending.delete(key);
    this.cluster.addPod({
      ...sim,
      nodeName: chosen.name,
      phase: "Pending",
      api: {
        ...sim.api,
        status: {
          phase: "Pending",
          conditions: [
            { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: now },
          ],
          qosClass: "BestEffort",
        },
      },
    });
  }
}

function ownerOf(p: SimPod): string | undefined {
  const ref = records(p.api?.metadata.ownerReferences).find((r) => r.controller === true);
  return typeof ref?.uid === "string" ? ref.uid : undefined;
}
