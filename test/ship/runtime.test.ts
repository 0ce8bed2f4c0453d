// The simulator's container runtime with real processes (as root, with umoci from Debian): a Deployment
// becomes pods scheduled on nodes and run from an OCI archive in their own mount namespaces, as the
// right user, with a read-only root, an emptyDir at /tmp and the service-account files; readiness
// gates the Service's Endpoints, a failing liveness probe restarts the container, and nothing outlives
// the simulator.

import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { apiRequest, readAdminCredentials } from "../../scripts/cluster.ts";
import { startControllers } from "../../sim/controllers/index.ts";
import { ContainerRuntime } from "../../sim/runtime/index.ts";
import { Cluster, type KubeObject } from "../../sim/state/index.ts";
import { randomIpBase, reserveIpBase } from "../support/loopback.ts";
import { buildFixtureImage, requireRuntime } from "../support/oci-fixture.ts";
import { root, tempDir } from "../support/paths.ts";
import { poll } from "../support/poll.ts";
import { isAlive, startNodeProcess } from "../support/processes.ts";

const IMAGE = "fixture.example/web:v1";
const LABELS = { app: "web" };

/** A Ready node posted as a kubelet registers itself (the Cluster adds the hostname and os labels). */
async function addNode(cluster: Cluster, ipBase: string, i: number): Promise<void> {
  await cluster.create("nodes", undefined, {
    metadata: { name: `node-${i}` },
    status: { addresses: [{ type: "InternalIP", address: `${ipBase}.1.${i + 1}` }] },
  });
}

interface Harness {
  cluster: Cluster;
  runtime: ContainerRuntime;
  dir: string;
  settle(): Promise<void>;
}

async function start(
  t: TestContext,
  images: "archive" | "host-command" = "archive",
): Promise<Harness | undefined> {
  if (!(await requireRuntime(t))) return undefined;
  const archive =
    images === "archive" ? await buildFixtureImage(join(root, "test/ship/testdata/web.cjs"), "v1") : "";
  const reservation = reserveIpBase();
  t.after(() => reservation.release());
  const dir = tempDir(t, "sim-runtime-");
  const cluster = new Cluster({ nodes: [], pods: [] });
  await addNode(cluster, reservation.ipBase, 0);
  await addNode(cluster, reservation.ipBase, 1);
  const controllers = startControllers(cluster, () => {});
  const runtime = new ContainerRuntime({
    cluster,
    images: new Map(archive ? [[IMAGE, archive]] : []),
    hostCommands: archive ? new Map() : new Map([[IMAGE, hostCommand()]]),
    dir,
    podIPPrefix: `${reservation.ipBase}.255`,
    apiServer: () => ({ host: `${reservation.ipBase}.0.1`, port: 6443 }),
    caCertPem: "-----BEGIN CERTIFICATE-----\nsim\n-----END CERTIFICATE-----\n",
    issueServiceAccountToken: (ns, sa, pod) => `token-for-${ns}-${sa}-${pod.name}`,
    log: (line) => {
      if (process.env.E2E_VERBOSE) process.stderr.write(`${line}\n`);
    },
  });
  t.after(async () => {
    controllers.close();
    await runtime.close(1000);
  });
  return { cluster, runtime, dir, settle: () => controllers.idle() };
}

function deployment(
  name: string,
  replicas: number,
  container: Record<string, unknown>,
): Record<string, unknown> {
  const labels = { ...LABELS, deployment: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: { runAsNonRoot: true },
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: "web",
              image: IMAGE,
              imagePullPolicy: "Never",
              env: [
                { name: "PORT", value: "8080" },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              ports: [{ name: "http", containerPort: 8080 }],
              securityContext: { readOnlyRootFilesystem: true, runAsUser: 1000, runAsGroup: 2000 },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
              ...container,
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }],
        },
      },
    },
  };
}

function podsOf(cluster: Cluster, name: string): KubeObject[] {
  return cluster.list("pods", "default").filter((p) => p.metadata.labels?.deployment === name);
}

interface ContainerStatusView {
  ready: boolean;
  restartCount: number;
  imageID: string;
  state: Record<string, { reason?: string; message?: string }>;
  lastState: Record<string, { exitCode?: number; reason?: string }>;
}

interface PodStatusView {
  phase?: string;
  podIP: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  containerStatuses?: ContainerStatusView[];
}

function statusOf(p: KubeObject): PodStatusView {
  return (p.status ?? {}) as PodStatusView;
}

function containerOf(p: KubeObject): ContainerStatusView | undefined {
  return statusOf(p).containerStatuses?.[0];
}

