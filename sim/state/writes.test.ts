// The API's writes on the cluster: namespaces, defaults and generation, updates that change nothing,
// patches, status, Terminating namespaces and garbage collection by ownerReferences.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Cluster, type WatchEvent } from "./cluster.ts";

// biome-ignore lint/suspicious/noExplicitAny: objects are read field by field
type Json = any;

const deployment = (name: string, args: string[]) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "c", image: "img:v1", args }] },
    },
  },
});

test("the system namespaces exist; a namespaced object needs its namespace", async () => {
  const c = new Cluster({ nodes: [], pods: [] });
  assert.deepEqual(
    c.list("namespaces").map((n) => [n.metadata.name, (n.status as Json).phase]),
    [
      ["default", "Active"],
      ["kube-node-lease", "Active"],
      ["kube-public", "Active"],
      ["kube-system", "Active"],
    ],
  );
  await assert.rejects(c.create("configmaps", "nowhere", { metadata: { name: "x" } }), {
    code: 404,
    message: 'namespaces "nowhere" not found',
  });
  await assert.rejects(c.create("clusterroles", undefined, { metadata: { name: "a/b" } }), { code: 422 });
  assert.ok(await c.create("clusterroles", undefined, { metadata: { name: "system:x" }, rules: [] }));
});

test("deployments: kube's defaults, a generation that counts spec changes, no write when nothing changes", async () => {
  const c = new Cluster({ nodes: [], pods: [] });
  const events: WatchEvent[] = [];
  c.subscribe("deployments", (e) => events.push(e));
  const created = (await c.create("deployments", "default", deployment("d", ["--a"]))) as Json;
  assert.equal(created.metadata.generation, 1);
  assert.equal(created.spec.replicas, 1);
  assert.deepEqual(created.spec.strategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
  });
  assert.equal(created.spec.template.spec.containers[0].imagePullPolicy, "IfNotPresent");
  await assert.rejects(
    c.create("deployments", "default", { ...deployment("e", []), spec: { template: {} } }),
    (err: Json) => {
      assert.equal(err.code, 422);
      assert.match(err.message, /spec.selector: Required value/);
      assert.deepEqual(err.details.causes, [
        { reason: "FieldValueRequired", message: "Required value", field: "spec.selector" },
      ]);
      return true;
    },
  );

  const same = c.update("deployments", "default", "d", created) as Json;
  assert.equal(same.metadata.resourceVersion, created.metadata.resourceVersion);
  const labelled = c.patch("deployments", "default", "d", "application/merge-patch+json", {
    metadata: { labels: { x: "y" } },
  }) as Json;
  assert.equal(labelled.metadata.generation, 1, "metadata changes do not count");
  const changed = c.patch("deployments", "default", "d", "application/strategic-merge-patch+json", {
    spec: { template: { spec: { containers: [{ name: "c", args: ["--b"] }] } } },
  }) as Json;
  assert.equal(changed.metadata.generation, 2);
  assert.deepEqual(changed.spec.template.spec.containers[0].args, ["--b"]);
  assert.equal(changed.spec.template.spec.containers[0].image, "img:v1");
  assert.throws(() => c.update("deployments", "default", "d", created), { code: 409 });

  const status = c.patch(
    "deployments",
    "default",
    "d",
    "application/merge-patch+json",
    { status: { replicas: 1 }, spec: { replicas: 5 } },
    "status",
  ) as Json;
  assert.deepEqual(status.status, { replicas: 1 });
  assert.equal(status.spec.replicas, 1, "the status subresource leaves spec alone");
  assert.deepEqual(
    events.map((e) => e.type),
    ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED"],
  );
});

