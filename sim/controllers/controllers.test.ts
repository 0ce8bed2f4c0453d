import assert from "node:assert/strict";
import { test } from "node:test";
import { Cluster, type KubeObject } from "../state/index.ts";
import type { SimNode } from "../types.ts";
import { planRollout } from "./deployment.ts";
import { startControllers } from "./index.ts";
import { unschedulableMessage } from "./scheduler.ts";

function node(name: string, i: number, labels: Record<string, string> = {}): SimNode {
  return {
    name,
    uid: `uid-${name}`,
    labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", ...labels },
    internalIP: `127.9.0.${i + 10}`,
    hostname: name,
    kubeletPort: 10250,
    cpuCores: 4,
    memoryBytes: 8 << 30,
    overheadCpuMilli: 100,
    overheadMemoryBytes: 1 << 28,
    bootTimeMs: 0,
    creationTimestampMs: 0,
    ready: true,
  };
}

const LABELS = { "k8s-app": "metrics-server" };

function deployment(replicas: number, arg = "--a"): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "metrics-server", namespace: "kube-system", labels: LABELS },
    spec: {
      replicas,
      selector: { matchLabels: LABELS },
      strategy: { rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: LABELS },
        spec: {
          nodeSelector: { "kubernetes.io/os": "linux" },
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                {
                  labelSelector: { matchLabels: LABELS },
                  namespaces: ["kube-system"],
                  topologyKey: "kubernetes.io/hostname",
                },
              ],
            },
          },
          containers: [
            {
              name: "metrics-server",
              image: "x",
              args: [arg],
              ports: [{ name: "https", containerPort: 10250 }],
            },
          ],
        },
      },
    },
  };
}

/** Plays the kubelet: gives every bound pod an IP and the readiness `ready(pod)` says. */
function runPods(cluster: Cluster, ready: (p: KubeObject) => boolean): void {
  let i = 0;
  for (const p of cluster.list("pods", "kube-system")) {
    const sim = cluster.pod("kube-system", p.metadata.name)!;
    i++;
    if (!sim.nodeName || !sim.api) continue;
    const ok = ready(p) ? "True" : "False";
    cluster.addPod({
      ...sim,
      phase: "Running",
      api: {
        ...sim.api,
        status: {
          phase: "Running",
          podIP: `127.9.250.${i}`,
          conditions: [
            { type: "Ready", status: ok },
            { type: "PodScheduled", status: "True" },
          ],
        },
      },
    });
  }
}

function msPods(cluster: Cluster): KubeObject[] {
  return cluster.list("pods", "kube-system");
}

test("a Deployment becomes spread pods, Endpoints follow readiness, status follows the pods", async (t) => {
  const cluster = new Cluster({
    nodes: [node("a", 0), node("b", 1), node("c", 2, { "kubernetes.io/os": "windows" })],
    pods: [],
  });
  const cp = startControllers(cluster, () => {});
  t.after(() => cp.close());
  await cluster.create("services", "kube-system", {
    metadata: { name: "metrics-server", labels: LABELS },
    spec: { selector: LABELS, ports: [{ name: "https", port: 443, targetPort: "https" }] },
  });
  await cluster.create("deployments", "kube-system", deployment(2));
  await cp.idle();
  const pods = msPods(cluster);
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.match(p.metadata.name, /^metrics-server-[b-z2-9]+-[b-z2-9]{5}$/);
    assert.equal((p.metadata.ownerReferences as { kind: string }[])[0].kind, "Deployment");
    assert.ok(p.metadata.labels?.["pod-template-hash"]);
  }
  const nodes = pods.map((p) => (p.spec as { nodeName: string }).nodeName).sort();
  assert.deepEqual(nodes, ["a", "b"], "anti-affinity spreads over the two linux nodes");

  runPods(cluster, () => false);
  await cp.idle();
  let eps = cluster.get("endpoints", "kube-system", "metrics-server")!;
  const [subset] = eps.subsets as { addresses?: unknown[]; notReadyAddresses: unknown[]; ports: unknown[] }[];
  assert.equal(subset.addresses, undefined);
  assert.equal(subset.notReadyAddresses.length, 2);
  assert.deepEqual(subset.ports, [{ name: "https", port: 10250, protocol: "TCP" }]);

  runPods(cluster, () => true);
  await cp.idle();
  eps = cluster.get("endpoints", "kube-system", "metrics-server")!;
  assert.equal((eps.subsets as { addresses: unknown[] }[])[0].addresses.length, 2);
  const status = cluster.get("deployments", "kube-system", "metrics-server")!.status as Record<
    string,
    unknown
  >;
  assert.equal(status.readyReplicas, 2);
  assert.equal(status.updatedReplicas, 2);
  const conds = status.conditions as { type: string; status: string; reason: string }[];
  assert.equal(conds.find((c) => c.type === "Available")?.status, "True");
  assert.equal(conds.find((c) => c.type === "Progressing")?.reason, "NewReplicaSetAvailable");
});

