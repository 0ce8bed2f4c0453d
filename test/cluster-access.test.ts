// How the metrics-server reaches the API server and keeps its view of the cluster: an exec
// credential plugin kubeconfig, watches that drop and expire (410 Gone) while nodes and pods come and
// go, and an API server without PartialObjectMetadata support.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { type AdminCredentials, apiRequest, readAdminCredentials } from "../scripts/cluster.ts";
import { type Cluster, logLines, metricsItems, startCluster, waitForNodes } from "./support/cluster.ts";
import { poll } from "./support/poll.ts";

// An exec credential plugin, as cloud providers ship them: prints an ExecCredential with the
// simulator's admin token and records each run, so the test can tell the plugin was used.
const PLUGIN = `
import { appendFileSync, readFileSync } from "node:fs";
const dir = process.argv[2];
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO ?? "{}");
appendFileSync(dir + "/exec-runs", JSON.stringify({ interactive: info.spec?.interactive, server: info.spec?.cluster?.server }) + "\\n");
process.stdout.write(JSON.stringify({
  apiVersion: "client.authentication.k8s.io/v1",
  kind: "ExecCredential",
  status: {
    token: readFileSync(dir + "/admin-token", "utf8").trim(),
    expirationTimestamp: new Date(Date.now() + 3600_000).toISOString().replace(/\\.\\d+Z$/, "Z"),
  },
}));
`;

function execKubeconfig(dir: string): string {
  const creds = readAdminCredentials(join(dir, "kubeconfig"));
  writeFileSync(join(dir, "exec-plugin.mjs"), PLUGIN);
  writeFileSync(join(dir, "exec-runs"), "");
  const path = join(dir, "exec-kubeconfig");
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "sim",
          cluster: { server: creds.server, "certificate-authority": join(dir, "pki", "ca.crt") },
        },
      ],
      users: [
        {
          name: "exec",
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1",
              command: process.execPath,
              args: [join(dir, "exec-plugin.mjs"), dir],
              interactiveMode: "Never",
              provideClusterInfo: true,
            },
          },
        },
      ],
      contexts: [{ name: "sim", context: { cluster: "sim", user: "exec" } }],
      "current-context": "sim",
    }),
  );
  return path;
}

test("an exec credential plugin kubeconfig: the plugin's token reaches the API server", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "2", "--seed", "31"],
    resolution: "4s",
    serverKubeconfig: execKubeconfig,
  });
  await waitForNodes(
    c,
    c.truth.nodes.map((n) => n.name),
  );
  const runs = readFileSync(join(c.dir, "exec-runs"), "utf8").trim().split("\n").filter(Boolean);
  assert.ok(runs.length >= 1, "the plugin ran");
  // Cached until its expiry: not once per request (two reflectors, several lists and watches).
  assert.ok(runs.length <= 2, `the credential is cached, ran ${runs.length} times`);
  const first = JSON.parse(runs[0]!) as { interactive: boolean; server: string };
  assert.equal(first.interactive, false);
  assert.equal(
    first.server,
    readAdminCredentials(c.kubeconfig).server,
    "provideClusterInfo passes the server",
  );
  assert.deepEqual(
    c.server.lines().filter((l) => l.startsWith("E")),
    [],
    "no error lines",
  );
});

const post = (creds: AdminCredentials, path: string, body?: unknown) => apiRequest(creds, "POST", path, body);

async function podNames(c: Cluster): Promise<Set<string> | undefined> {
  const items = await metricsItems(c.kubeconfig, "pods");
  return items && new Set(items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
}

function nodeObject(c: Cluster, name: string, ip: string): unknown {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    status: {
      addresses: [{ type: "InternalIP", address: `${c.ipBase}.${ip}` }],
      capacity: { cpu: "4", memory: "8Gi" },
      allocatable: { cpu: "4", memory: "8Gi" },
    },
  };
}

function podObject(name: string, node: string): unknown {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: name } },
    spec: {
      nodeName: node,
      containers: [{ name: "main", image: "x", resources: { requests: { cpu: "100m", memory: "32Mi" } } }],
    },
  };
}

test("after dropped watches and a 410 Gone, new and deleted nodes and pods are still seen", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "2", "--seed", "32"],
    resolution: "4s",
    serverArgs: ["--v=2"],
  });
  const creds = readAdminCredentials(c.kubeconfig);
  const original = c.truth.nodes.map((n) => n.name);
  await waitForNodes(c, original);
  const running = c.truth.pods.filter((p) => p.phase === "Running");
  assert.ok(running.length >= 2, "the scenario has running pods");

  // 1. Every watch stream ends; the reflectors resume from their resourceVersion.
  const dropped = await post(creds, "/sim/watches/drop");
  assert.equal(dropped.status, 200, dropped.body);
  assert.ok((JSON.parse(dropped.body) as { dropped: number }).dropped >= 2, dropped.body);
  assert.equal((await post(creds, "/api/v1/nodes", nodeObject(c, "late-1", "100.1"))).status, 201);
  assert.equal(
    (await post(creds, "/api/v1/namespaces/default/pods", podObject("late-pod-1", "late-1"))).status,
    201,
  );
  const gone = running[0]!;
  const del = await apiRequest(creds, "DELETE", `/api/v1/namespaces/${gone.namespace}/pods/${gone.name}`);
  assert.equal(del.status, 200, del.body);
  await waitForNodes(c, [...original, "late-1"], "the node created after the drop");
  await poll("the new pod served, the deleted one not", async () => {
    const names = await podNames(c);
    return names?.has("default/late-pod-1") && !names.has(`${gone.namespace}/${gone.name}`)
      ? true
      : undefined;
  });

  // 2. The history is compacted past what the reflectors have seen (a Service moves the global
  // resourceVersion without an event for them), so resuming their watches gets 410 Gone: they relist.
  const svc = await post(creds, "/api/v1/namespaces/default/services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "bump" },
    spec: { ports: [{ name: "http", port: 80 }] },
  });
  assert.equal(svc.status, 201, svc.body);
  assert.equal((await post(creds, "/sim/compact")).status, 200);
  assert.equal((await post(creds, "/sim/watches/drop")).status, 200);
  await poll("both reflectors relist after 410 Gone", async () => {
    const relisted = ["nodes", "pods"].every(
      (reflector) => logLines(c, "Watch expired, relisting", { reflector }).length > 0,
    );
    return relisted ? true : undefined;
  });
  const delNode = await apiRequest(creds, "DELETE", "/api/v1/nodes/late-1");
  assert.equal(delNode.status, 200, delNode.body);
  assert.equal(
    (await post(creds, "/api/v1/namespaces/default/pods", podObject("late-pod-2", original[0]!))).status,
    201,
  );
  await waitForNodes(c, original, "the node deleted after the relist gone");
  await poll("the pod created after the relist", async () =>
    (await podNames(c))?.has("default/late-pod-2") ? true : undefined,
  );
  assert.deepEqual(
    c.server.lines().filter((l) => l.startsWith("E") && !l.includes("late-1")),
    [],
    "no error lines except a scrape of the deleted node in flight",
  );
});

test("an API server without PartialObjectMetadata: pods come as full objects and are still served", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "2", "--pods-per-node", "3", "--seed", "33", "--no-partial-metadata"],
    resolution: "4s",
  });
  const running = c.truth.pods.filter((p) => p.phase === "Running");
  await poll("every running pod served", async () => {
    const names = await podNames(c);
    return names && running.every((p) => names.has(`${p.namespace}/${p.name}`)) ? true : undefined;
  });
  assert.equal(logLines(c, "API server serves full objects instead of PartialObjectMetadata").length, 1);
});