test("deleting an owner deletes its dependents unless orphaned; a namespace is Terminating first", async () => {
  const c = new Cluster({ nodes: [], pods: [] }, { namespaceFinalizeDelayMs: 10 });
  await c.create("namespaces", undefined, { metadata: { name: "team" } });
  const owner = await c.create("configmaps", "team", { metadata: { name: "owner" } });
  const ref = { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid };
  await c.create("secrets", "team", { metadata: { name: "dependent", ownerReferences: [ref] } });
  await c.create("secrets", "team", { metadata: { name: "orphan-me", ownerReferences: [ref] } });
  await c.delete("configmaps", "team", "owner");
  assert.equal(c.get("secrets", "team", "dependent"), undefined);
  assert.equal(c.get("secrets", "team", "orphan-me"), undefined);

  const owner2 = await c.create("configmaps", "team", { metadata: { name: "owner2" } });
  await c.create("secrets", "team", {
    metadata: { name: "kept", ownerReferences: [{ ...ref, name: "owner2", uid: owner2.metadata.uid }] },
  });
  await c.delete("configmaps", "team", "owner2", { propagationPolicy: "Orphan" });
  assert.ok(c.get("secrets", "team", "kept"));

  const terminating = (await c.delete("namespaces", undefined, "team")) as Json;
  assert.equal(terminating.status.phase, "Terminating");
  assert.ok(terminating.metadata.deletionTimestamp);
  await assert.rejects(c.create("configmaps", "team", { metadata: { name: "late" } }), {
    code: 403,
    message: /being terminated/,
  });
  const deadline = Date.now() + 5000;
  while (c.get("namespaces", undefined, "team") && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  assert.equal(c.get("namespaces", undefined, "team"), undefined);
  assert.equal(c.get("secrets", "team", "kept"), undefined, "the namespace took its objects");
});

test("secrets: stringData becomes data; namespaces get their finalizer", async () => {
  const c = new Cluster({ nodes: [], pods: [] });
  const s = (await c.create("secrets", "default", {
    metadata: { name: "s" },
    stringData: { k: "v" },
  })) as Json;
  assert.deepEqual(s.data, { k: Buffer.from("v").toString("base64") });
  assert.equal(s.type, "Opaque");
  assert.equal(s.stringData, undefined);
  const ns = (await c.create("namespaces", undefined, { metadata: { name: "n" } })) as Json;
  assert.deepEqual(ns.spec.finalizers, ["kubernetes"]);
});

test("RBAC objects are validated as kube-apiserver validates them", async () => {
  const c = new Cluster({ nodes: [], pods: [] });
  await assert.rejects(
    c.create("clusterroles", undefined, {
      metadata: { name: "r" },
      rules: [{ apiGroups: [""], resources: ["pods"] }],
    }),
    {
      code: 422,
      message: /rules\[0\]\.verbs: Required value/,
    },
  );
  await assert.rejects(
    c.create("roles", "default", {
      metadata: { name: "r" },
      rules: [{ nonResourceURLs: ["/x"], verbs: ["get"] }],
    }),
    { code: 422 },
  );
  const binding = {
    metadata: { name: "b" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "User", name: "u" }],
  };
  await assert.rejects(
    c.create("clusterrolebindings", undefined, { ...binding, roleRef: { kind: "Role", name: "x" } }),
    { code: 422 },
  );
  await assert.rejects(
    c.create("clusterrolebindings", undefined, { ...binding, subjects: [{ kind: "Robot", name: "r" }] }),
    { code: 422 },
  );
  const created = await c.create("clusterrolebindings", undefined, binding);
  assert.throws(
    () =>
      c.update("clusterrolebindings", undefined, "b", {
        ...created,
        roleRef: { ...binding.roleRef, name: "edit" },
      }),
    {
      code: 422,
      message: /cannot change roleRef/,
    },
  );
});

test("pods posted with an owner keep their owner, spec and annotations, and go with the owner", async () => {
  const node = {
    name: "n1",
    uid: "uid-n1",
    labels: {},
    internalIP: "127.9.1.1",
    hostname: "n1",
    kubeletPort: 10250,
    cpuCores: 2,
    memoryBytes: 2 ** 32,
    overheadCpuMilli: 100,
    overheadMemoryBytes: 2 ** 28,
    bootTimeMs: 0,
    creationTimestampMs: 0,
    ready: true,
  };
  const c = new Cluster({ nodes: [node], pods: [] });
  const d = await c.create("deployments", "kube-system", deployment("ms", ["--a"]));
  const pod = (await c.create("pods", "kube-system", {
    metadata: {
      name: "ms-1",
      annotations: { note: "x" },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "Deployment", name: "ms", uid: d.metadata.uid, controller: true },
      ],
    },
    spec: {
      nodeName: "n1",
      serviceAccountName: "metrics-server",
      containers: [{ name: "c", image: "img:v1", args: ["--a"], resources: { requests: { cpu: "100m" } } }],
    },
  })) as Json;
  assert.equal(pod.metadata.ownerReferences[0].uid, d.metadata.uid);
  assert.equal(pod.metadata.annotations.note, "x");
  assert.equal(pod.spec.serviceAccountName, "metrics-server");
  assert.deepEqual(pod.spec.containers[0].args, ["--a"]);
  assert.equal(c.podsOnNode("n1")[0].containers[0].cpuMilli, 100);
  const running = c.setPodPhase("kube-system", "ms-1", "Failed") as Json;
  assert.deepEqual(running.spec.containers[0].args, ["--a"], "a status change keeps the posted spec");
  await c.delete("deployments", "kube-system", "ms");
  assert.equal(c.get("pods", "kube-system", "ms-1"), undefined);
  assert.deepEqual(c.podsOnNode("n1"), []);
});
