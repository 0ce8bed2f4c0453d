// `npm start` as a new user runs it: the demo prints what to run, the printed kubectl command works,
// and Ctrl-C (SIGINT to the demo) stops both children, leaving no process behind. --server-arg
// reaches the server, and a bad one fails as the server would, before anything starts.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { kubectl, kubectlPath } from "./support/kubectl.ts";
import { randomIpBase } from "./support/loopback.ts";
import { root, tempDir } from "./support/paths.ts";
import { poll } from "./support/poll.ts";
import { run, startNodeProcess } from "./support/processes.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the demo's children, found through /proc (the demo spawns them with this Node). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return kids;
}

test("npm start: the printed kubectl command shows every node, and Ctrl-C leaves nothing behind", async (t) => {
  const bin = kubectlPath(t, 33);
  if (!bin) return;
  const dir = tempDir(t, "ms-demo-");
  const demo = await startNodeProcess(
    t,
    "scripts/demo.ts",
    [
      "--dir",
      dir,
      "--ip-base",
      randomIpBase(t),
      "--nodes",
      "3",
      "--pods-per-node",
      "2",
      "--metric-resolution",
      "5s",
    ],
    "Ctrl-C stops everything",
  );
  const kubeconfig = join(dir, "kubeconfig");
  assert.match(demo.output(), new RegExp(`kubectl --kubeconfig ${kubeconfig} top node`));
  assert.match(demo.output(), new RegExp(`kubectl metrics status --kubeconfig ${kubeconfig}`));
  // Each child's lines say which child once: "[kube-sim] ready: …", not "[kube-sim] kube-sim ready: …".
  assert.match(demo.output(), /^\[kube-sim\] ready: /m);
  assert.doesNotMatch(demo.output(), /^\[(kube-sim|metrics-server)\] \1\b/m);

  const out = await poll("kubectl top node through the demo", async () => {
    const r = await kubectl(t, bin, kubeconfig, ["top", "node"]);
    return r.code === 0 && !r.stdout.includes("<unknown>") ? r.stdout : undefined;
  });
  assert.equal(out.trim().split("\n").length, 1 + 3, out);

  const pid = demo.child.pid!;
  const kids = childrenOf(pid);
  assert.equal(kids.length, 2, "the demo runs the simulator and the metrics-server");
  process.kill(pid, "SIGINT");
  await poll("the demo and its children to exit", async () =>
    [pid, ...kids].every((p) => !alive(p)) ? true : undefined,
  );
  assert.equal(demo.child.exitCode, 0);
});

/** The demo run to completion (it exits at once on a bad flag). */
function demoExits(args: string[]) {
  return run(process.execPath, [join(root, "scripts/demo.ts"), ...args], { timeoutMs: 30_000 });
}

test("a bad --server-arg exits 1 with the server's own message, before anything starts", async (t) => {
  for (const arg of ["--bogus", "--kubelet-port=0", "--metric-resolution=fast"]) {
    const server = await run(join(root, "bin/metrics-server"), [arg], { timeoutMs: 30_000 });
    assert.equal(server.code, 1, server.stderr);
    const message = server.stderr.trim().split("\n")[0];
    assert.match(message, /^Error: /);

    const dir = tempDir(t, "ms-demo-bad-");
    const demo = await demoExits(["--dir", dir, `--server-arg=${arg}`]);
    assert.equal(demo.code, 1, demo.stderr);
    assert.ok(demo.stderr.includes(message), `${JSON.stringify(message)} in ${demo.stderr}`);
    assert.match(demo.stderr, new RegExp(`^demo: --server-arg ${arg}: metrics-server would refuse it`));
    assert.ok(!existsSync(join(dir, "kubeconfig")), "nothing was started");
  }
});

