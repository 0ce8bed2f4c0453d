// The API server misbehaving — down when the metrics-server starts, then failing, throttling,
// expiring and dropping watches, answering lists slowly — never takes the metrics-server down nor
// makes it serve stale objects for good: it keeps serving from its caches, waits when told to,
// picks up what changed once the fault clears, and logs each cause once.
import assert from "node:assert/strict";
import * as https from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import {
  type AdminCredentials,
  apiRequest,
  readAdminCredentials,
  readTruth,
  registerMetricsApi,
} from "../scripts/cluster.ts";
import { type Cluster, metricsItems, startCluster, waitForNodes } from "./support/cluster.ts";
import { randomIpBase } from "./support/loopback.ts";
import { tempDir } from "./support/paths.ts";
import { poll } from "./support/poll.ts";
import { type NodeProcess, startNodeProcess } from "./support/processes.ts";

/** GET on the metrics-server itself, anonymously (health paths need no credentials). */
function direct(address: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const [host, port] = address.split(":");
    const req = https.get({ host, port: Number(port), path, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
  });
}

/** CPU in nanocores and memory in bytes from the quantities the metrics API writes. */
function nanocores(q: string): number {
  const m = /^(\d+)(n|u|m)?$/.exec(q);
  assert.ok(m, `cpu quantity ${q}`);
  return Number(m[1]) * { n: 1, u: 1e3, m: 1e6, "": 1e9 }[m[2] ?? ""]!;
}
function bytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  assert.ok(m, `memory quantity ${q}`);
  return Number(m[1]) * { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, "": 1 }[m[2] ?? ""]!;
}

/** Reflector error lines: each cause (reflector and err) at most once. */
function assertOneLinePerCause(server: NodeProcess): string[] {
  const lines = server.lines().filter((l) => l.startsWith("E") && l.includes(" reflector="));
  const causes = lines.map((l) => `${/reflector="[^"]+"/.exec(l)?.[0]} ${/err="[^"]*"/.exec(l)?.[0]}`);
  assert.equal(new Set(causes).size, causes.length, `one line per cause:\n${lines.join("")}`);
  return lines;
}

