import assert from "node:assert/strict";
import { test } from "node:test";
import type { Scenario, SimNode, SimPod } from "../types.ts";
import { Cluster, type WatchEvent } from "./cluster.ts";
import { ApiError } from "./errors.ts";
import { nodeToJson, podToJson } from "./objects.ts";

// Decoded API responses are checked field by field; typing every shape would add nothing.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Json = any;

const NOW = Date.parse("2025-06-01T12:00:00Z");

function node(name: string, overrides: Partial<SimNode> = {}): SimNode {
  return {
    name,
    uid: `uid-${name}`,
    labels: { "kubernetes.io/hostname": name },
    internalIP: "127.9.1.1",
    hostname: name,
    kubeletPort: 10250,
    cpuCores: 8,
    memoryBytes: 32 * 1024 ** 3,
    overheadCpuMilli: 100,
    overheadMemoryBytes: 512 * 1024 ** 2,
    bootTimeMs: NOW - 3_600_000,
    creationTimestampMs: NOW - 3_600_000,
    ready: true,
    ...overrides,
  };
}

function pod(name: string, nodeName: string, overrides: Partial<SimPod> = {}): SimPod {
  return {
    namespace: "default",
    name,
    uid: `uid-${name}`,
    nodeName,
    labels: { app: name },
    phase: "Running",
    creationTimestampMs: NOW - 60_000,
    startTimeMs: NOW - 60_000,
    containers: [{ name: "main", cpuMilli: 250, memoryBytes: 64 * 1024 ** 2, startTimeMs: NOW - 50_000 }],
    initContainers: [],
    ...overrides,
  };
}

const scenario = (): Scenario => ({
  nodes: [node("node-a"), node("node-b", { internalIP: "127.9.1.2", ready: false })],
  pods: [pod("web", "node-a"), pod("db", "node-b"), pod("api", "node-a")],
});

test("node JSON carries what metrics-server and kubectl read", () => {
  const j = nodeToJson(node("node-a", { cpuCores: 8, memoryBytes: 32 * 1024 ** 3 }), 42, NOW) as Json;
  assert.equal(j.kind, "Node");
  assert.equal(j.metadata.resourceVersion, "42");
  assert.equal(j.metadata.creationTimestamp, "2025-06-01T11:00:00Z");
  assert.deepEqual(j.status.addresses, [
    { type: "InternalIP", address: "127.9.1.1" },
    { type: "Hostname", address: "node-a" },
  ]);
  assert.equal(j.status.daemonEndpoints.kubeletEndpoint.Port, 10250);
  assert.equal(j.status.capacity.cpu, "8");
  assert.equal(j.status.capacity.memory, "32Gi");
  assert.equal(j.status.capacity.pods, "110");
  assert.deepEqual(j.status.allocatable, j.status.capacity);
  assert.equal(j.status.conditions.find((c: Json) => c.type === "Ready").status, "True");
  const notReady = nodeToJson(node("x", { ready: false }), 1, NOW) as Json;
  assert.equal(notReady.status.conditions.find((c: Json) => c.type === "Ready").status, "False");
  assert.equal(j.status.nodeInfo.operatingSystem, "linux");
});

test("pod JSON: requests, sidecars as restartable init containers, statuses", () => {
  const p = pod("web", "node-a", {
    initContainers: [
      { name: "init", cpuMilli: 5, memoryBytes: 1024 ** 2, startTimeMs: NOW - 59_000, sidecar: false },
      { name: "proxy", cpuMilli: 20, memoryBytes: 32 * 1024 ** 2, startTimeMs: NOW - 58_000, sidecar: true },
    ],
  });
  const j = podToJson(p, 7, "127.9.1.1") as Json;
  assert.equal(j.spec.nodeName, "node-a");
  assert.deepEqual(j.spec.containers[0].resources.requests, { cpu: "250m", memory: "64Mi" });
  assert.equal(j.spec.initContainers[0].restartPolicy, undefined);
  assert.equal(j.spec.initContainers[1].restartPolicy, "Always");
  assert.equal(j.status.phase, "Running");
  assert.equal(j.status.hostIP, "127.9.1.1");
  assert.equal(j.status.startTime, "2025-06-01T11:59:00Z");
  assert.ok(j.status.containerStatuses[0].state.running);
  assert.equal(j.status.initContainerStatuses[0].state.terminated.reason, "Completed");
  assert.ok(j.status.initContainerStatuses[1].state.running);
  assert.equal(j.status.conditions.find((c: Json) => c.type === "Ready").status, "True");
  const done = podToJson({ ...p, phase: "Succeeded" }, 8, undefined) as Json;
  assert.equal(done.status.containerStatuses[0].state.terminated.exitCode, 0);
  assert.equal(done.status.conditions.find((c: Json) => c.type === "Ready").status, "False");
});

