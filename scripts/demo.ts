// `npm start`: a simulated cluster and the metrics-server, wired like a real cluster, on this machine.
//
//   npm start -- --nodes 50 --pods-per-node 30 --seed 7 --metric-resolution 5s
//   npm start -- --scenario sim/scenarios/e2e.yaml --server-arg=--node-selector=metrics-server-skip!=true
//   npm start -- --deploy
//
// Starts sim/main.ts (with this Node) and bin/metrics-server as child processes, registers the metrics
// API as an APIService, prints what to run, forwards Ctrl-C/SIGTERM and stops both on exit. With
// --deploy the simulator runs what we ship instead: the image, installed with kubectl apply -k
// (demo-deploy.ts).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type Options, parseOptions } from "../src/cmd/metrics-server/options/index.ts";
import { formatGoDuration, parseGoDuration } from "../src/go/index.ts";
import { registerMetricsApi } from "./cluster.ts";
import { applyAndWait, findKubectl, imageFlags, TEST_OVERLAY } from "./demo-deploy.ts";
import { type FlagValues, parseFlags, UsageError } from "./flags.ts";
import { imageRef } from "./image-ref.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the demo's metrics-server listens: the address the APIService's Endpoints name. */
const SERVER_HOST = "0.2";
const SERVER_PORT = 4443;

const USAGE = `Usage: npm start -- [options]

Options:
  --nodes N                 simulated nodes (default 8)
  --pods-per-node N         pods per node (default 6)
  --seed N                  scenario seed (default 1)
  --scenario FILE           a YAML scenario instead of a generated one (see sim/scenarios/)
  --metric-resolution DUR   metrics-server --metric-resolution (default 15s)
  --fault NODE=SPEC         make a kubelet misbehave, SPEC one of the kinds below (repeatable)
  --apiserver-fault SPEC    make the simulated API server misbehave, SPEC one of the API-server
                            kinds below (repeatable)
  --summary-only-nodes N    the first N kubelets serve only the Summary API (404 on /metrics/resource)
  --kubelet-endpoint KIND   metrics-server --kubelet-endpoint: auto | resource | summary (default auto)
  -v N                      metrics-server log verbosity (default 1)
  --server-arg ARG          one more metrics-server flag, e.g. --server-arg=--node-selector=role!=infra
                            (repeatable; appended after the demo's own, so a later value wins)
  --deploy                  run what we ship instead: build the image (npm run image), load it into
                            the simulator, kubectl apply -k ${TEST_OVERLAY}, wait until it is Available
  --kubectl PATH            the kubectl for --deploy (default: $KUBECTL, kubectl on PATH, or the newest
                            Google Cloud SDK kubectl.1.NN)
  --ip-base 127.R           the loopback range to use (default: a random one)
  --dir DIR                 where the kubeconfig, PKI and serving certs go (default .demo)
  -h, --help                this help
`;

interface DemoArgs {
  nodes: string;
  podsPerNode: string;
  seed: string;
  scenario?: string;
  faults: string[];
  apiserverFaults: string[];
  summaryOnlyNodes: string;
  dir: string;
  ipBase: string;
  /** The metrics-server's whole command line (without --deploy). */
  serverArgs: string[];
  resolutionMs: number;
  deploy: boolean;
  kubectl?: string;
}

const FLAGS = {
  nodes: { type: "string" },
  "pods-per-node": { type: "string" },
  seed: { type: "string" },
  scenario: { type: "string" },
  "metric-resolution": { type: "string" },
  fault: { type: "string", multiple: true },
  "apiserver-fault": { type: "string", multiple: true },
  "summary-only-nodes": { type: "string" },
  "kubelet-endpoint": { type: "string" },
  v: { type: "string", short: "v" },
  "server-arg": { type: "string", multiple: true },
  deploy: { type: "boolean" },
  kubectl: { type: "string" },
  "ip-base": { type: "string" },
  dir: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function fail(msg: string): never {
  process.stderr.write(`demo: ${msg}\n\n${USAGE}`);
  process.exit(1);
}

/** A whole-number flag's value, or the default. */
function count(flag: string, v: string | undefined, fallback: string): string {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) fail(`invalid argument ${JSON.stringify(v)} for --${flag}: expected a whole number`);
  return v;
}