test("started while the API server is down: keeps running, not ready, then ready with correct metrics", async (t) => {
  const dir = tempDir(t, "ms-apidown-");
  const ipBase = randomIpBase(t);
  const port = 20000 + Math.floor(Math.random() * 40000);
  const serverIP = `${ipBase}.0.2`;
  const address = `${serverIP}:${port}`;
  const simArgs = ["--nodes", "3", "--pods-per-node", "2", "--seed", "41", "--apiserver-down-for", "40s"];
  await startNodeProcess(
    t,
    "sim/main.ts",
    ["--dir", dir, "--ip-base", ipBase, "--port", String(port + 1), ...simArgs],
    "kube-sim ready:",
  );
  const kubeconfig = join(dir, "kubeconfig");
  const creds = readAdminCredentials(kubeconfig);
  await assert.rejects(apiRequest(creds, "GET", "/version"), "the API server is down");
  const server = await startNodeProcess(
    t,
    "src/cmd/metrics-server/main.ts",
    [
      `--kubeconfig=${kubeconfig}`,
      `--bind-address=${serverIP}`,
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, "certs")}`,
      "--metric-resolution=4s",
      "--kubelet-preferred-address-types=InternalIP",
      "--kubelet-use-node-status-port",
      // No CA flags, as in the manifests: the CAs come from the extension-apiserver-authentication
      // ConfigMap, which cannot be read yet.
    ],
    "Serving securely on",
  );

  // Listening but not ready: the informer checks fail, liveness holds.
  const notReady = await direct(address, "/readyz?verbose");
  const apiStillDown = await apiRequest(creds, "GET", "/version").then(
    () => false,
    () => true,
  );
  if (apiStillDown) {
    assert.equal(notReady.status, 500, notReady.body);
    assert.match(notReady.body, /\[-\]metric-informer-sync failed/);
    assert.match(notReady.body, /\[-\]metadata-informer-sync failed/);
    assert.match(notReady.body, /\[\+\]ping ok/);
    assert.equal((await direct(address, "/livez")).status, 200);
  } else {
    t.diagnostic("the machine was too slow to see the server start while the API server was down");
  }
  assert.equal(server.child.exitCode, null, "the metrics-server keeps running");

  // The API server comes back: the metrics-server syncs, scrapes and serves the truth.
  await poll(
    "the API server back",
    async () => ((await apiRequest(creds, "GET", "/version")).status === 200 ? true : undefined),
    120_000,
  );
  await registerMetricsApi(kubeconfig, serverIP, port);
  const truth = await readTruth(kubeconfig);
  const want = truth.nodes.map((n) => n.name).sort();
  const items = await poll("metrics for every node", async () => {
    const got = await metricsItems(kubeconfig, "nodes");
    return got &&
      got
        .map((i) => i.metadata.name)
        .sort()
        .join() === want.join()
      ? got
      : undefined;
  });
  for (const item of items) {
    const want = truth.nodes.find((n) => n.name === item.metadata.name)!;
    assert.ok(item.usage, item.metadata.name);
    const cpu = nanocores(item.usage.cpu);
    assert.ok(
      Math.abs(cpu - want.cpuNanocores) <= want.cpuNanocores * 0.05 + 1e6,
      `${item.metadata.name} cpu ${cpu} vs ${want.cpuNanocores}`,
    );
    const mem = bytes(item.usage.memory);
    assert.ok(
      Math.abs(mem - want.memoryBytes) <= 1024,
      `${item.metadata.name} memory ${mem} vs ${want.memoryBytes}`,
    );
  }
  await poll("ready", async () => ((await direct(address, "/readyz")).status === 200 ? true : undefined));
  const errors = assertOneLinePerCause(server);
  assert.ok(errors.length <= 8, `a few lines, not a flood:\n${errors.join("")}`);
  assert.ok(
    server.lines().some((l) => l.includes('"Reflector recovered"')),
    "the recovery is logged",
  );
  assert.equal(server.child.exitCode, null);
});

interface FaultState {
  apiserver: {
    spec: string | null;
    requests: Record<string, number>;
    openWatches: Record<string, number>;
    injected: Record<string, number>;
  };
}

async function faultState(creds: AdminCredentials): Promise<FaultState> {
  const r = await apiRequest(creds, "GET", "/sim/faults");
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as FaultState;
}

const listsAndWatches = (s: FaultState) => Object.values(s.apiserver.requests).reduce((a, b) => a + b, 0);

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

async function podNames(c: Cluster): Promise<Set<string> | undefined> {
  const items = await metricsItems(c.kubeconfig, "pods");
  return items && new Set(items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
}

test("API-server faults while serving: metrics stay, changes made meanwhile arrive after, no retry storm", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "3", "--seed", "42"],
    resolution: "4s",
  });
  const creds = readAdminCredentials(c.kubeconfig);
  const nodes = c.truth.nodes.map((n) => n.name);
  await waitForNodes(c, nodes);
  const running = c.truth.pods.filter((p) => p.phase === "Running");
  // Each fault for this long, with the watches dropped at its start so the reflectors must list or
  // watch again through it; the bound on their requests is far below a retry loop's.
  const faultMs = 10_000;
  const faults: { spec: string; maxRequests: number }[] = [
    { spec: "status:500", maxRequests: 20 },
    // Retry-After: 3 → at most one attempt per reflector every 3 s (plus the first).
    { spec: "throttle:3s", maxRequests: 2 * (faultMs / 3000 + 2) },
    { spec: "gone", maxRequests: 24 },
    { spec: "drop-watches:2s", maxRequests: 2 * (faultMs / 2000 + 2) },
    // Each watch expires, and the relist it forces is answered after 6 s.
    { spec: "gone,slow-list:6s", maxRequests: 16 },
  ];
  for (const [i, { spec, maxRequests }] of faults.entries()) {
    // Both informers watching (not waiting out a backoff from the previous fault) for over a second,
    // so that dropping their watches below is a normal end and they come back at once, into the fault.
    await poll(`both informers watching before ${spec}`, async () => {
      const open = (await faultState(creds)).apiserver.openWatches;
      return (open.nodes ?? 0) > 0 && (open.pods ?? 0) > 0 ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    const before = listsAndWatches(await faultState(creds));
    const set = await apiRequest(creds, "POST", "/sim/faults", { apiserver: spec });
    assert.equal(set.status, 200, set.body);
    assert.equal((await apiRequest(creds, "POST", "/sim/watches/drop")).status, 200);
    // Changes while the fault holds: a pod deleted, a pod created.
    const gone = running[i]!;
    const del = await apiRequest(creds, "DELETE", `/api/v1/namespaces/${gone.namespace}/pods/${gone.name}`);
    assert.equal(del.status, 200, del.body);
    const late = `late-${i}`;
    const created = await apiRequest(
      creds,
      "POST",
      "/api/v1/namespaces/default/pods",
      podObject(late, nodes[i % nodes.length]!),
    );
    assert.equal(created.status, 201, created.body);
    await new Promise((r) => setTimeout(r, faultMs));
    // Served all along from the caches' last state.
    await waitForNodes(c, nodes, `node metrics during ${spec}`);
    const during = listsAndWatches(await faultState(creds)) - before;
    t.diagnostic(`${spec}: ${during} lists and watches of nodes and pods in ${faultMs / 1000} s`);
    assert.ok(during <= maxRequests, `${spec}: ${during} lists and watches in ${faultMs} ms`);
    assert.equal(c.server.child.exitCode, null, `running through ${spec}`);

    assert.equal((await apiRequest(creds, "POST", "/sim/faults", { apiserver: null })).status, 200);
    await poll(`after ${spec}: the new pod served, the deleted one not`, async () => {
      const names = await podNames(c);
      return names?.has(`default/${late}`) && !names.has(`${gone.namespace}/${gone.name}`) ? true : undefined;
    });
  }
  const state = await faultState(creds);
  for (const kind of ["status", "throttle", "gone", "drop-watches", "slow-list"]) {
    assert.ok((state.apiserver.injected[kind] ?? 0) > 0, `${kind} was injected: ${JSON.stringify(state)}`);
  }
  for (const line of assertOneLinePerCause(c.server)) t.diagnostic(line.trimEnd());
  await poll("ready after the faults", async () =>
    (await direct(c.serverAddress, "/readyz")).status === 200 ? true : undefined,
  );
});