test("KubeletView: node() and podsOnNode() follow changes", async () => {
  const c = new Cluster(scenario(), { now: () => NOW });
  assert.equal(c.node("node-b")?.ready, false);
  assert.deepEqual(
    c.podsOnNode("node-a").map((p) => p.name),
    ["web", "api"],
  );
  assert.deepEqual(c.podsOnNode("nowhere"), []);
  await c.delete("pods", "default", "web");
  assert.deepEqual(
    c.podsOnNode("node-a").map((p) => p.name),
    ["api"],
  );
  c.addPod(pod("moved", "node-b"));
  assert.equal(c.podsOnNode("node-b").length, 2);
  assert.equal(c.scenario().pods.length, 3);
});

test("resourceVersion increases with every change and watch events carry it", async () => {
  const c = new Cluster(scenario(), { now: () => NOW });
  // 2 nodes and 3 pods, then the 4 namespaces kube-apiserver creates at start.
  assert.equal(c.resourceVersion, 9);
  const seen: WatchEvent[] = [];
  const stop = c.subscribe("nodes", (e) => seen.push(e));
  c.setNodeReady("node-b", true);
  await c.delete("nodes", undefined, "node-a");
  stop();
  c.setNodeReady("node-b", false);
  assert.deepEqual(
    seen.map((e) => [e.type, e.object.name, e.resourceVersion]),
    [
      ["MODIFIED", "node-b", 10],
      ["DELETED", "node-a", 11],
    ],
  );
  assert.equal(seen[0].previous?.resourceVersion, "2");
  assert.equal(seen[1].object.resourceVersion, "11");
  assert.deepEqual(
    c.eventsSince("nodes", 5).map((e) => e.resourceVersion),
    [10, 11, 12],
  );
  assert.deepEqual(
    c.eventsSince("pods", 3).map((e) => e.object.name),
    ["db", "api"],
  );
});

test("the bounded history answers 410 Expired for versions it no longer holds", () => {
  const c = new Cluster(scenario(), { historyLimit: 4, now: () => NOW });
  for (let i = 0; i < 6; i++) c.setNodeReady("node-a", i % 2 === 0);
  // 15 events, 4 kept: versions 12..15; a watch may resume from 11.
  assert.equal(c.oldestResumableVersion, 11);
  assert.equal(c.eventsSince("nodes", 11).length, 4);
  assert.throws(
    () => c.eventsSince("nodes", 3),
    (err: unknown) =>
      err instanceof ApiError && err.code === 410 && err.message === "too old resource version: 3 (11)",
  );
});

