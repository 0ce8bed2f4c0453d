// What we ship, deployed onto the simulated cluster: a `--bare` simulator (kube-apiserver's bootstrap
// policy only) that runs the image as pods, our manifests applied with the real kubectl, and the
// waits a cluster operator would do by hand (rollout, APIService Available, `kubectl top`).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { stringify } from "yaml";
import type { TestImage } from "./image.ts";
import { kubectl } from "./kubectl.ts";
import { randomIpBase } from "./loopback.ts";
import type { K8sObject } from "./manifests.ts";
import { tempDir } from "./paths.ts";
import { poll } from "./poll.ts";
import { type NodeProcess, run as runCommand, startNodeProcess } from "./processes.ts";

export interface DeployedCluster {
  dir: string;
  /** "127.R" */
  ipBase: string;
  /** The admin kubeconfig. */
  kubeconfig: string;
  sim: NodeProcess;
  /** Runs kubectl as the admin; never rejects. */
  kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** kubectl that must succeed: its stdout, or a throw carrying its stderr. */
  kubectlOk(args: string[]): Promise<string>;
  /** `kubectl apply -f` of YAML text (written to a file first). */
  apply(yaml: string): Promise<string>;
  /** The log a pod's container wrote, as the simulator's runtime keeps it ("" if none yet). */
  containerLog(namespace: string, pod: string, container: string): string;
}

