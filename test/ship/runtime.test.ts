// The simulator's container runtime with real processes (as root, with umoci from Debian): a Deployment
// becomes pods scheduled on nodes and run from an OCI archive in their own mount namespaces, as the
// right user, with a read-only root, an emptyDir at /tmp and the service-account files; readiness
// gates the Service's Endpoints, a failing liveness probe restarts the container, and nothing outlives
// the simulator.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { startControllers } from "../../sim/controllers/index.ts";
import { ContainerRuntime } from "../../sim/runtime/index.ts";
import { Cluster, type KubeObject } from "../../sim/state/index.ts";
import type { SimNode } from "../../sim/types.ts";
import { reserveIpBase } from "../support/loopback.ts";
import { buildFixtureImage, requireRuntime } from "../support/oci-fixture.ts";
import { root, tempDir } from "../support/paths.ts";
import { poll } from "../support/poll.ts";
import { isAlive } from "../support/processes.ts";

const IMAGE = "fixture.example/web:v1";
const LABELS = { app: "web" };

function node(ipBase: string, i: number): SimNode {
  const name = `node-${i}`;
  return {
    name,
    uid: `uid-${name}`,
    labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux" },
    internalIP: `${ipBase}.1.${i + 1}`,
    hostname: name,
    kubeletPort: 10250,
    cpuCores: 4,
    memoryBytes: 8 << 30,
    overheadCpuMilli: 100,
    overheadMemoryBytes: 1 << 28,
    bootTimeMs: Date.now(),
    creationTimestampMs: Date.now(),
    ready: true,
  };
}

interface Harness {
  cluster: Cluster;
  runtime: ContainerRuntime;
  dir: string;
  settle(): Promise<void>;
}

async function start(t: TestContext): Promise<Harness | undefined> {
  if (!(await requireRuntime(t))) return undefined;
  const archive = await buildFixtureImage(join(root, "test/ship/testdata/web.js"), "v1");
  const reservation = reserveIpBase();
  t.after(() => reservation.release());
  const dir = tempDir(t, "sim-runtime-");
  const cluster = new Cluster({
    nodes: [node(reservation.ipBase, 0), node(reservation.ipBase, 1)],
    pods: [],
  });
  const controllers = startControllers(cluster, () => {});
  const runtime = new ContainerRuntime({
    cluster,
    images: new Map([[IMAGE, archive]]),
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
