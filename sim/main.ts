// kube-sim: a simulated cluster (kube-apiserver + aggregator + one fake kubelet per node) for running
// metrics-server and kubectl against. Prints one "kube-sim ready:" line on stdout when everything
// listens; logs go to stderr. SIGINT/SIGTERM shut it down cleanly.

import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ApiServer, type FaultControl } from "./apiserver/index.ts";
import {
  adminUser,
  createCA,
  issueCert,
  METRICS_SERVER_SA,
  Rbac,
  randomToken,
  renderKubeconfigFor,
  type ServiceAccountTokens,
  serviceAccountUser,
  TokenTable,
  writeKubeconfig,
  writeKubeconfigText,
} from "./auth/index.ts";
import { type ControlPlane, startControllers } from "./controllers/index.ts";
import { KubeletFleet } from "./kubelet/index.ts";
import { faultSpec, parseArgs, type SimOptions, USAGE, UsageError } from "./options.ts";
import { ContainerRuntime } from "./runtime/index.ts";
import { addHpaTarget, generateScenario, loadScenarioFile, nodeIP } from "./scenario/index.ts";
import { Cluster } from "./state/index.ts";
import type { KubeletView, Scenario } from "./types.ts";

function log(line: string): void {
  process.stderr.write(`kube-sim ${new Date().toISOString()} ${line}\n`);
}

export interface RunningSim {
  apiserver: ApiServer;
  fleet: KubeletFleet;
  cluster: Cluster;
  kubeconfigPath: string;
  /** The admin bearer token, also written (mode 0600) to adminTokenPath. */
  adminToken: string;
  adminTokenPath: string;
  /** The bearer tokens the API server accepts (the admin token; tests may add users). */
  tokens: TokenTable;
  /** The RBAC model every API and kubelet request is authorized with (it follows the RBAC objects). */
  rbac: Rbac;
  /** Issues bound service account tokens for pods (valid while the ServiceAccount and pod exist). */
  serviceAccountTokens: ServiceAccountTokens;
  /** The token of service account kube-system/metrics-server, in metricsServerKubeconfigPath. */
  metricsServerToken: string;
  metricsServerKubeconfigPath: string;
  /** The scheduler and controllers (tests wait for them to settle). */
  controllers: ControlPlane;
  /** Runs the pods of the loaded images (--image). */
  runtime: ContainerRuntime;
  readyLine: string;
  close(): Promise<void>;
}

