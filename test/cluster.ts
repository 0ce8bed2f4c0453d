// Starting the whole thing for a test: the simulator and the metrics-server as separate processes
// on a loopback range of this run's own, with the APIService registered, as the demo does.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { readTruth, registerMetricsApi, type Truth } from "../scripts/cluster.ts";
import { randomIpBase, startNodeProcess, tempDir } from "./helpers.ts";

export interface Cluster {
  dir: string;
  kubeconfig: string;
  serverAddress: string;
  truth: Truth;
  server: Awaited<ReturnType<typeof startNodeProcess>>;
}

/** Starts sim + metrics-server, registers the APIService, returns once both are up. */
export async function startCluster(
  t: TestContext,
  opts: { simArgs: string[]; serverArgs?: string[]; resolution?: string },
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
    "src/server/main.ts",
    [
      `--kubeconfig=${kubeconfig}`,
      `--bind-address=${serverIP}`,
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, "certs")}`,
      `--metric-resolution=${opts.resolution ?? "5s"}`,
      "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
      "--kubelet-use-node-status-port",
      `--client-ca-file=${join(dir, "pki", "ca.crt")}`,
      `--requestheader-client-ca-file=${join(dir, "pki", "front-proxy-ca.crt")}`,
      ...(opts.serverArgs ?? []),
    ],
    "Serving securely on",
  );
  const truth = await readTruth(kubeconfig);
  return { dir, kubeconfig, serverAddress: `${serverIP}:${port}`, truth, server };
}

/** kubectl prints CPU as MilliValue (rounded up) and memory as Value()/2^20 (rounded down). */
export function assertClose(what: string, got: number, want: number): void {
  const tolerance = want * 0.05 + 1;
  assert.ok(
    Math.abs(got - want) <= tolerance,
    `${what}: kubectl printed ${got}, truth is ${want.toFixed(1)}`,
  );
}