/** Starts `kube-sim --bare` with the image loaded; resolves once its API server is ready. */
export async function startBareCluster(
  t: TestContext,
  kubectlPath: string,
  image: TestImage,
  simArgs: string[] = [],
): Promise<DeployedCluster> {
  const dir = tempDir(t, "ms-deploy-");
  const ipBase = randomIpBase(t);
  const port = 20000 + Math.floor(Math.random() * 40000);
  const sim = await startNodeProcess(
    t,
    "sim/main.ts",
    [
      "--dir",
      dir,
      "--ip-base",
      ipBase,
      "--port",
      String(port),
      "--bare",
      "--image",
      `${image.ref}=${image.archive}`,
      ...simArgs,
    ],
    "kube-sim ready:",
  );
  // Registered after the simulator's own clean-up (which kills its process group), so it runs after
  // it: every container the simulator started must be gone with it, the watchdog's job.
  t.after(() =>
    poll(
      `no container of ${ipBase} left running`,
      async () => {
        // "--": the pattern starts with dashes. pgrep exits 1 when nothing matches.
        const r = await runCommand("pgrep", ["-f", "--", `--bind-address=${ipBase}.255.`]);
        if (r.code === 0) throw new Error(`still running: pids ${r.stdout.trim().split("\n").join(", ")}`);
        if (r.code !== 1) throw new Error(`pgrep failed (${r.code}): ${r.stderr.trim()}`);
        return true;
      },
      15_000,
      500,
    ),
  );
  const kubeconfig = join(dir, "kubeconfig");
  const run = (args: string[]) => kubectl(t, kubectlPath, kubeconfig, args);
  const kubectlOk = async (args: string[]) => {
    const r = await run(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  let applied = 0;
  return {
    dir,
    ipBase,
    kubeconfig,
    sim,
    kubectl: run,
    kubectlOk,
    apply: (yaml) => {
      const file = join(dir, `applied-${++applied}.yaml`);
      writeFileSync(file, yaml);
      return kubectlOk(["apply", "-f", file]);
    },
    containerLog: (namespace, pod, container) => {
      try {
        return readFileSync(join(dir, "pods", `${namespace}_${pod}`, `${container}.log`), "utf8");
      } catch {
        return "";
      }
    },
  };
}

/** YAML text of objects (a multi-document stream). */
export function toYaml(objects: K8sObject[]): string {
  return objects.map((o) => stringify(o)).join("---\n");
}

export interface PodView {
  name: string;
  namespace: string;
  phase: string;
  ready: boolean;
  podIP?: string;
  nodeName?: string;
  restarts: number;
  labels: Record<string, string>;
}

export async function pods(c: DeployedCluster, selector?: string): Promise<PodView[]> {
  const args = ["get", "pods", "-A", "-o", "json"];
  if (selector) args.push("-l", selector);
  const list = JSON.parse(await c.kubectlOk(args)) as { items: K8sObject[] };
  return list.items.map((p) => ({
    name: p.metadata.name,
    namespace: p.metadata.namespace,
    phase: p.status?.phase ?? "",
    ready: (p.status?.conditions ?? []).some(
      (x: { type: string; status: string }) => x.type === "Ready" && x.status === "True",
    ),
    podIP: p.status?.podIP,
    nodeName: p.spec?.nodeName,
    restarts: (p.status?.containerStatuses ?? []).reduce(
      (n: number, s: { restartCount?: number }) => n + (s.restartCount ?? 0),
      0,
    ),
    labels: p.metadata.labels ?? {},
  }));
}

/** The metrics-server pods' container logs, for a failure message. */
export async function metricsServerLogs(c: DeployedCluster): Promise<string> {
  try {
    const ps = await pods(c, "k8s-app=metrics-server");
    return ps
      .map(
        (p) =>
          `--- ${p.namespace}/${p.name}:\n${c.containerLog(p.namespace, p.name, "metrics-server").slice(-4000)}`,
      )
      .join("\n");
  } catch (err) {
    return `(no pod logs: ${(err as Error).message})`;
  }
}

/** Waits for the Deployment to report `replicas` ready and available, as `kubectl rollout status` does. */
export async function waitAvailable(
  c: DeployedCluster,
  replicas: number,
  name = "metrics-server",
  namespace = "kube-system",
): Promise<void> {
  await poll(
    `deployment ${namespace}/${name} with ${replicas} available replicas`,
    async () => {
      const d = JSON.parse(await c.kubectlOk(["-n", namespace, "get", "deployment", name, "-o", "json"]));
      const s = d.status ?? {};
      const done =
        s.observedGeneration >= d.metadata.generation &&
        s.updatedReplicas === replicas &&
        s.readyReplicas === replicas &&
        s.availableReplicas === replicas &&
        (s.replicas ?? 0) === replicas;
      if (!done) throw new Error(`status ${JSON.stringify(s)}\n${await metricsServerLogs(c)}`);
      return true;
    },
    150_000,
  );
}

/** Waits until kube-aggregator reports the metrics APIService Available. */
export async function waitApiServiceAvailable(c: DeployedCluster): Promise<void> {
  await poll(
    "APIService v1beta1.metrics.k8s.io Available",
    async () => {
      const a = JSON.parse(await c.kubectlOk(["get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "json"]));
      const cond = (a.status?.conditions ?? []).find((x: { type: string }) => x.type === "Available");
      if (cond?.status !== "True") throw new Error(`Available: ${JSON.stringify(cond)}`);
      return true;
    },
    120_000,
  );
}

/** The first column of a `kubectl top` table (or the first two with -A), header dropped. */
function topRows(stdout: string, allNamespaces: boolean): string[] {
  return stdout
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .map((cols) => (allNamespaces ? `${cols[0]}/${cols[1]}` : cols[0]!));
}

/**
 * Waits until `kubectl top node` lists every node and `kubectl top pod -A` every Running pod (the
 * deployed metrics-server pods included: the runtime reports their real usage). Returns both tables.
 */
export async function waitTopListsEverything(c: DeployedCluster): Promise<{ nodes: string; pods: string }> {
  const nodeNames = (await c.kubectlOk(["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"]))
    .split(/\s+/)
    .filter(Boolean)
    .sort();
  const nodes = await poll(
    "kubectl top node listing every node",
    async () => {
      const r = await c.kubectlOk(["top", "node"]);
      const got = topRows(r, false).sort();
      if (JSON.stringify(got) !== JSON.stringify(nodeNames))
        throw new Error(`top node lists ${got.join(",")}; want ${nodeNames.join(",")}\n${r}`);
      return r;
    },
    120_000,
    2000,
  );
  const podsTable = await poll(
    "kubectl top pod -A listing every Running pod",
    async () => {
      const running = (await pods(c))
        .filter((p) => p.phase === "Running")
        .map((p) => `${p.namespace}/${p.name}`)
        .sort();
      const r = await c.kubectlOk(["top", "pod", "-A"]);
      const got = topRows(r, true).sort();
      if (JSON.stringify(got) !== JSON.stringify(running))
        throw new Error(`top pod -A lists ${got.join(",")}; Running: ${running.join(",")}\n${r}`);
      return r;
    },
    120_000,
    2000,
  );
  return { nodes, pods: podsTable };
}
