// `kubectl metrics` as a user runs it: the real kubectl 1.33 finds bin/kubectl-metrics on PATH and
// the plugin asks the simulated cluster's API server (the aggregator in front of the real server)
// why a pod on a hanging node has no metrics, for the status of every node, and as a user with no
// permissions. Exit codes: docs/cli.md.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { startCluster } from "./support/cluster.ts";
import { kubectlPath } from "./support/kubectl.ts";
import { root } from "./support/paths.ts";
import { poll } from "./support/poll.ts";
import { run } from "./support/processes.ts";

/** `kubectl metrics ARGS --kubeconfig KC` with bin/ first on PATH (kubectl passes flags after the plugin's name). */
function kubectlMetrics(
  kubectl: string,
  kubeconfig: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(root, "bin")}:${process.env.PATH ?? ""}` };
  delete env.KUBECONFIG;
  return run(kubectl, ["metrics", ...args, "--kubeconfig", kubeconfig], { env, timeoutMs: 60_000 });
}

/** Polls until the command exits with `code` and prints what `ready` wants. */
function until(
  what: string,
  attempt: () => Promise<{ code: number; stdout: string; stderr: string }>,
  code: number,
  ready: (stdout: string) => boolean = () => true,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let last = "";
  return poll(what, async () => {
    const r = await attempt();
    last = `exit ${r.code}: ${r.stdout}${r.stderr}`;
    return r.code === code && ready(r.stdout) ? r : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}\nlast answer: ${last}`);
  });
}

test("kubectl metrics explains a pod on a hanging node, lists it first in status, and needs permission", async (t: TestContext) => {
  const kubectl = kubectlPath(t, 33);
  if (!kubectl) return;
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "2", "--seed", "7", "--fault", "node-0=hang"],
    resolution: "4s",
  });
  const running = c.truth.pods.filter((p) => p.phase === "Running");
  const hung = running.find((p) => p.node === "node-0");
  const healthy = running.find((p) => p.node !== "node-0");
  assert.ok(hung && healthy, "the scenario has a Running pod on node-0 and one elsewhere");

  // A healthy pod: its metrics, exit 0.
  const served = await until(
    "kubectl metrics explain pod for a healthy pod to exit 0",
    () => kubectlMetrics(kubectl, c.kubeconfig, ["explain", "pod", "-n", healthy.namespace, healthy.name]),
    0,
  );
  assert.match(served.stdout, new RegExp(`pod ${healthy.namespace}/${healthy.name}: metrics served, window`));
  assert.match(served.stdout, /CONTAINER\s+CPU\s+MEMORY/);

  // Status: the failing node first, with its error; exit 2.
  const status = await until(
    "kubectl metrics status to list node-0 as failing",
    () => kubectlMetrics(kubectl, c.kubeconfig, ["status"]),
    2,
    (o) => /^node-0\s+Failing/m.test(o),
  );
  const lines = status.stdout.split("\n");
  assert.match(lines[0] ?? "", /^NODE\s+STATE\s+LAST ATTEMPT/);
  assert.match(
    lines[1] ?? "",
    /^node-0\s+Failing\s+\d+s ago \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\s+\d+\s+Timeout/,
  );
  assert.match(status.stdout, /nodes: 3 total, 2 scraped, 1 failing/);
  assert.match(status.stdout, /^server .*: version v\d+\.\d+\.\d+, resolution 4s/m);
  assert.match(status.stdout, /start-up self-check:\n\s+\w+\s+front-proxy-ca: /);

  // The pod on the hanging node: the node, the error and when the last attempt was; exit 2.
  const explained = await until(
    "kubectl metrics explain pod on the hanging node to give its node's failed scrape",
    () => kubectlMetrics(kubectl, c.kubeconfig, ["explain", "pod", `${hung.namespace}/${hung.name}`]),
    2,
    (out) => out.includes("NodeScrapeFailed"),
  );
  const out = explained.stdout;
  assert.match(out, new RegExp(`pod ${hung.namespace}/${hung.name}: no metrics`));
  assert.match(
    out,
    /NodeScrapeFailed: the last scrape of node "node-0" failed \d+s ago \(at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/,
  );
  assert.match(out, /timeout|deadline/i);
  assert.match(out, /→ make sure metrics-server's pods can reach node node-0's kubelet port/);

  const json = await kubectlMetrics(kubectl, c.kubeconfig, [
    "explain",
    "pod",
    `${hung.namespace}/${hung.name}`,
    "-o",
    "json",
  ]);
  assert.equal(json.code, 2, json.stdout + json.stderr);
  const report = JSON.parse(json.stdout) as { result: string; message: string; causes: { reason: string }[] };
  assert.equal(report.result, "Missing");
  assert.ok(
    report.message.startsWith(`podmetrics.metrics.k8s.io "${hung.namespace}/${hung.name}" not found: `),
  );
  assert.equal(report.causes[0]?.reason, "NodeScrapeFailed");

  // The nobody context may read nothing: exit 3, saying which permission is missing.
  const nobody = await kubectlMetrics(kubectl, c.kubeconfig, [
    "explain",
    "pod",
    `${healthy.namespace}/${healthy.name}`,
    "--context",
    "nobody",
  ]);
  assert.equal(nobody.code, 3, nobody.stdout + nobody.stderr);
  assert.match(nobody.stdout, /forbidden: User "nobody"/);
  assert.match(nobody.stdout, /system:aggregated-metrics-reader/);
  const nobodyStatus = await kubectlMetrics(kubectl, c.kubeconfig, ["status", "--context", "nobody"]);
  assert.equal(nobodyStatus.code, 3, nobodyStatus.stdout + nobodyStatus.stderr);
  assert.match(nobodyStatus.stdout, /system:metrics-server-diagnostics-reader/);

  // The same command as `metrics-server explain`.
  const direct = await run(
    join(root, "bin", "metrics-server"),
    ["explain", "node", "node-0", "--kubeconfig", c.kubeconfig],
    { timeoutMs: 60_000 },
  );
  assert.equal(direct.code, 2, direct.stdout + direct.stderr);
  assert.match(direct.stdout, /node node-0: no metrics/);
});
