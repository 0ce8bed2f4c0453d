// kube-sim: a simulated cluster (kube-apiserver + aggregator + one fake kubelet per node) for running
// metrics-server and kubectl against. Prints one "kube-sim ready:" line on stdout when everything
// listens; logs go to stderr. SIGINT/SIGTERM shut it down cleanly.

import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ApiServer, FAULTS, type FaultControl } from "./apiserver.ts";
import { Cluster } from "./cluster.ts";
import { renderKubeconfigFor, writeKubeconfig, writeKubeconfigText } from "./kubeconfig.ts";
import { type KubeletFault, KubeletFleet, type KubeletView } from "./kubelet.ts";
import { createCA, issueCert } from "./pki.ts";
import { builtinRbac, METRICS_SERVER_SA, type Rbac, serviceAccountUser } from "./rbac.ts";
import { addHpaTarget, generateScenario, loadScenarioFile, nodeIP, type Scenario } from "./scenario.ts";
import { adminUser, randomToken, TokenTable } from "./tokens.ts";

export interface SimOptions {
  nodes: number;
  podsPerNode: number;
  containersPerPod: number | undefined;
  seed: number;
  /** Generated containers get a seeded nonzero swap usage. */
  swap: boolean;
  scenarioFile: string | undefined;
  /** "127.R" */
  ipBase: string;
  port: number;
  dir: string;
  faults: Map<string, KubeletFault>;
  bookmarkIntervalMs: number;
  /** The first N nodes (scenario order) get summary-only kubelets. */
  summaryOnlyNodes: number;
  /** The first N nodes (scenario order) get serving certs with only a DNS SAN (the node name). */
  dnsOnlySanNodes: number;
  /** Plain-HTTP read-only port on every kubelet; undefined = off. */
  readOnlyPort: number | undefined;
  /** false = the API server does not support PartialObjectMetadata. */
  partialMetadata: boolean;
  /** Extra Running pods default/hpa-target-* labelled app=hpa-target (0 = none). */
  hpaReplicas: number;
  help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `Usage: node sim/main.ts [flags]

A simulated Kubernetes cluster: kube-apiserver (with the aggregator) and one kubelet per node.

  --nodes N                 number of nodes to generate (default 3)
  --pods-per-node N         pods per node (default 5)
  --containers-per-pod N    containers per pod (default: 1-3, random)
  --seed N                  random seed of the generated scenario (default 1)
  --swap                    generated containers use some swap (seeded, 1-128 MiB each); without
                            it every swap usage is 0 (scenario files set swap per container)
  --scenario FILE           load the cluster from a YAML scenario instead of generating it
  --ip-base 127.R           loopback range to use, R in 1..254 (default: random)
  --port N                  API server port, 0 = any free port (default 6443)
  --dir DIR                 where to write kubeconfig and pki/ (default .demo)
  --fault NODE=KIND         make NODE's kubelet misbehave: hang | http500 | garbage | wrong-ca
                            (a serving cert from a CA the cluster does not know) (repeatable)
  --bookmark-interval DUR   watch BOOKMARK period, e.g. 60s, 500ms, 1m (default 60s)
  --summary-only-nodes N    the first N nodes' kubelets answer 404 on /metrics/resource and serve
                            only /stats/summary (default 0)
  --dns-only-san-nodes N    the first N nodes' kubelets serve certs whose only SAN is DNS:<node name>
                            (no IP SAN), like scenario field servingCertSANs: dns-only (default 0)
  --read-only-port P        every kubelet also serves plain HTTP (no TLS, no auth) on
                            <InternalIP>:P, like the kubelet's read-only port 10255 (default off)
  --hpa-replicas N          add N Running pods default/hpa-target-<hash>-<suffix> labelled
                            app=hpa-target (1 container each, spread round-robin over the nodes),
                            a fixed-size target for HPA-like queries (default 0 = none)
  --no-partial-metadata     act like an API server without PartialObjectMetadata: full objects when
                            the Accept header also allows application/json, 406 otherwise
  --help                    show this help

Written to DIR: kubeconfig with contexts admin (current; client cert, group system:masters),
viewer (client cert CN=viewer, bound to system:aggregated-metrics-reader) and nobody (client cert
CN=nobody, no permissions); metrics-server.kubeconfig (the token of service account
kube-system/metrics-server, bound as upstream's manifests bind it: least privilege); admin-token
(a bearer token for the admin user); pki/ca.crt, pki/front-proxy-ca.crt, pki/admin.{crt,key}.
Secrets are mode 0600.

Every API request is authenticated (client cert, bearer token, else system:anonymous) and
authorized by RBAC; kubelets accept client certs from pki/ca.crt or the tokens above and
authorize nodes/metrics and nodes/stats the same way (their read-only port stays open).
The API server serves TokenReview, SubjectAccessReview and ConfigMap
kube-system/extension-apiserver-authentication.

Simulator endpoints: GET /sim/truth (any authenticated user), and (admin only) GET|POST
/sim/faults, POST /sim/watches/drop (end every watch stream), POST /sim/compact (410 for older
watches) and POST /sim/rotate-client-ca (trust one more client CA, publish it in the ConfigMap and
write a cert for user "rotated", bound like viewer, to DIR/pki/rotated.{crt,key}).
`;

// Flags that take no value.
const SWITCHES = new Set(["help", "no-partial-metadata", "swap"]);

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration ("1m30s", "500ms") to milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  if (text === "0") return 0;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new UsageError(`invalid duration ${JSON.stringify(text)}: want e.g. 60s, 500ms, 1m30s`);
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (pos === 0)
    throw new UsageError(`invalid duration ${JSON.stringify(text)}: want e.g. 60s, 500ms, 1m30s`);
  return total;
}