function parseDemoArgs(argv: string[]): DemoArgs {
  let f: FlagValues<typeof FLAGS>;
  try {
    f = parseFlags(argv, FLAGS);
  } catch (err) {
    if (err instanceof UsageError) fail(err.message);
    throw err;
  }
  if (f.help) {
    process.stdout.write(USAGE);
    // The fault kinds and the /sim/faults body have one home: the simulator's own --help.
    const sim = spawnSync(process.execPath, [join(root, "sim", "main.ts"), "--help"], { encoding: "utf8" });
    const faults = sim.stdout.indexOf("Kubelet fault kinds");
    if (faults >= 0) process.stdout.write(`\n${sim.stdout.slice(faults)}`);
    process.exit(0);
  }
  const ipBase = f["ip-base"] ?? `127.${1 + Math.floor(Math.random() * 254)}`;
  const r = /^127\.(\d{1,3})$/.exec(ipBase);
  if (!r || Number(r[1]) < 1 || Number(r[1]) > 254) {
    fail(`invalid argument ${JSON.stringify(ipBase)} for --ip-base: want 127.R with R in 1..254`);
  }
  const resolution = f["metric-resolution"] ?? "15s";
  try {
    parseGoDuration(resolution);
  } catch (err) {
    fail(`invalid argument ${JSON.stringify(resolution)} for --metric-resolution: ${(err as Error).message}`);
  }
  const dir = resolve(f.dir ?? join(root, ".demo"));
  const kubeletEndpoint = f["kubelet-endpoint"] ?? "auto";
  const verbosity = count("v", f.v, "1");
  const extra = f["server-arg"] ?? [];
  if (f.deploy) {
    const given = (["server-arg", "metric-resolution", "kubelet-endpoint", "v"] as const).filter(
      (k) => f[k] !== undefined,
    );
    if (given.length > 0) {
      fail(
        `--${given[0]} configures the server the demo starts itself; with --deploy the server's flags come from ${TEST_OVERLAY}`,
      );
    }
  } else if (f.kubectl !== undefined) {
    fail("--kubectl is only used with --deploy");
  }
  const own = [
    // As in a real cluster: the service account's token and least-privilege RBAC, the client CAs read
    // from the extension-apiserver-authentication ConfigMap, every caller checked with the API server.
    `--kubeconfig=${join(dir, "metrics-server.kubeconfig")}`,
    `--bind-address=${ipBase}.${SERVER_HOST}`,
    `--secure-port=${SERVER_PORT}`,
    `--cert-dir=${join(dir, "certs")}`,
    `--metric-resolution=${resolution}`,
    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
    "--kubelet-use-node-status-port",
    `--kubelet-endpoint=${kubeletEndpoint}`,
    `--v=${verbosity}`,
  ];
  const options = checkServerArgs(own, extra);
  return {
    nodes: count("nodes", f.nodes, "8"),
    podsPerNode: count("pods-per-node", f["pods-per-node"], "6"),
    seed: count("seed", f.seed, "1"),
    scenario: f.scenario === undefined ? undefined : resolve(f.scenario),
    faults: f.fault ?? [],
    apiserverFaults: f["apiserver-fault"] ?? [],
    summaryOnlyNodes: count("summary-only-nodes", f["summary-only-nodes"], "0"),
    dir,
    ipBase,
    serverArgs: [...own, ...extra],
    resolutionMs: options.metricResolutionMs,
    deploy: f.deploy ?? false,
    kubectl: f.kubectl,
  };
}

/** The server options of the demo's own flags plus --server-arg, parsed as the server will. */
function serverOptions(argv: string[], what: string): Options {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    // The server's own message, as it would print it before exiting 1.
    fail(`${what}: metrics-server would refuse it: Error: ${(err as Error).message}`);
  }
  if (parsed.kind !== "run") {
    fail(
      `${what}: metrics-server would print its ${parsed.kind} and exit; run bin/metrics-server --${parsed.kind}`,
    );
  }
  return parsed.options;
}

/**
 * Checks --server-arg before anything starts: the server must accept the whole command line, and
 * the extra flags may not move it off the address, port and credentials the demo wires into the
 * cluster (the APIService's Endpoints and the service account's kubeconfig).
 */
function checkServerArgs(own: string[], extra: string[]): Options {
  const base = serverOptions(own, "the demo's flags");
  if (extra.length === 0) return base;
  const options = serverOptions([...own, ...extra], `--server-arg ${extra.join(" ")}`);
  const wired: [keyof Options, string][] = [
    ["bindAddress", "--bind-address"],
    ["securePort", "--secure-port"],
    ["kubeconfig", "--kubeconfig"],
  ];
  for (const [key, flag] of wired) {
    if (options[key] !== base[key]) {
      fail(
        `--server-arg may not change ${flag}: the demo wires ${JSON.stringify(base[key])} into the cluster`,
      );
    }
  }
  return options;
}

/**
 * A child's line without the child's own name in front ("kube-sim ready: …" → "ready: …"): the
 * demo's `[name]` prefix says which child once.
 */
function withoutName(name: string, line: string): string {
  if (!line.startsWith(name)) return line;
  const rest = line.slice(name.length);
  const m = /^:? /.exec(rest);
  return m ? rest.slice(m[0].length) : line;
}