/** Starts everything; the caller prints `readyLine`. */
export async function startSim(o: SimOptions): Promise<RunningSim> {
  const nowMs = Date.now();
  const loaded: Scenario = o.scenarioFile
    ? loadScenarioFile(o.scenarioFile, { ipBase: o.ipBase, nowMs })
    : generateScenario({
        nodes: o.nodes,
        podsPerNode: o.podsPerNode,
        containersPerPod: o.containersPerPod,
        seed: o.seed,
        ipBase: o.ipBase,
        nowMs,
        swap: o.swap,
      });
  if (o.hpaReplicas > 0 && loaded.nodes.length === 0) {
    throw new UsageError(`--hpa-replicas ${o.hpaReplicas} needs at least one node to run the pods on`);
  }
  const scenario = addHpaTarget(loaded, { replicas: o.hpaReplicas, seed: o.seed, nowMs });
  for (const node of o.faults.keys()) {
    if (!scenario.nodes.some((n) => n.name === node)) {
      throw new UsageError(`--fault names node ${JSON.stringify(node)}, which is not in the scenario`);
    }
  }
  if (o.summaryOnlyNodes > scenario.nodes.length) {
    throw new UsageError(
      `--summary-only-nodes ${o.summaryOnlyNodes} is more than the scenario's ${scenario.nodes.length} nodes`,
    );
  }
  if (o.dnsOnlySanNodes > scenario.nodes.length) {
    throw new UsageError(
      `--dns-only-san-nodes ${o.dnsOnlySanNodes} is more than the scenario's ${scenario.nodes.length} nodes`,
    );
  }
  const simNodes = scenario.nodes.map((n, i) => ({
    ...n,
    ...(i < o.summaryOnlyNodes ? { summaryOnly: true } : {}),
    ...(i < o.dnsOnlySanNodes ? { servingCertSANs: "dns-only" as const } : {}),
  }));
  const [ca, frontProxyCA] = await Promise.all([createCA("kubernetes"), createCA("front-proxy-ca")]);
  const admin = adminUser();
  const [frontProxyClient, adminCert, viewerCert, nobodyCert] = await Promise.all([
    issueCert(frontProxyCA, { commonName: "front-proxy-client", client: true }),
    issueCert(ca, {
      commonName: admin.name,
      organizations: admin.groups.filter((g) => g !== "system:authenticated"),
      client: true,
    }),
    issueCert(ca, { commonName: "viewer", client: true }),
    issueCert(ca, { commonName: "nobody", client: true }),
  ]);
  const tokens = new TokenTable();
  const adminToken = randomToken();
  tokens.add(adminToken, admin);
  const metricsServerToken = randomToken();
  tokens.add(metricsServerToken, serviceAccountUser(METRICS_SERVER_SA.namespace, METRICS_SERVER_SA.name));
  // Filled from the cluster's RBAC objects once the API server stores them.
  const rbac = new Rbac();
  const dir = resolve(o.dir);
  const pki = join(dir, "pki");

  // The kubelets start first so that nodes asking for any free port (kubeletPort 0) publish the
  // port they got from their very first version on; until the cluster exists nobody can ask them.
  let cluster: Cluster | undefined;
  const view: KubeletView = {
    node: (name) => cluster?.node(name),
    podsOnNode: (name) => cluster?.podsOnNode(name) ?? [],
  };
  const fleet = await KubeletFleet.start({
    view,
    nodes: simNodes,
    ca,
    faults: o.faults,
    // Node faults act on the cluster, which exists once the kubelets listen.
    nodeControl: {
      setReady: (name, ready) => void cluster?.setNodeReady(name, ready),
      deleteNode: async (name) => void (await cluster?.delete("nodes", undefined, name)),
      addNode: async (node) => void (await cluster?.addNode(node)),
    },
    readOnlyPort: o.readOnlyPort,
    auth: { tokens, rbac },
    log,
  });
  const started: Cluster = new Cluster(
    {
      nodes: simNodes.map((n) => ({ ...n, kubeletPort: fleet.kubeletPort(n.name) ?? n.kubeletPort })),
      pods: scenario.pods,
    },
    {
      // A node created through the API without an InternalIP gets the next free kubelet address.
      allocateNodeIP: (start: number): string => {
        const used = new Set(started.scenario().nodes.map((n) => n.internalIP));
        for (let i = start; ; i++) {
          const ip = nodeIP(o.ipBase, i);
          if (!used.has(ip)) return ip;
        }
      },
    },
  );
  cluster = started;
  started.hooks = {
    nodeAdded: (n) => fleet.addNode(n),
    nodeRemoved: (name) => fleet.removeNode(name),
  };
  const faults = new Map(o.faults);
  const faultControl: FaultControl = {
    faults: () =>
      Object.fromEntries([...faults].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, f]) => [n, faultSpec(f)])),
    setFault: (node, fault) => {
      if (fault) faults.set(node, fault);
      else faults.delete(node);
      return fleet.setFault(node, fault);
    },
  };
  let apiserver: ApiServer;
  try {
    apiserver = await ApiServer.start({
      cluster: started,
      ca,
      frontProxyClient,
      host: `${o.ipBase}.0.1`,
      port: o.port,
      bookmarkIntervalMs: o.bookmarkIntervalMs,
      faults: faultControl,
      tokens,
      rbac,
      frontProxyCACertPem: frontProxyCA.certPem,
      onClientCARotated: async (_rotatedCA, user) => {
        await mkdir(pki, { recursive: true });
        await writeFile(join(pki, "rotated.crt"), user.certPem);
        await writeSecret(join(pki, "rotated.key"), user.keyPem);
      },
      partialMetadata: o.partialMetadata,
      bare: o.bare,
      apiFaults: o.apiserverFaults,
      log,
    });
  } catch (err) {
    await fleet.close();
    throw new Error(`cannot start the API server on ${o.ipBase}.0.1:${o.port}: ${(err as Error).message}`);
  }
  const controllers = startControllers(started, log);
  const api = new URL(apiserver.url);
  const runtime = new ContainerRuntime({
    cluster: started,
    images: o.images,
    hostCommands: o.imageCommands,
    dir,
    // Third octet 255: node addresses use 1..254 (scenario nodeIP), the API server .0.1.
    podIPPrefix: `${o.ipBase}.255`,
    apiServer: () => ({ host: api.hostname, port: Number(api.port) }),
    caCertPem: ca.certPem,
    // A bound token, as the kubelet projects one: valid while the service account and this pod exist.
    issueServiceAccountToken: (namespace, serviceAccount, pod) =>
      apiserver.serviceAccountTokens.issueServiceAccountToken(namespace, serviceAccount, pod),
    log,
  });
  const close = async () => {
    controllers.close();
    await runtime.close();
    await apiserver.close();
    await fleet.close();
  };

  const kubeconfigPath = join(dir, "kubeconfig");
  const adminTokenPath = join(dir, "admin-token");
  const metricsServerKubeconfigPath = join(dir, "metrics-server.kubeconfig");
  try {
    await mkdir(pki, { recursive: true });
    await writeFile(join(pki, "ca.crt"), ca.certPem);
    await writeFile(join(pki, "front-proxy-ca.crt"), frontProxyCA.certPem);
    await writeFile(join(pki, "admin.crt"), adminCert.certPem);
    await writeSecret(join(pki, "admin.key"), adminCert.keyPem);
    // The aggregator's client cert, where kubeadm keeps it: tests use it to talk to an extension API
    // server exactly as kube-apiserver does.
    await writeFile(join(pki, "front-proxy-client.crt"), frontProxyClient.certPem);
    await writeSecret(join(pki, "front-proxy-client.key"), frontProxyClient.keyPem);
    // No trailing newline, like a service account token file.
    await writeSecret(adminTokenPath, adminToken);
    await writeKubeconfig(kubeconfigPath, {
      server: apiserver.url,
      caCertPem: ca.certPem,
      client: adminCert,
      extraUsers: [
        { name: "viewer", client: viewerCert },
        { name: "nobody", client: nobodyCert },
      ],
    });
    await writeKubeconfigText(
      metricsServerKubeconfigPath,
      renderKubeconfigFor(apiserver.url, ca.certPem, [{ name: "metrics-server", token: metricsServerToken }]),
    );
  } catch (err) {
    await close();
    throw new Error(`cannot write the cluster files to ${dir}: ${(err as Error).message}`);
  }

  const readyLine =
    `kube-sim ready: apiserver=${apiserver.url} kubeconfig=${kubeconfigPath} ` +
    `nodes=${scenario.nodes.length} pods=${scenario.pods.length}`;
  return {
    apiserver,
    fleet,
    cluster: started,
    kubeconfigPath,
    adminToken,
    adminTokenPath,
    tokens,
    rbac,
    serviceAccountTokens: apiserver.serviceAccountTokens,
    metricsServerToken,
    metricsServerKubeconfigPath,
    controllers,
    runtime,
    readyLine,
    close,
  };
}

/** Writes a file only its owner may read (also when it already existed with another mode). */
async function writeSecret(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
}

async function main(): Promise<void> {
  let opts: SimOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`kube-sim: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  let sim: RunningSim;
  try {
    sim = await startSim(opts);
  } catch (err) {
    process.stderr.write(`kube-sim: ${(err as Error).message}\n`);
    process.exit(1);
  }
  log(`apiserver listening on ${sim.apiserver.url}; kubeconfig written to ${sim.kubeconfigPath}`);
  process.stdout.write(sim.readyLine + "\n");
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`received ${signal}, shutting down`);
    sim.close().then(
      () => process.exit(0),
      (err) => {
        log(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

if (import.meta.main) await main();
