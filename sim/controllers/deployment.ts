// The Deployment controller: each Deployment keeps spec.replicas pods of its current template, rolled
// out with the RollingUpdate strategy's maxSurge/maxUnavailable (or Recreate), and its status written
// back. Kubernetes puts a ReplicaSet per template between the two; the simulator skips that level and
// owns the pods directly (their names and pod-template-hash label look the same).

import type { Cluster, KubeObject } from "../state/index.ts";
import {
  isRecord,
  ownerUid,
  podReady,
  randomSuffix,
  records,
  safeHash,
  selectorMatches,
  stringMap,
} from "./labels.ts";
import { Controller } from "./queue.ts";

/** A RollingUpdate bound: an absolute number or a percentage of `replicas` (rounded up for surge). */
export function resolveBound(value: unknown, replicas: number, fallback: string, roundUp: boolean): number {
  const v = value ?? fallback;
  if (typeof v === "number") return Math.max(0, Math.floor(v));
  const m = /^(\d+)%$/.exec(String(v));
  if (!m) return 0;
  const exact = (Number(m[1]) * replicas) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export interface RolloutPlan {
  create: number;
  /** Pod names to delete, in order. */
  remove: string[];
}

export interface PodView {
  name: string;
  current: boolean;
  ready: boolean;
}

/**
 * One step of a rollout: how many current-template pods to create and which pods to delete, given the
 * pods there are now. Pure, so the rollout rules are testable without a cluster.
 */
export function planRollout(
  pods: readonly PodView[],
  replicas: number,
  strategy: { recreate: boolean; maxSurge: number; maxUnavailable: number },
): RolloutPlan {
  const current = pods.filter((p) => p.current);
  const old = pods.filter((p) => !p.current);
  const remove: string[] = [];
  // Surplus current pods go first, not-ready ones before ready ones.
  const byReadiness = (a: PodView, b: PodView) => Number(a.ready) - Number(b.ready);
  if (current.length > replicas) {
    for (const p of [...current].sort(byReadiness).slice(0, current.length - replicas)) remove.push(p.name);
  }
  const keptCurrent = Math.min(current.length, replicas);
  if (strategy.recreate) {
    for (const p of old) remove.push(p.name);
    return { create: old.length > 0 ? 0 : replicas - keptCurrent, remove };
  }
  const surge = strategy.maxSurge;
  let unavailable = strategy.maxUnavailable;
  if (surge === 0 && unavailable === 0) unavailable = 1;
  const maxTotal = replicas + surge;
  const create = Math.max(0, Math.min(replicas - keptCurrent, maxTotal - keptCurrent - old.length));
  // Old pods go as long as enough pods stay ready: the not-ready ones at once, ready ones within budget.
  const readyCurrent = current.filter((p) => p.ready && !remove.includes(p.name)).length;
  const readyOld = old.filter((p) => p.ready).length;
  let budget = readyCurrent + readyOld - (replicas - unavailable);
  const oldSorted = [...old].sort(byReadiness);
  for (const p of oldSorted) {
    if (!p.ready) remove.push(p.name);
    else if (budget > 0) {
      remove.push(p.name);
      budget--;
    }
  }
  return { create, remove };
}

function deploymentKey(ns: string, name: string): string {
  return `${ns}/${name}`;
}

export class DeploymentController extends Controller {
  private readonly cluster: Cluster;
  private readonly log: (line: string) => void;
  constructor(cluster: Cluster, log: (line: string) => void) {
    super("deployment-controller", log);
    this.cluster = cluster;
    this.log = log;
    this.watch(
      cluster.subscribe("deployments", (e) => {
        const d = e.object.object();
        const key = deploymentKey(d.metadata.namespace ?? "", d.metadata.name);
        if (e.type === "DELETED") void this.deleteOwned(d);
        else this.queue.add(key);
      }),
      cluster.subscribe("pods", (e) => {
        // Only pods with a pod-template-hash label can be a Deployment's; others are not parsed.
        if (e.object.labels?.["pod-template-hash"] === undefined) return;
        const p = e.object.object();
        const owner = ownerUid(p);
        if (!owner) return;
        const ns = p.metadata.namespace ?? "";
        for (const d of cluster.list("deployments", ns)) {
          if (d.metadata.uid === owner) this.queue.add(deploymentKey(ns, d.metadata.name));
        }
      }),
    );
    for (const d of cluster.list("deployments"))
      this.queue.add(deploymentKey(d.metadata.namespace ?? "", d.metadata.name));
  }

  private ownedPods(d: KubeObject): KubeObject[] {
    return this.cluster.list("pods", d.metadata.namespace).filter((p) => ownerUid(p) === d.metadata.uid);
  }

  /** Background deletion of a deleted Deployment's pods (kube's garbage collector does this). */
  private async deleteOwned(d: KubeObject): Promise<void> {
    for (const p of this.ownedPods(d)) {
      await this.cluster.delete("pods", p.metadata.namespace, p.metadata.name).catch(() => {});
    }
  }

  protected async reconcile(key: string): Promise<void> {
    const [ns, name] = key.split("/");
    const d = this.cluster.get("deployments", ns, name);
    if (!d) return;
    const spec = isRecord(d.spec) ? d.spec : {};
    const template = isRecord(spec.template) ? spec.template : {};
    const templateMeta = isRecord(template.metadata) ? template.metadata : {};
    const replicas = typeof spec.replicas === "number" ? Math.max(0, spec.replicas) : 1;
    const hash = safeHash(template);
    const strategy = isRecord(spec.strategy) ? spec.strategy : {};
    const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
    const maxSurge = resolveBound(rolling.maxSurge, replicas, "25%", true);
    const maxUnavailable = resolveBound(rolling.maxUnavailable, replicas, "25%", false);
    const pods = this.ownedPods(d);
    const views = pods.map((p) => ({
      name: p.metadata.name,
      current: p.metadata.labels?.["pod-template-hash"] === hash,
      ready: podReady(p),
    }));
    const plan = planRollout(views, replicas, {
      recreate: strategy.type === "Recreate",
      maxSurge,
      maxUnavailable,
    });
    for (const podName of plan.remove) {
      await this.cluster.delete("pods", ns, podName).catch(() => {});
    }
    const templateSpec = isRecord(template.spec) ? template.spec : {};
    const labels = { ...stringMap(templateMeta.labels), "pod-template-hash": hash };
    if (!selectorMatches(spec.selector, labels)) {
      this.log(`deployment-controller: ${key}: spec.selector does not match the template's labels`);
      return;
    }
    for (let i = 0; i < plan.create; i++) {
      await this.cluster.create("pods", ns, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${name}-${hash}-${randomSuffix()}`,
          namespace: ns,
          labels,
          ...(isRecord(templateMeta.annotations) ? { annotations: templateMeta.annotations } : {}),
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name,
              uid: d.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: structuredClone(templateSpec),
      });
    }
    this.writeStatus(d, hash, replicas, maxUnavailable);
  }

  private writeStatus(d: KubeObject, hash: string, replicas: number, maxUnavailable: number): void {
    const pods = this.ownedPods(d);
    const ready = pods.filter(podReady).length;
    const updated = pods.filter((p) => p.metadata.labels?.["pod-template-hash"] === hash).length;
    const updatedReady = pods.filter(
      (p) => p.metadata.labels?.["pod-template-hash"] === hash && podReady(p),
    ).length;
    const old = isRecord(d.status) ? d.status : {};
    const oldConditions = records(old.conditions);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const rsName = `${d.metadata.name}-${hash}`;
    const available = ready >= replicas - Math.min(maxUnavailable, replicas);
    const done = updatedReady === replicas && pods.length === replicas;
    const cond = (type: string, ok: boolean, reason: string, message: string) => {
      const prev = oldConditions.find((c) => c.type === type);
      const status = ok ? "True" : "False";
      const same = prev?.status === status && prev.reason === reason && prev.message === message;
      return same
        ? prev
        : {
            type,
            status,
            lastUpdateTime: now,
            lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now,
            reason,
            message,
          };
    };
    const status: Record<string, unknown> = {
      observedGeneration: typeof d.metadata.generation === "number" ? d.metadata.generation : 1,
      replicas: pods.length,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(pods.length - ready > 0 ? { unavailableReplicas: Math.max(0, pods.length - ready) } : {}),
      conditions: [
        available
          ? cond("Available", true, "MinimumReplicasAvailable", "Deployment has minimum availability.")
          : cond(
              "Available",
              false,
              "MinimumReplicasUnavailable",
              "Deployment does not have minimum availability.",
            ),
        done
          ? cond(
              "Progressing",
              true,
              "NewReplicaSetAvailable",
              `ReplicaSet "${rsName}" has successfully progressed.`,
            )
          : cond("Progressing", true, "ReplicaSetUpdated", `ReplicaSet "${rsName}" is progressing.`),
      ],
    };
    for (const k of ["readyReplicas", "availableReplicas", "updatedReplicas", "replicas"]) {
      if (status[k] === 0) delete status[k];
    }
    if (JSON.stringify(status) === JSON.stringify(old)) return;
    this.cluster.updateStatus("deployments", d.metadata.namespace, d.metadata.name, status);
  }
}
