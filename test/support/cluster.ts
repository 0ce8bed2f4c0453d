// Starting the whole thing for a test: the simulator and the metrics-server as separate processes
// on a loopback range of this run's own, with the APIService registered, as the demo does.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { TestContext } from "node:test";
import {
  apiRequest,
  readAdminCredentials,
  readTruth,
  registerMetricsApi,
  type Truth,
} from "../../scripts/cluster.ts";
import { randomIpBase } from "./loopback.ts";
import { tempDir } from "./paths.ts";
import { poll } from "./poll.ts";
import { type NodeProcess, startNodeProcess } from "./processes.ts";

export interface Cluster {
  dir: string;
  /** "127.R": the loopback range of this cluster. */
  ipBase: string;
  kubeconfig: string;
  serverAddress: string;
  truth: Truth;
  server: NodeProcess;
}

/** Starts sim + metrics-server, registers the APIService, returns once both are up. */
export async function startCluster(
  t: TestContext,
  opts: {
    simArgs: string[];
    /** Extra metrics-server flags (after the defaults); a function gets the cluster's directory. */
    serverArgs?: string[] | ((dir: string) => string[]);
    resolution?: string;
    /** --kubelet-preferred-address-types (default the manifests' InternalIP,ExternalIP,Hostname). */
    addressTypes?: string;
    /** Pass --kubelet-use-node-status-port (default true, as the manifests do). */
    useNodeStatusPort?: boolean;
    /**
     * Pass --client-ca-file and --requestheader-client-ca-file (default true); without them the server
     * reads both from the extension-apiserver-authentication ConfigMap, as in a real cluster.
     */
    caFlags?: boolean;
    /** A kubeconfig for the metrics-server other than the simulator's admin one (it may use `dir`). */
    serverKubeconfig?: (dir: string) => string;
  },
): Promise<Cluster> {
  const dir = tempDir(t, "ms-e2e-");
  const ipBase = randomIpBase(t);
  const port = 20000 + Math.floor(Math.random() * 40000);
  const serverIP = `${ipBase}.0.2`;
  await startNodeProcess(
    t,
    "sim/main.ts",
    ["--dir", dir, "--ip-base", ipBase, "--port", String(port + 1), ...opts.simArgs],
    "kube-sim ready:",
  );
  const kubeconfig = join(dir, "kubeconfig");
  await registerMetricsApi(kubeconfig, serverIP, port);
  const server = await startNodeProcess(
    t,
    "src/cmd/metrics-server/main.ts",
    [
      `--kubeconfig=${opts.serverKubeconfig ? opts.serverKubeconfig(dir) : kubeconfig}`,
      `--bind-address=${serverIP}`,
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, "certs")}`,
      `--metric-resolution=${opts.resolution ?? "5s"}`,
      `--kubelet-preferred-address-types=${opts.addressTypes ?? "InternalIP,ExternalIP,Hostname"}`,
      ...(opts.useNodeStatusPort === false ? [] : ["--kubelet-use-node-status-port"]),
      ...(opts.caFlags === false
        ? []
        : [
            `--client-ca-file=${join(dir, "pki", "ca.crt")}`,
            `--requestheader-client-ca-file=${join(dir, "pki", "front-proxy-ca.crt")}`,
          ]),
      ...(typeof opts.serverArgs === "function" ? opts.serverArgs(dir) : (opts.serverArgs ?? [])),
    ],
    "Serving securely on",
  );
  const truth = await readTruth(kubeconfig);
  return { dir, ipBase, kubeconfig, serverAddress: `${serverIP}:${port}`, truth, server };
}

/** kubectl prints CPU as MilliValue (rounded up) and memory as Value()/2^20 (rounded down). */
export function assertClose(what: string, got: number, want: number): void {
  const tolerance = want * 0.05 + 1;
  assert.ok(
    Math.abs(got - want) <= tolerance,
    `${what}: kubectl printed ${got}, truth is ${want.toFixed(1)}`,
  );
}

export interface MetricsItem {
  metadata: { name: string; namespace?: string };
  timestamp: string;
  window: string;
  usage?: { cpu: string; memory: string };
  containers?: { name: string; usage: { cpu: string; memory: string } }[];
}

/** GETs a metrics.k8s.io list through the aggregator as admin; undefined unless it answers 200. */
export async function metricsItems(kubeconfig: string, path: string): Promise<MetricsItem[] | undefined> {
  const r = await apiRequest(readAdminCredentials(kubeconfig), "GET", `/apis/metrics.k8s.io/v1beta1/${path}`);
  if (r.status !== 200) return undefined;
  return (JSON.parse(r.body) as { items: MetricsItem[] }).items;
}

/** Polls until the node metrics list holds exactly `want` (sorted names), returning the items. */
export function waitForNodes(
  c: Cluster,
  want: readonly string[],
  what = "node metrics",
): Promise<MetricsItem[]> {
  const sorted = [...want].sort();
  return poll(`${what}: ${sorted.join(",")}`, async () => {
    const items = await metricsItems(c.kubeconfig, "nodes");
    if (!items) return undefined;
    const names = items.map((i) => i.metadata.name).sort();
    return names.join(",") === sorted.join(",") ? items : undefined;
  });
}

/** Server log lines matching a klog message and key="value" pairs. */
export function logLines(c: Cluster, msg: string, kv: Record<string, string> = {}): string[] {
  return c.server
    .lines()
    .filter(
      (l) => l.includes(`"${msg}"`) && Object.entries(kv).every(([k, v]) => l.includes(` ${k}="${v}"`)),
    );
}