test("--server-arg may not move the server off what the demo wires into the cluster", async (t) => {
  for (const [arg, flag] of [
    ["--bind-address=127.0.0.1", "--bind-address"],
    ["--secure-port=8443", "--secure-port"],
    ["--kubeconfig=/dev/null", "--kubeconfig"],
  ]) {
    const demo = await demoExits(["--dir", tempDir(t, "ms-demo-wired-"), `--server-arg=${arg}`]);
    assert.equal(demo.code, 1, demo.stderr);
    assert.match(demo.stderr, new RegExp(`^demo: --server-arg may not change ${flag}:`));
  }
  const help = await demoExits(["--server-arg=--help"]);
  assert.equal(help.code, 1);
  assert.match(help.stderr, /metrics-server would print its help and exit/);
  const deploy = await demoExits(["--deploy", "--server-arg=--v=4"]);
  assert.equal(deploy.code, 1);
  assert.match(deploy.stderr, /with --deploy the server's flags come from deploy\/overlays\/test/);
});

test("--server-arg reaches the server: e2e.yaml with the node selector its comment names", async (t) => {
  const bin = kubectlPath(t, 33);
  if (!bin) return;
  const scenario = join(root, "sim/scenarios/e2e.yaml");
  // The selector the scenario's comment asks for, taken from the file so the two cannot drift.
  const selector = /--server-arg=(--node-selector=\S+)/.exec(readFileSync(scenario, "utf8"))?.[1];
  assert.equal(selector, "--node-selector=metrics-server-skip!=true");
  const dir = tempDir(t, "ms-demo-e2e-");
  await startNodeProcess(
    t,
    "scripts/demo.ts",
    [
      "--dir",
      dir,
      "--ip-base",
      randomIpBase(t),
      "--scenario",
      scenario,
      "--metric-resolution",
      "5s",
      `--server-arg=${selector}`,
    ],
    "Ctrl-C stops everything",
  );
  // kubectl top node lists every Node and shows <unknown> for one without metrics, so ask the
  // Metrics API which nodes it serves.
  const kubeconfig = join(dir, "kubeconfig");
  const served = await poll("NodeMetrics through the demo", async () => {
    const r = await kubectl(t, bin, kubeconfig, ["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]);
    if (r.code !== 0) return undefined;
    const items = (JSON.parse(r.stdout) as { items: { metadata: { name: string } }[] }).items;
    return items.length > 0 ? items.map((i) => i.metadata.name).sort() : undefined;
  });
  assert.deepEqual(served, ["e2e-control-plane", "e2e-worker"]);
  const top = await kubectl(t, bin, kubeconfig, ["top", "node", "e2e-worker"]);
  assert.equal(top.code, 0, top.stderr);
  assert.match(top.stdout, /^e2e-worker +\d+m +\d+%/m);
});

/** Why this machine cannot run --deploy with the real image, or undefined when it can. */
function deployUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return "not root (the simulator's container runtime needs root)";
  for (const tool of ["buildah", "umoci"]) {
    const found = (process.env.PATH ?? "")
      .split(":")
      .some((dir) => dir !== "" && existsSync(join(dir, tool)));
    if (!found) return `${tool} is missing (Debian package ${tool})`;
  }
  return undefined;
}

test("npm start -- --deploy: the image and the manifests we ship serve kubectl top", async (t) => {
  const why = deployUnsupported();
  if (why !== undefined) {
    if (process.env.CI === "true") throw new Error(`--deploy cannot run on the CI machine: ${why}`);
    t.skip(why);
    return;
  }
  const bin = kubectlPath(t, 33);
  if (!bin) return;
  const dir = tempDir(t, "ms-demo-deploy-");
  const demo = await startNodeProcess(
    t,
    "scripts/demo.ts",
    ["--deploy", "--kubectl", bin, "--dir", dir, "--ip-base", randomIpBase(t), "--nodes", "3"],
    "Ctrl-C stops everything",
    280_000,
  );
  assert.match(demo.output(), /deployment\.apps\/metrics-server condition met/);
  assert.match(demo.output(), /the pods run registry\.example\.com\/metrics-server-ts:v\d+\.\d+\.\d+ from /);
  const kubeconfig = join(dir, "kubeconfig");
  const out = await poll("kubectl top node through the deployed pod", async () => {
    const r = await kubectl(t, bin, kubeconfig, ["top", "node", "--no-headers"]);
    return r.code === 0 && !r.stdout.includes("<unknown>") ? r.stdout : undefined;
  });
  assert.equal(out.trim().split("\n").length, 3, out);
  const pods = await kubectl(t, bin, kubeconfig, [
    "get",
    "pods",
    "-n",
    "kube-system",
    "-l",
    "k8s-app=metrics-server",
    "-o",
    "jsonpath={.items[*].status.phase}",
  ]);
  assert.equal(pods.stdout, "Running", pods.stderr);

  const pid = demo.child.pid!;
  process.kill(pid, "SIGINT");
  await poll("the demo to exit", async () => (demo.child.exitCode !== null ? true : undefined));
  assert.equal(demo.child.exitCode, 0);
});