function isReady(p: KubeObject): boolean {
  return statusOf(p).conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** What the fixture's server answers (its own JSON). */
async function get(ip: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${ip}:8080${path}`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as Record<string, unknown>;
}

function logTail(dir: string, pod: KubeObject): string {
  try {
    return readFileSync(join(dir, "pods", `default_${pod.metadata.name}`, "web.log"), "utf8").slice(-2000);
  } catch {
    return "(no log)";
  }
}

test("a Deployment runs as real containers: user, read-only root, /tmp, SA files, Endpoints, no orphans", async (t) => {
  const h = await start(t);
  if (!h) return;
  const { cluster } = h;
  await cluster.create("services", "default", {
    metadata: { name: "web" },
    spec: {
      selector: { ...LABELS, deployment: "web" },
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    },
  });
  await cluster.create(
    "deployments",
    "default",
    deployment("web", 2, {
      readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
    }),
  );
  const pods = await poll(
    "two Running, Ready pods",
    async () => {
      const ps = podsOf(cluster, "web");
      return ps.length === 2 && ps.every(isReady) ? ps : undefined;
    },
    60_000,
    200,
  ).catch((err) => {
    for (const p of podsOf(cluster, "web"))
      t.diagnostic(`${p.metadata.name}: ${JSON.stringify(p.status)}\n${logTail(h.dir, p)}`);
    throw err;
  });
  const nodes = pods.map((p) => (p.spec as { nodeName: string }).nodeName).sort();
  assert.deepEqual(nodes, ["node-0", "node-1"], "the scheduler spreads the replicas");
  const pids: number[] = [];
  for (const p of pods) {
    const s = statusOf(p);
    assert.equal(s.phase, "Running");
    assert.match(s.podIP, /\.255\.\d+$/);
    assert.equal(containerOf(p)?.ready, true);
    assert.equal(containerOf(p)?.restartCount, 0);
    assert.match(containerOf(p)?.imageID ?? "", /^fixture\.example\/web@sha256:[0-9a-f]{64}$/);
    const info = await get(s.podIP, "/info");
    assert.equal(info.uid, 1000);
    assert.equal(info.gid, 2000);
    assert.equal(info.cwd, "/app");
    const env = info.env as Record<string, string>;
    assert.equal(env.POD_NAME, p.metadata.name);
    assert.equal(env.KUBERNETES_SERVICE_PORT, "6443");
    assert.deepEqual(info.argv, [`--bind-address=${s.podIP}`]);
    assert.deepEqual(await get(s.podIP, "/write?path=/app/x"), { written: false, error: "EROFS" });
    assert.deepEqual(await get(s.podIP, "/write?path=/tmp/x"), { written: true });
    const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
    assert.deepEqual(await get(s.podIP, `/read?path=${sa}/namespace`), { content: "default" });
    assert.deepEqual(await get(s.podIP, `/read?path=${sa}/token`), {
      content: `token-for-default-default-${p.metadata.name}`,
    });
    assert.match(String((await get(s.podIP, `/read?path=${sa}/ca.crt`)).content), /BEGIN CERTIFICATE/);
    assert.deepEqual(await get(s.podIP, `/write?path=${sa}/token`), { written: false, error: "EROFS" });
    // The pod's process, seen from the host: its user, and the simulator's usage reading of it.
    const sim = cluster.pod("default", p.metadata.name)!;
    const usage = sim.containers[0].liveUsage?.();
    assert.ok(usage && usage.memoryBytes > 10 << 20, `live usage ${JSON.stringify(usage)}`);
    const pid = findPid(s.podIP);
    assert.match(readFileSync(`/proc/${pid}/status`, "utf8"), /^Uid:\s+1000\s+1000/m);
    pids.push(pid);
  }
  const eps = cluster.get("endpoints", "default", "web")!;
  const [subset] = eps.subsets as { addresses: { ip: string }[]; ports: unknown[] }[];
  assert.deepEqual(subset.addresses.map((a) => a.ip).sort(), pods.map((p) => statusOf(p).podIP).sort());
  assert.deepEqual(subset.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  const d = cluster.get("deployments", "default", "web")!;
  assert.equal((d.status as { readyReplicas?: number }).readyReplicas, 2);

  // Deleting the Deployment deletes its pods and stops their processes.
  await cluster.delete("deployments", "default", "web");
  await poll(
    "the containers to exit",
    async () => (pids.every((pid) => !isAlive(pid)) ? true : undefined),
    30_000,
    200,
  );
});

/** An executable that runs the fixture's server with this Node (what --image-command maps an image to). */
function hostCommand(): string {
  const dir = join(root, ".cache", "runtime-fixture");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "host-web.sh");
  writeFileSync(
    path,
    `#!/bin/sh\nexec ${process.execPath} ${join(root, "test/ship/testdata/web.cjs")} "$@"\n`,
    { mode: 0o755 },
  );
  return path;
}