test("create: metadata filled in, duplicates 409, invalid 422, hooks for nodes", async () => {
  const c = new Cluster(scenario(), { now: () => NOW, allocateNodeIP: (i) => `127.9.1.${i + 1}` });
  const added: string[] = [];
  const removed: string[] = [];
  c.hooks = {
    nodeAdded: (n) => void added.push(`${n.name}@${n.internalIP}`),
    nodeRemoved: (n) => void removed.push(n),
  };
  const svc = await c.create("services", "kube-system", {
    metadata: { name: "metrics-server" },
    spec: { ports: [{ name: "https", port: 443 }] },
  });
  assert.equal(svc.metadata.namespace, "kube-system");
  assert.match(svc.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.equal(svc.metadata.creationTimestamp, "2025-06-01T12:00:00Z");
  assert.equal((svc.spec as Json).ports[0].targetPort, 443);
  await assert.rejects(
    c.create("services", "kube-system", { metadata: { name: "metrics-server" } }),
    (e: unknown) =>
      e instanceof ApiError && e.code === 409 && e.message === 'services "metrics-server" already exists',
  );
  await assert.rejects(c.create("pods", "default", { metadata: { name: "Bad_Name" } }), { code: 422 });
  await assert.rejects(c.create("pods", "default", "nope"), { code: 400 });
  await assert.rejects(
    c.create("apiservices", undefined, {
      metadata: { name: "wrong" },
      spec: { group: "metrics.k8s.io", version: "v1beta1" },
    }),
    { code: 422 },
  );
  const n = await c.create("nodes", undefined, {
    metadata: { name: "node-c" },
    status: { capacity: { cpu: "4", memory: "8Gi" } },
  });
  assert.deepEqual(added, ["node-c@127.9.1.3"]);
  assert.equal((n.status as Json).capacity.memory, "8Gi");
  assert.equal(c.node("node-c")?.cpuCores, 4);
  const p = await c.create("pods", "default", {
    metadata: { name: "posted", labels: { a: "b" } },
    spec: {
      nodeName: "node-c",
      containers: [{ name: "x", resources: { requests: { cpu: "0.5", memory: "100Mi" } } }],
    },
  });
  assert.equal((p.status as Json).phase, "Running");
  assert.deepEqual(
    c.podsOnNode("node-c").map((x) => [x.name, x.containers[0].cpuMilli, x.containers[0].memoryBytes]),
    [["posted", 500, 100 * 1024 ** 2]],
  );
  await c.delete("nodes", undefined, "node-c");
  assert.deepEqual(removed, ["node-c"]);
  await assert.rejects(c.delete("nodes", undefined, "node-c"), {
    code: 404,
    message: 'nodes "node-c" not found',
  });
  await assert.rejects(c.delete("apiservices", undefined, "v1.x"), {
    message: 'apiservices.apiregistration.k8s.io "v1.x" not found',
  });
});

test("compact drops the whole history: every earlier resourceVersion is 410, the current one is not", async () => {
  const c = new Cluster(scenario(), { now: () => NOW });
  const early = c.resourceVersion;
  c.setNodeReady("node-a", false);
  const rv = c.compact();
  assert.equal(rv, c.resourceVersion);
  assert.equal(c.oldestResumableVersion, rv);
  assert.throws(
    () => c.eventsSince("nodes", early),
    (err: ApiError) => err.code === 410,
  );
  assert.throws(
    () => c.eventsSince("nodes", rv - 1),
    (err: ApiError) => err.code === 410,
  );
  assert.deepEqual(c.eventsSince("nodes", rv), []);
  c.setNodeReady("node-a", true);
  assert.equal(c.eventsSince("nodes", rv).length, 1);
});

test("node JSON: configured addresses replace the defaults; the metrics path becomes the annotation", () => {
  const n = scenario().nodes[0];
  const j = nodeToJson(
    {
      ...n,
      addresses: [
        { type: "ExternalIP", address: "127.9.250.250" },
        { type: "InternalIP", address: n.internalIP },
      ],
      resourceMetricsPath: "/custom",
    },
    5,
    NOW,
  ) as Json;
  assert.deepEqual(j.status.addresses, [
    { type: "ExternalIP", address: "127.9.250.250" },
    { type: "InternalIP", address: n.internalIP },
  ]);
  assert.equal(j.metadata.annotations["metrics.k8s.io/resource-metrics-path"], "/custom");
  assert.equal(
    (nodeToJson(n, 5, NOW) as Json).metadata.annotations["metrics.k8s.io/resource-metrics-path"],
    undefined,
  );
});

test("a node created through the API keeps its addresses and path annotation, and publishes the kubelet's port", async () => {
  const c = new Cluster(scenario(), { now: () => NOW });
  c.hooks = { nodeAdded: () => 41234 };
  const created = (await c.create("nodes", undefined, {
    metadata: { name: "posted", annotations: { "metrics.k8s.io/resource-metrics-path": "/m" } },
    status: {
      addresses: [
        { type: "ExternalIP", address: "127.9.9.8" },
        { type: "InternalIP", address: "127.9.9.9" },
        { type: "Bogus", address: "x" },
      ],
    },
  })) as Json;
  assert.equal(created.status.daemonEndpoints.kubeletEndpoint.Port, 41234);
  assert.deepEqual(
    created.status.addresses.map((a: Json) => a.type),
    ["ExternalIP", "InternalIP"],
  );
  assert.equal(created.metadata.annotations["metrics.k8s.io/resource-metrics-path"], "/m");
  assert.equal(c.node("posted")?.internalIP, "127.9.9.9");
  assert.equal(c.node("posted")?.kubeletPort, 41234);
  await assert.rejects(
    c.create("nodes", undefined, {
      metadata: { name: "bad-ip" },
      status: { addresses: [{ type: "InternalIP", address: "not-an-ip" }] },
    }),
    (err: ApiError) => err.code === 422 && /must be a valid IP address/.test(err.message),
  );
});

test("update (PUT): spec replaced, status and identity kept, stale resourceVersion 409, nodes refused", async () => {
  const c = new Cluster(scenario(), { now: () => NOW });
  const created = await c.create("apiservices", undefined, {
    metadata: { name: "v1beta1.metrics.k8s.io" },
    spec: {
      service: { name: "metrics-server", namespace: "kube-system" },
      group: "metrics.k8s.io",
      version: "v1beta1",
      insecureSkipTLSVerify: true,
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  });
  c.updateStatus("apiservices", undefined, "v1beta1.metrics.k8s.io", { conditions: [{ type: "Available" }] });
  const current = c.mustGet("apiservices", undefined, "v1beta1.metrics.k8s.io");
  const spec = { ...(current.spec as object), insecureSkipTLSVerify: false, caBundle: "Zm9v" };
  const updated = c.update("apiservices", undefined, "v1beta1.metrics.k8s.io", { ...current, spec });
  assert.equal((updated.spec as { caBundle: string }).caBundle, "Zm9v");
  assert.equal(updated.metadata.uid, created.metadata.uid);
  assert.deepEqual(updated.status, current.status);
  assert.ok(Number(updated.metadata.resourceVersion) > Number(current.metadata.resourceVersion));
  assert.throws(
    () => c.update("apiservices", undefined, "v1beta1.metrics.k8s.io", { ...current, spec }),
    (e: { code?: number; status?: number }) => (e.code ?? e.status) === 409,
  );
  assert.throws(() => c.update("nodes", undefined, "n1", { metadata: { name: "n1" } }));
});

test("restartContainer: a new start time, restartCount + 1, lastState the run that ended", () => {
  const c = new Cluster(scenario(), { now: () => NOW });
  const json: Json = c.restartContainer("default", "web", "main");
  const [status] = json.status.containerStatuses;
  assert.equal(status.restartCount, 1);
  assert.equal(status.state.running.startedAt, "2025-06-01T12:00:00Z");
  assert.deepEqual(status.lastState.terminated, {
    exitCode: 137,
    reason: "Error",
    startedAt: "2025-06-01T11:59:10Z",
    finishedAt: "2025-06-01T12:00:00Z",
  });
  assert.equal(c.pod("default", "web")?.containers[0].startTimeMs, NOW, "the kubelet sees the new start");
  assert.equal(
    (c.restartContainer("default", "web", "main") as Json).status.containerStatuses[0].restartCount,
    2,
  );
  assert.throws(() => c.restartContainer("default", "web", "nope"), /has no container "nope"/);
  assert.throws(() => c.restartContainer("default", "gone", "main"), ApiError);
});
