// The two processes a bench run starts, as the demo starts them: the simulator (sim/main.ts) and the
// metrics-server (bin/metrics-server) with the demo's flags. Shared by the scale bench (run.ts) and
// the soak (soak.ts).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NodeProcess } from "../test/support/processes.ts";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface SimulatorOptions {
  dir: string;
  ipBase: string;
  nodes: number;
  podsPerNode: number;
  containersPerPod: number;
  /** More kube-sim flags (--hpa-replicas, --fault, ...). */
  extraArgs?: readonly string[];
  nodeArgs?: readonly string[];
  echo?: boolean;
  timeoutMs: number;
}

/** Starts kube-sim and waits for its ready line; `pods` is what that line reports. */
export async function startSimulator(o: SimulatorOptions): Promise<{ sim: NodeProcess; pods: number }> {
  const sim = new NodeProcess(
    "kube-sim",
    "sim/main.ts",
    [
      "--dir",
      o.dir,
      "--ip-base",
      o.ipBase,
      "--port",
      "0",
      "--nodes",
      String(o.nodes),
      "--pods-per-node",
      String(o.podsPerNode),
      "--containers-per-pod",
      String(o.containersPerPod),
      ...(o.extraArgs ?? []),
    ],
    { cwd: root, echo: o.echo, nodeArgs: o.nodeArgs, keep: 200 },
  );
  try {
    const readyLine = await sim.waitFor(
      "ready line",
      (l) => (l.startsWith("kube-sim ready:") ? l : undefined),
      o.timeoutMs,
    );
    return { sim, pods: Number(/\bpods=(\d+)/.exec(readyLine)?.[1] ?? Number.NaN) };
  } catch (err) {
    await sim.stop(1000);
    throw err;
  }
}

export interface ServerOptions {
  /** The simulator's directory: metrics-server.kubeconfig is read from it, certs/ written in it. */
  dir: string;
  serverIP: string;
  port: number;
  /** --metric-resolution, a Go duration. */
  resolution: string;
  /** Start with an empty compile cache instead of one filled as the image's is. */
  coldCompileCache?: boolean;
  nodeArgs?: readonly string[];
  echo?: boolean;
  /** More metrics-server flags. */
  extraArgs?: readonly string[];
}

/**
 * Starts bin/metrics-server with the demo's flags (service-account kubeconfig, client CAs from the
 * ConfigMap, node status port) at -v=1. It gets a compile cache of its own, filled as the image's is
 * (or left empty): not bin/metrics-server's in /tmp, whose state depends on what ran before.
 */
export function startMetricsServer(o: ServerOptions): NodeProcess {
  const compileCache = join(o.dir, "compile-cache");
  mkdirSync(compileCache, { recursive: true });
  if (!o.coldCompileCache) {
    execFileSync(process.execPath, [
      join(root, "scripts", "compile-cache.ts"),
      root,
      compileCache,
      String(process.getuid?.() ?? 0),
    ]);
  }
  const launcherCache = process.env.NODE_COMPILE_CACHE;
  process.env.NODE_COMPILE_CACHE = compileCache;
  try {
    return new NodeProcess(
      "metrics-server",
      "bin/metrics-server",
      [
        `--kubeconfig=${join(o.dir, "metrics-server.kubeconfig")}`,
        `--bind-address=${o.serverIP}`,
        `--secure-port=${o.port}`,
        `--cert-dir=${join(o.dir, "certs")}`,
        `--metric-resolution=${o.resolution}`,
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--kubelet-use-node-status-port",
        "--v=1",
        ...(o.extraArgs ?? []),
      ],
      { cwd: root, echo: o.echo, nodeArgs: o.nodeArgs, keep: 200 },
    );
  } finally {
    if (launcherCache === undefined) delete process.env.NODE_COMPILE_CACHE;
    else process.env.NODE_COMPILE_CACHE = launcherCache;
  }
}
