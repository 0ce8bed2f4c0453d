// Every missing metric explains itself, on the simulated cluster: for each cause the issue names, a
// fault or a change makes it happen, and the 404 of the node's or pod's GET keeps upstream's message
// first and carries the cause (docs/metrics-api.md "Why a metric is missing").
import assert from "node:assert/strict";
import { test } from "node:test";
import { apiRequest, readAdminCredentials } from "../scripts/cluster.ts";
import { startCluster } from "./support/cluster.ts";
import { setFault } from "./support/faults.ts";
import { kubectl, kubectlPath } from "./support/kubectl.ts";
import { poll } from "./support/poll.ts";

// At most 10s (the store's fresh-container age), so a restarted container always waits for a
// second point: the restart is seen for one tick.
const RESOLUTION_S = 8;
const METRICS = "/apis/metrics.k8s.io/v1beta1";
const TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`;

interface Cause {
  reason: string;
  message: string;
  field?: string;
}

interface Answer {
  status: number;
  message: string;
  causes: Cause[];
}

test("every missing metric explains itself: the message and the causes of the 404", async (t) => {
  const c = await startCluster(t, {
    simArgs: [
      "--nodes",
      "10",
      "--pods-per-node",
      "2",
      "--seed",
      "16",
      "--fault",
      "node-0=hang",
      "--fault",
      "node-1=reset",
      "--fault",
      "node-2=wrong-name",
      "--fault",
      "node-3=status:403",
      "--fault",
      "node-6=zero-cpu",
      "--fault",
      "node-8=duplicate-series",
      "--fault",
      "node-9=absurd-memory",
    ],
    resolution: `${RESOLUTION_S}s`,
    serverArgs: ["--kubelet-request-timeout=3s", "--node-selector=kubernetes.io/hostname!=node-4"],
  });
  const creds = readAdminCredentials(c.kubeconfig);
  const get = async (path: string): Promise<Answer> => {
    const r = await apiRequest(creds, "GET", `${METRICS}/${path}`);
    if (r.status !== 404) return { status: r.status, message: "", causes: [] };
    const s = JSON.parse(r.body) as { message: string; details: { causes?: Cause[] } };
    return { status: 404, message: s.message, causes: s.details.causes ?? [] };
  };
  /** Polls a GET until its 404 has a cause of `reason`. */
  const until = (path: string, reason: string, timeoutMs = 60_000) =>
    poll(
      `${path}: ${reason}`,
      async () => {
        const a = await get(path);
        if (!a.causes.some((x) => x.reason === reason)) return undefined;
        t.diagnostic(`${path}: ${a.message}`);
        return a;
      },
      timeoutMs,
      100,
    );
  const pods = (node: string) =>
    c.truth.pods
      .filter((p) => p.node === node && p.phase === "Running")
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const podPath = (p: { namespace: string; name: string }) => `namespaces/${p.namespace}/pods/${p.name}`;
  const [young, restarted] = pods("node-7");
  assert.ok(young && restarted, "two Running pods on node-7");

  await t.test("a young pod: one point so far, and when the second is due", async () => {
    // From the first tick to the second the store has one point of each container.
    const a = await until(podPath(young), "OnePointSoFar", 30_000);
    assert.ok(
      a.message.startsWith(`podmetrics.metrics.k8s.io "${young.namespace}/${young.name}" not found: `),
    );
    const cause = a.causes.find((x) => x.reason === "OnePointSoFar")!;
    assert.match(cause.field ?? "", /^containers\[.+\]$/);
    assert.match(
      cause.message,
      new RegExp(
        `^container ".+" has one point so far, from \\d+s ago \\(at ${TIME}\\).*the second is due with the next scrape of node "node-7", (in about \\d+s|about now) \\(.*${TIME}\\)$`,
      ),
    );
  });

  await t.test("a hanging kubelet: the node, the error, when", async () => {
    const a = await until("nodes/node-0", "NodeScrapeFailed");
    assert.match(
      a.message,
      new RegExp(
        `^nodemetrics\\.metrics\\.k8s\\.io "node-0" not found: the last scrape of node "node-0" failed \\d+s ago \\(at ${TIME}(, \\d+ in a row)?\\): .*(timeout|deadline)`,
        "i",
      ),
    );
    // Its pods say the same, after upstream's message.
    const pod = pods("node-0")[0];
    const p = await until(podPath(pod), "NodeScrapeFailed");
    assert.ok(
      p.message.startsWith(
        `podmetrics.metrics.k8s.io "${pod.namespace}/${pod.name}" not found: the last scrape of node "node-0" failed`,
      ),
    );
  });

  await t.test("a reset connection, a certificate without the node's name, a 403 with the RBAC", async () => {
    const reset = await until("nodes/node-1", "NodeScrapeFailed");
    assert.match(reset.causes[0].message, /failed .*: .*(reset|ECONNRESET|socket hang up|closed)/i);
    const x509 = await until("nodes/node-2", "NodeScrapeFailed");
    // node-2's kubelet listens on 127.R.1.3; its certificate names neither that nor the node.
    const dialled = `${c.ipBase}.1.3`.replaceAll(".", "\\.");
    assert.match(x509.causes[0].message, new RegExp(`x509: .*not ${dialled}`));
    const forbidden = await until("nodes/node-3", "NodeScrapeFailed");
    assert.match(forbidden.causes[0].message, /403.*get on nodes\/metrics/);
  });

  await t.test("a kubelet that refuses connections, then one that answers 401", async () => {
    /** Polls node-1's 404 until its scrape failure matches `pattern`. */
    const failedWith = (pattern: RegExp) =>
      poll(
        `node-1: ${pattern}`,
        async () => {
          const a = await get("nodes/node-1");
          const cause = a.causes.find((x) => x.reason === "NodeScrapeFailed");
          return cause !== undefined && pattern.test(cause.message) ? a : undefined;
        },
        60_000,
        100,
      );
    await setFault(c, "node-1", "refuse");
    const refused = await failedWith(/ECONNREFUSED/);
    const dialled = `${c.ipBase}.1.2:10250`.replaceAll(".", "\\.");
    assert.match(
      refused.message,
      new RegExp(
        `^nodemetrics\\.metrics\\.k8s\\.io "node-1" not found: the last scrape of node "node-1" failed .*ECONNREFUSED ${dialled}`,
      ),
    );
    await setFault(c, "node-1", "status:401");
    const unauthorized = await failedWith(/401/);
    assert.match(
      unauthorized.causes[0].message,
      /401.*the kubelet does not accept this server's credentials/,
    );
  });

  await t.test("a node left out by --node-selector", async () => {
    const a = await until("nodes/node-4", "NodeExcluded");
    assert.deepEqual(a.causes, [
      {
        reason: "NodeExcluded",
        message:
          'node "node-4" is not selected by --node-selector=kubernetes.io/hostname!=node-4, so it is not scraped',
      },
    ]);
    assert.equal(a.message, `nodemetrics.metrics.k8s.io "node-4" not found: ${a.causes[0].message}`);
  });

  await t.test("a NotReady node", async () => {
    await setFault(c, "node-5", "not-ready");
    const a = await until("nodes/node-5", "NodeNotReady");
    assert.match(
      a.causes[0].message,
      /^node "node-5" is not Ready \(Ready=False\); NotReady nodes are not scraped/,
    );
    const p = await until(podPath(pods("node-5")[0]), "NodeNotReady");
    assert.ok(p.message.startsWith("podmetrics.metrics.k8s.io "));
  });

  await t.test("zero values: the container and the node point", async () => {
    const [target] = pods("node-6");
    const container = target.containers.map((x) => x.name).sort()[0];
    const a = await until(podPath(target), "ValuesMissing");
    const cause = a.causes.find((x) => x.reason === "ValuesMissing")!;
    assert.equal(cause.field, `containers[${container}]`);
    assert.match(
      cause.message,
      new RegExp(
        `^container "${container}": cpu is 0 in the last answer of node "node-6"'s kubelet, \\d+s ago`,
      ),
    );
    const n = await until("nodes/node-6", "NodePointMissing");
    assert.match(n.causes[0].message, /no complete node point/);
  });

  await t.test("conflicting values, and values the store refuses", async () => {
    const conflicting = await until(podPath(pods("node-8")[0]), "ValuesConflicting");
    assert.match(
      conflicting.causes.find((x) => x.reason === "ValuesConflicting")!.message,
      /^node "node-8"'s kubelet reported conflicting values for /,
    );
    const refused = await until(podPath(pods("node-9")[0]), "ValuesRefused");
    assert.match(
      refused.causes.find((x) => x.reason === "ValuesRefused")!.message,
      /memory above the node's capacity/,
    );
    const node = await until("nodes/node-9", "ValuesRefused");
    assert.match(
      node.causes[0].message,
      /^node "node-9"'s own point was not stored: memory above the node's capacity/,
    );
  });

  await t.test("a restarted container: when, its restart count, when it is served again", async () => {
    await poll("the pod served", async () =>
      (await get(podPath(restarted))).status === 200 ? true : undefined,
    );
    const container = restarted.containers.map((x) => x.name).sort()[0];
    const r = await apiRequest(creds, "POST", "/sim/restart", {
      namespace: restarted.namespace,
      pod: restarted.name,
      container,
    });
    assert.equal(r.status, 200, r.body);
    const a = await until(podPath(restarted), "ContainerRestarted", 30_000);
    const cause = a.causes.find((x) => x.reason === "ContainerRestarted")!;
    assert.equal(cause.field, `containers[${container}]`);
    assert.match(
      cause.message,
      new RegExp(`restarted \\d+s ago \\(at ${TIME}; restart count 1, last exit: Error, code 137\\)`),
    );
    await poll("served again", async () =>
      (await get(podPath(restarted))).status === 200 ? true : undefined,
    );
  });

  await t.test("a pod that is not Running: its phase", async () => {
    const [pod] = pods("node-7")
      .filter((p) => p !== restarted && p !== young)
      .concat(young);
    const patched = await apiRequest(
      creds,
      "PATCH",
      `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}/status`,
      { status: { phase: "Succeeded" } },
      { "content-type": "application/merge-patch+json" },
    );
    assert.equal(patched.status, 200, patched.body);
    const a = await until(podPath(pod), "PodNotRunning");
    assert.ok(
      a.message.startsWith(`pods "${pod.name}" not found: pod "${pod.namespace}/${pod.name}" is Succeeded `),
    );
    assert.match(a.message, /\(container ".+": Completed.*\); metrics are served for Running pods only$/);
  });

  await t.test("an unknown pod, also as kubectl top shows it", async (st) => {
    const a = await get("namespaces/default/pods/no-such-pod");
    assert.deepEqual(a, {
      status: 404,
      message: 'pods "no-such-pod" not found: pod "default/no-such-pod" does not exist in the API server',
      causes: [
        { reason: "PodUnknown", message: 'pod "default/no-such-pod" does not exist in the API server' },
      ],
    });
    const bin = kubectlPath(st, 33);
    if (!bin) return;
    const top = await kubectl(st, bin, c.kubeconfig, ["top", "pod", "-n", "default", "no-such-pod"]);
    assert.notEqual(top.code, 0);
    assert.match(
      top.stderr,
      /pods "no-such-pod" not found: pod "default\/no-such-pod" does not exist in the API server/,
    );
  });
});