/**
 * Whether `pid` is a live process. An orphan killed after its parent died is a zombie until the
 * machine's init reaps it, which some inits never do: a zombie has exited.
 */
function running(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The pid of the container process serving `ip` (its argv carries --bind-address=<ip>). */
function findPid(ip: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv.includes(`--bind-address=${ip}`) && argv[0].endsWith("node")) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error(`no process serves ${ip}`);
}

test("a wrong readiness path keeps pods out of Endpoints; a failing liveness probe restarts the container", async (t) => {
  const h = await start(t);
  if (!h) return;
  const { cluster } = h;
  await cluster.create("services", "default", {
    metadata: { name: "unready" },
    spec: { selector: { ...LABELS, deployment: "unready" }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await cluster.create(
    "deployments",
    "default",
    deployment("unready", 1, {
      readinessProbe: { httpGet: { path: "/nope", port: 8080 }, periodSeconds: 1 },
    }),
  );
  await cluster.create(
    "deployments",
    "default",
    deployment("unlive", 1, {
      livenessProbe: { httpGet: { path: "/nope", port: "http" }, periodSeconds: 1, failureThreshold: 2 },
    }),
  );
  const restarted = await poll(
    "the unlive pod's container to be restarted",
    async () => {
      const [p] = podsOf(cluster, "unlive");
      return p && (containerOf(p)?.restartCount ?? 0) >= 1 ? p : undefined;
    },
    60_000,
    200,
  );
  const last = containerOf(restarted)?.lastState.terminated;
  assert.ok(last, `lastState.terminated in ${JSON.stringify(containerOf(restarted))}`);
  assert.equal(last.exitCode, 0, "the fixture exits 0 on SIGTERM");
  assert.equal(statusOf(restarted).phase, "Running");

  // By now the unready pod has been probed many times and never passed.
  const [unready] = podsOf(cluster, "unready");
  assert.equal(statusOf(unready).phase, "Running");
  assert.equal(isReady(unready), false);
  assert.equal(containerOf(unready)?.ready, false);
  const eps = cluster.get("endpoints", "default", "unready")!;
  const [subset] = eps.subsets as { addresses?: unknown[]; notReadyAddresses: { ip: string }[] }[];
  assert.equal(subset.addresses, undefined);
  assert.deepEqual(
    subset.notReadyAddresses.map((a) => a.ip),
    [statusOf(unready).podIP],
  );
  const d = cluster.get("deployments", "default", "unready")!;
  const available = (d.status as { conditions: { type: string; status: string }[] }).conditions.find(
    (c) => c.type === "Available",
  );
  assert.equal(available?.status, "False");
});

test("an image that was not loaded, and root with runAsNonRoot, wait with the kubelet's reasons", async (t) => {
  const h = await start(t);
  if (!h) return;
  const { cluster } = h;
  await cluster.create(
    "deployments",
    "default",
    deployment("missing", 1, { image: "registry.example.com/nope:v1" }),
  );
  await cluster.create(
    "deployments",
    "default",
    deployment("root", 1, { securityContext: { runAsUser: 0 } }),
  );
  const waiting = (name: string) =>
    poll(
      `${name} to wait`,
      async () => {
        const [p] = podsOf(cluster, name);
        const w = p && containerOf(p)?.state.waiting;
        return w?.reason && w.reason !== "ContainerCreating" ? { pod: p, ...w } : undefined;
      },
      30_000,
      100,
    );
  const missing = await waiting("missing");
  assert.equal(missing.reason, "ErrImageNeverPull");
  assert.equal(
    missing.message,
    'Container image "registry.example.com/nope:v1" is not present with pull policy of Never',
  );
  assert.equal(statusOf(missing.pod).phase, "Pending");
  const rootPod = await waiting("root");
  assert.equal(rootPod.reason, "CreateContainerConfigError");
  assert.equal(
    rootPod.message,
    `container has runAsNonRoot and image will run as root (pod: "${rootPod.pod.metadata.name}_default", container: web)`,
  );
});

/** kube-sim with the fixture image loaded, and a pod of it posted and running; the pod's pid. */
async function simWithPod(t: TestContext) {
  const archive = await buildFixtureImage(join(root, "test/ship/testdata/web.cjs"), "v1");
  const dir = tempDir(t, "sim-runtime-main-");
  const ipBase = randomIpBase(t);
  const port = 20000 + Math.floor(Math.random() * 40000);
  const sim = await startNodeProcess(
    t,
    "sim/main.ts",
    [
      ["--dir", dir, "--ip-base", ipBase, "--port", String(port)],
      ["--nodes", "1", "--pods-per-node", "0", "--image", `${IMAGE}=${archive}`],
    ].flat(),
    "kube-sim ready:",
  );
  const creds = readAdminCredentials(join(dir, "kubeconfig"));
  const posted = await apiRequest(creds, "POST", "/api/v1/namespaces/default/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", labels: LABELS },
    spec: {
      containers: [
        {
          name: "web",
          image: IMAGE,
          env: [{ name: "PORT", value: "8080" }],
          ports: [{ containerPort: 8080 }],
        },
      ],
    },
  });
  assert.equal(posted.status, 201, posted.body);
  const pod = await poll(
    "the pod to run",
    async () => {
      const res = await apiRequest(creds, "GET", "/api/v1/namespaces/default/pods/web");
      const p = JSON.parse(res.body) as KubeObject;
      return isReady(p) ? p : undefined;
    },
    60_000,
    200,
  ).catch((err) => {
    t.diagnostic(sim.tail());
    throw err;
  });
  const ip = statusOf(pod).podIP;
  // Without a readiness probe a container is Ready once started, maybe before it listens.
  const info = await poll("the server to answer", () => get(ip, "/info"), 30_000, 200);
  const pid = findPid(ip);
  t.after(() => {
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  });
  return { sim, pod, info, ipBase, pid, dir };
}

test("kube-sim --image runs a posted pod and stops it when the simulator stops", async (t) => {
  if (!(await requireRuntime(t))) return;
  const { sim, pod, info, ipBase, pid } = await simWithPod(t);
  assert.equal((pod.spec as { nodeName?: string }).nodeName, "node-0");
  assert.equal(statusOf(pod).phase, "Running");
  assert.equal(info.uid, 65534, "the image's USER");
  assert.equal((info.env as Record<string, string>).KUBERNETES_SERVICE_HOST, `${ipBase}.0.1`);
  await sim.stop(15_000);
  assert.equal(sim.exited, true, "kube-sim exits on SIGTERM");
  assert.equal(running(pid), false, "the container died with the simulator");
});

test("containers die even when kube-sim is killed with SIGKILL, its directory already gone", async (t) => {
  if (!(await requireRuntime(t))) return;
  const { sim, pid, dir } = await simWithPod(t);
  // A test's clean-up may remove the directory before it kills the simulator.
  rmSync(dir, { recursive: true, force: true });
  sim.kill();
  await poll(
    "the orphaned container to be killed",
    async () => (running(pid) ? undefined : true),
    15_000,
    200,
  );
});

test("--image-command: without an image, a host executable runs with the user, volumes and SA files", async (t) => {
  const h = await start(t, "host-command");
  if (!h) return;
  const { cluster } = h;
  await cluster.create(
    "deployments",
    "default",
    deployment("host", 1, { readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 1 } }),
  );
  const pod = await poll(
    "the host-command pod to be Ready",
    async () => {
      const [p] = podsOf(cluster, "host");
      return p && isReady(p) ? p : undefined;
    },
    30_000,
    200,
  ).catch((err) => {
    for (const p of podsOf(cluster, "host"))
      t.diagnostic(`${JSON.stringify(p.status)}\n${logTail(h.dir, p)}`);
    throw err;
  });
  const ip = statusOf(pod).podIP;
  const info = await get(ip, "/info");
  assert.equal(info.uid, 1000);
  assert.deepEqual(await get(ip, "/read?path=/var/run/secrets/kubernetes.io/serviceaccount/namespace"), {
    content: "default",
  });
  // /tmp is the pod's emptyDir, unless this checkout is under /tmp: then that volume would hide the
  // command, so it is left out and /tmp is the host's (a fresh name, removed afterwards).
  const scratch = `/tmp/host-command-${process.pid}-${Date.now()}`;
  t.after(() => rmSync(scratch, { force: true }));
  assert.deepEqual(await get(ip, `/write?path=${encodeURIComponent(scratch)}`), { written: true });
  if (root.startsWith("/tmp/")) {
    assert.match(logTail(h.dir, pod), /kube-sim: \/tmp not mounted: it would hide the command/);
  }
  assert.match(containerOf(pod)?.imageID ?? "", /@host:/);
});