const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, script: string, args: string[], readyText: string): Promise<ChildProcess> {
  // bin/ launchers are run as they are (bin/metrics-server adds the memory settings users get).
  const [command, argv] = script.startsWith("bin/")
    ? [join(root, script), args]
    : [process.execPath, [join(root, script), ...args]];
  const child = spawn(command, argv, {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolveReady, reject) => {
    let ready = false;
    const onLine = (stream: NodeJS.WriteStream) => (line: string) => {
      stream.write(`[${name}] ${withoutName(name, line)}\n`);
      if (!ready && line.includes(readyText)) {
        ready = true;
        resolveReady(child);
      }
    };
    createInterface({ input: child.stdout! }).on("line", onLine(process.stdout));
    createInterface({ input: child.stderr! }).on("line", onLine(process.stderr));
    child.on("exit", (code, signal) => {
      if (!ready) reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
      else if (!stopping) {
        process.stderr.write(
          `demo: ${name} exited unexpectedly (code ${code}, signal ${signal}); stopping\n`,
        );
        void shutdown(1);
      }
    });
  });
}

async function shutdown(code: number): Promise<never> {
  stopping = true;
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of alive) c.kill("SIGTERM");
  const deadline = setTimeout(() => {
    for (const c of alive) c.kill("SIGKILL");
  }, 5000);
  await Promise.all(
    alive.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))),
  );
  clearTimeout(deadline);
  process.exit(code);
}

async function main(): Promise<void> {
  const args = parseDemoArgs(process.argv.slice(2));
  // A loopback range of its own (127.R.0.0/16, random unless --ip-base) so kubelets, API server and
  // metrics-server never clash with anything else on the machine.
  const ipBase = args.ipBase;
  const demoDir = args.dir;
  const kubeconfig = join(demoDir, "kubeconfig");
  // Found before anything starts, so a missing kubectl costs nothing.
  const kubectl = args.deploy ? findKubectl(args.kubectl) : undefined;
  mkdirSync(demoDir, { recursive: true });

  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      process.stderr.write(`\ndemo: ${sig}: stopping the metrics-server and the simulated cluster\n`);
      void shutdown(0);
    });
  }

  const simArgs = ["--dir", demoDir, "--ip-base", ipBase, "--seed", args.seed];
  if (args.scenario) simArgs.push("--scenario", args.scenario);
  else simArgs.push("--nodes", args.nodes, "--pods-per-node", args.podsPerNode);
  for (const f of args.faults) simArgs.push("--fault", f);
  for (const f of args.apiserverFaults) simArgs.push("--apiserver-fault", f);
  if (args.summaryOnlyNodes !== "0") simArgs.push("--summary-only-nodes", args.summaryOnlyNodes);

  let resolution = formatGoDuration(args.resolutionMs);
  if (kubectl !== undefined) {
    const image = await imageFlags(imageRef());
    process.stdout.write(`demo: ${image.note}\n`);
    // --bare: only kube-apiserver's bootstrap RBAC, so the RBAC our manifests apply is what counts.
    await start("kube-sim", "sim/main.ts", [...simArgs, "--bare", ...image.flags], "kube-sim ready:");
    await applyAndWait(kubectl, kubeconfig, join(demoDir, "kubectl-cache"));
    resolution = "the manifest's --metric-resolution";
  } else {
    await start("kube-sim", "sim/main.ts", simArgs, "kube-sim ready:");
    await registerMetricsApi(kubeconfig, `${ipBase}.${SERVER_HOST}`, SERVER_PORT);
    await start("metrics-server", "bin/metrics-server", args.serverArgs, "Serving securely on");
  }

  const kc = `--kubeconfig ${kubeconfig}`;
  // The node a --fault breaks is the one worth explaining.
  const explainNode = args.faults[0]?.split("=")[0] ?? "node-0";
  process.stdout.write(`
The simulated cluster and metrics-server are running (metrics appear after the second scrape, one
resolution (${resolution}) after the server starts).
Try, from another terminal:

  kubectl ${kc} top node
  kubectl ${kc} top pod -A
  kubectl ${kc} get --raw /apis/metrics.k8s.io/v1beta1/nodes
  kubectl ${kc} get --raw /sim/truth        # what the simulator is configured to burn
  kubectl ${kc} --context viewer top pod -A   # bound to system:aggregated-metrics-reader
  kubectl ${kc} --context nobody top pod -A   # authenticated, no permissions: Forbidden

Why a metric is missing, with the kubectl plugin in bin/ (docs/cli.md; a kubelet fault such as
--fault node-0=hang gives it something to explain):

  export PATH=${join(root, "bin")}:$PATH
  kubectl metrics status ${kc}    # every node's last scrape, failing nodes first
  kubectl metrics explain node ${explainNode} ${kc}
  kubectl metrics explain pod -n NAMESPACE NAME ${kc}

Ctrl-C stops everything.
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
  void shutdown(1);
});