test("a third replica with hostname anti-affinity on two nodes stays Pending: Unschedulable", async (t) => {
  const cluster = new Cluster({
    nodes: [node("a", 0), node("b", 1), node("c", 2, { "kubernetes.io/os": "windows" })],
    pods: [],
  });
  const cp = startControllers(cluster, () => {});
  t.after(() => cp.close());
  await cluster.create("deployments", "kube-system", deployment(3));
  await cp.idle();
  const pending = msPods(cluster).filter((p) => !(p.spec as { nodeName?: string }).nodeName);
  assert.equal(pending.length, 1);
  const cond = ((pending[0].status as { conditions: Record<string, string>[] }).conditions ?? [])[0];
  assert.equal(cond.reason, "Unschedulable");
  assert.equal(
    cond.message,
    "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  );
});

test("a template change rolls out new pods, removing old ones only as new ones are Ready; delete removes pods", async (t) => {
  const cluster = new Cluster({ nodes: [node("a", 0), node("b", 1), node("c", 2), node("d", 3)], pods: [] });
  const cp = startControllers(cluster, () => {});
  t.after(() => cp.close());
  await cluster.create("deployments", "kube-system", deployment(2));
  await cp.idle();
  runPods(cluster, () => true);
  await cp.idle();
  const oldHash = msPods(cluster)[0].metadata.labels?.["pod-template-hash"];
  const d = cluster.get("deployments", "kube-system", "metrics-server")!;
  cluster.update("deployments", "kube-system", "metrics-server", {
    ...deployment(2, "--b"),
    metadata: d.metadata,
  });
  await cp.idle();
  // maxSurge 25% of 2 = 1 new pod; maxUnavailable 1 lets one ready old pod go at once.
  let pods = msPods(cluster);
  const isNew = (p: KubeObject) => p.metadata.labels?.["pod-template-hash"] !== oldHash;
  assert.ok(pods.filter(isNew).length >= 1);
  assert.ok(pods.filter((p) => !isNew(p)).length >= 1, "an old pod stays while no new pod is Ready");
  runPods(cluster, (p) => isNew(p));
  await cp.idle();
  runPods(cluster, () => true);
  await cp.idle();
  pods = msPods(cluster);
  assert.equal(pods.length, 2);
  assert.ok(pods.every(isNew));
  await cluster.delete("deployments", "kube-system", "metrics-server");
  await cp.idle();
  assert.equal(msPods(cluster).length, 0);
});

test("planRollout: surge first, old pods go within maxUnavailable", () => {
  const strategy = { recreate: false, maxSurge: 1, maxUnavailable: 0 };
  const old = [
    { name: "o1", current: false, ready: true },
    { name: "o2", current: false, ready: true },
  ];
  assert.deepEqual(planRollout(old, 2, strategy), { create: 1, remove: [] });
  const withNew = [...old, { name: "n1", current: true, ready: true }];
  assert.deepEqual(planRollout(withNew, 2, strategy), { create: 0, remove: ["o1"] });
  assert.deepEqual(planRollout(old, 2, { ...strategy, recreate: true }), { create: 0, remove: ["o1", "o2"] });
  assert.deepEqual(planRollout([], 3, strategy), { create: 3, remove: [] });
});

test("unschedulableMessage counts reasons in kube-scheduler's order", () => {
  assert.equal(
    unschedulableMessage(2, ["didn't match pod anti-affinity rules", "didn't match pod anti-affinity rules"]),
    "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
  );
});

test("every namespace has a ServiceAccount default, also a new one, and it comes back when deleted", async () => {
  const cluster = new Cluster({ nodes: [], pods: [] });
  const plane = startControllers(cluster, () => {});
  try {
    await plane.idle();
    const namespaces = cluster.list("namespaces").map((n) => n.metadata.name);
    assert.ok(namespaces.includes("kube-system"), namespaces.join(","));
    for (const ns of namespaces) assert.ok(cluster.get("serviceaccounts", ns, "default"), ns);
    await cluster.create("namespaces", undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "team" },
    });
    await plane.idle();
    assert.ok(cluster.get("serviceaccounts", "team", "default"));
    await cluster.delete("serviceaccounts", "team", "default");
    await plane.idle();
    assert.ok(cluster.get("serviceaccounts", "team", "default"), "recreated");
  } finally {
    plane.close();
  }
});
