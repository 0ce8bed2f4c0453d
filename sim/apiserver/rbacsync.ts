// RBAC from the API's objects: the start policy is stored as ClusterRoles, Roles and bindings, and
// the authorizer's model follows every change of them through the cluster's watch events (so a
// decision costs no reads of the store: the authorizer runs on every request, and with thousands
// of nodes the kubelets ask it too). Also kube's clusterrole-aggregation controller: a ClusterRole
// with an aggregationRule gets the rules of every ClusterRole its label selectors match.

import { bootstrapPolicy, type Rbac, type RbacResource } from "../auth/index.ts";
import type { Cluster, KubeObject } from "../state/index.ts";
import { type LabelSelector, matchesLabels, parseLabelSelector } from "./selectors.ts";

const RBAC_RESOURCES: readonly RbacResource[] = [
  "clusterroles",
  "roles",
  "clusterrolebindings",
  "rolebindings",
];

/** Stores the start policy's objects that do not exist yet (`bare`: without metrics-server's RBAC). */
export async function storeBootstrapPolicy(cluster: Cluster, bare: boolean): Promise<void> {
  for (const { resource, object } of bootstrapPolicy({ metricsServer: !bare })) {
    const meta = object.metadata as { name: string; namespace?: string };
    if (!cluster.getStored(resource, meta.namespace, meta.name)) {
      await cluster.create(resource, meta.namespace, object);
    }
  }
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A LabelSelector object as the selector text our parser reads. */
function selectorText(sel: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(rec(sel.matchLabels))) parts.push(`${k}=${String(v)}`);
  for (const e of Array.isArray(sel.matchExpressions) ? sel.matchExpressions.map(rec) : []) {
    const values = Array.isArray(e.values) ? e.values.map(String).join(",") : "";
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(String(e.key));
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

/** The rules an aggregated ClusterRole should have now; undefined if `role` is not aggregated. */
export function aggregatedRules(role: KubeObject, all: readonly KubeObject[]): unknown[] | undefined {
  const rule = rec(role.aggregationRule);
  if (!Array.isArray(rule.clusterRoleSelectors)) return undefined;
  const selectors: LabelSelector[] = [];
  for (const s of rule.clusterRoleSelectors) {
    try {
      selectors.push(parseLabelSelector(selectorText(rec(s))));
    } catch {
      // A selector kube-apiserver would have rejected selects nothing.
    }
  }
  const rules: unknown[] = [];
  const seen = new Set<string>();
  for (const other of all) {
    if (other.metadata.name === role.metadata.name) continue;
    const labels = other.metadata.labels ?? {};
    if (!selectors.some((s) => matchesLabels(s, labels))) continue;
    for (const r of Array.isArray(other.rules) ? other.rules : []) {
      const key = JSON.stringify(r);
      if (!seen.has(key)) {
        seen.add(key);
        rules.push(r);
      }
    }
  }
  return rules;
}

/**
 * Keeps `rbac` equal to the cluster's RBAC objects from now on (loading the current ones first),
 * and aggregated ClusterRoles' rules up to date. Returns the function that stops it.
 */
export function syncRbac(cluster: Cluster, rbac: Rbac, log: (line: string) => void): () => void {
  const put = (resource: RbacResource, o: KubeObject) => {
    const problem = rbac.putObject(resource, o);
    if (problem) log(`apiserver: ${resource} ${o.metadata.name} left out of authorization: ${problem}`);
  };
  for (const r of RBAC_RESOURCES) for (const o of cluster.list(r)) put(r, o);
  let aggregating = false;
  const aggregate = () => {
    // Updating an aggregated role is itself a ClusterRole change: one pass at a time.
    if (aggregating) return;
    aggregating = true;
    try {
      for (let pass = 0; pass < 5; pass++) {
        const all = cluster.list("clusterroles");
        let changed = false;
        for (const role of all) {
          const rules = aggregatedRules(role, all);
          if (!rules || JSON.stringify(rules) === JSON.stringify(role.rules ?? [])) continue;
          cluster.update("clusterroles", undefined, role.metadata.name, { ...role, rules });
          changed = true;
        }
        if (!changed) break;
      }
    } finally {
      aggregating = false;
    }
  };
  const stops = RBAC_RESOURCES.map((r) =>
    cluster.subscribe(r, (e) => {
      const o = e.object;
      if (e.type === "DELETED") rbac.deleteObject(r, o.namespace, o.name);
      else put(r, o.object());
      if (r === "clusterroles") aggregate();
    }),
  );
  aggregate();
  return () => {
    for (const stop of stops) stop();
  };
}