function intFlag(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(
      `invalid value ${JSON.stringify(value)} for --${name}: want an integer in ${min}..${max}`,
    );
  }
  return Number(value);
}

/** Parses command-line flags (`--flag value` or `--flag=value`). Throws UsageError on anything wrong. */
export function parseArgs(
  argv: readonly string[],
  randomR: () => number = () => 1 + Math.floor(Math.random() * 254),
): SimOptions {
  const o: SimOptions = {
    nodes: 3,
    podsPerNode: 5,
    containersPerPod: undefined,
    seed: 1,
    swap: false,
    scenarioFile: undefined,
    ipBase: "",
    port: 6443,
    dir: ".demo",
    faults: new Map(),
    bookmarkIntervalMs: 60_000,
    summaryOnlyNodes: 0,
    dnsOnlySanNodes: 0,
    readOnlyPort: undefined,
    partialMetadata: true,
    hpaReplicas: 0,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (SWITCHES.has(name)) {
      if (eq >= 0) throw new UsageError(`flag --${name} takes no value`);
      if (name === "help") o.help = true;
      else if (name === "swap") o.swap = true;
      else o.partialMetadata = false;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${name} needs a value`);
      value = argv[++i];
    }
    switch (name) {
      case "nodes":
        o.nodes = intFlag(name, value, 0, 250 * 254);
        break;
      case "pods-per-node":
        o.podsPerNode = intFlag(name, value, 0, 10_000);
        break;
      case "containers-per-pod":
        o.containersPerPod = intFlag(name, value, 1, 100);
        break;
      case "seed":
        o.seed = intFlag(name, value, 0, 2 ** 32 - 1);
        break;
      case "scenario":
        if (value === "") throw new UsageError("--scenario needs a file name");
        o.scenarioFile = value;
        break;
      case "ip-base": {
        const m = /^127\.(\d{1,3})$/.exec(value);
        if (!m || Number(m[1]) < 1 || Number(m[1]) > 254) {
          throw new UsageError(`invalid --ip-base ${JSON.stringify(value)}: want 127.R with R in 1..254`);
        }
        o.ipBase = `127.${Number(m[1])}`;
        break;
      }
      case "port":
        o.port = intFlag(name, value, 0, 65535); // 0 = any free port (tests)
        break;
      case "dir":
        if (value === "") throw new UsageError("--dir needs a directory");
        o.dir = value;
        break;
      case "fault": {
        const m = /^([^=]+)=(.+)$/.exec(value);
        if (!m || !FAULTS.includes(m[2] as KubeletFault)) {
          throw new UsageError(`invalid --fault ${JSON.stringify(value)}: want NODE=${FAULTS.join("|")}`);
        }
        o.faults.set(m[1], m[2] as KubeletFault);
        break;
      }
      case "bookmark-interval":
        o.bookmarkIntervalMs = parseDuration(value);
        if (o.bookmarkIntervalMs <= 0) throw new UsageError("--bookmark-interval must be positive");
        break;
      case "summary-only-nodes":
        o.summaryOnlyNodes = intFlag(name, value, 0, 250 * 254);
        break;
      case "dns-only-san-nodes":
        o.dnsOnlySanNodes = intFlag(name, value, 0, 250 * 254);
        break;
      case "read-only-port":
        o.readOnlyPort = intFlag(name, value, 1, 65535);
        break;
      case "hpa-replicas":
        o.hpaReplicas = intFlag(name, value, 0, 100_000);
        break;
      default:
        throw new UsageError(`unknown flag --${name} (see --help)`);
    }
  }
  if (o.swap && o.scenarioFile !== undefined) {
    throw new UsageError("--swap applies to generated scenarios; a scenario file sets swap per container");
  }
  if (o.ipBase === "") o.ipBase = `127.${randomR()}`;
  return o;
}

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
  /** The RBAC model every API and kubelet request is authorized with (tests may add bindings). */
  rbac: Rbac;
  /** The token of service account kube-system/metrics-server, in metricsServerKubeconfigPath. */
  metricsServerToken: string;
  metricsServerKubeconfigPath: string;
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
  const rbac = builtinRbac();
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
    faults: () => Object.fromEntries([...faults].sort(([a], [b]) => (a < b ? -1 : 1))),
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
      log,
    });
  } catch (err) {
    await fleet.close();
    throw new Error(`cannot start the API server on ${o.ipBase}.0.1:${o.port}: ${(err as Error).message}`);
  }
  const close = async () => {
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
    metricsServerToken,
    metricsServerKubeconfigPath,
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
