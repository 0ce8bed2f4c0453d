// End to end, as a user sees it: the simulated cluster (sim/main.ts) and the metrics-server
// (src/cmd/metrics-server/main.ts) run as separate processes that meet only on the wire; real kubectl
// 1.27 and 1.33 go through the simulator's aggregator to the metrics-server, and what they print is compared
// with the simulator's configured truth (within 5 %, kubectl's rounding included).
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClose, startCluster } from "./support/cluster.ts";
import { kubectl, kubectlPath } from "./support/kubectl.ts";
import { poll } from "./support/poll.ts";

function parseMilli(s: string): number {
  assert.match(s, /^\d+m$/, `CPU column ${JSON.stringify(s)}`);
  return Number(s.slice(0, -1));
}

function parseMi(s: string): number {
  assert.match(s, /^\d+Mi$/, `memory column ${JSON.stringify(s)}`);
  return Number(s.slice(0, -2));
}

function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/));
}

test("kubectl top through the aggregator matches the simulator's truth", async (t) => {
  const k127 = kubectlPath(t, 27);
  const k133 = kubectlPath(t, 33);
  if (!k127 || !k133) return;
  const c = await startCluster(t, { simArgs: ["--nodes", "4", "--pods-per-node", "4", "--seed", "11"] });
  const running = c.truth.pods.filter((p) => p.phase === "Running");
  assert.ok(running.length > 0, "the scenario has running pods");

  for (const [version, bin] of [
    ["1.33", k133],
    ["1.27", k127],
  ] as const) {
    await t.test(`kubectl ${version} top node`, async (t) => {
      const out = await poll("every node in kubectl top node", async () => {
        const r = await kubectl(t, bin, c.kubeconfig, ["top", "node"]);
        if (r.code !== 0 || r.stdout.includes("<unknown>")) return undefined;
        return r.stdout;
      });
      const byName = new Map(rows(out).map((r) => [r[0], r]));
      assert.deepEqual([...byName.keys()].sort(), c.truth.nodes.map((n) => n.name).sort());
      for (const n of c.truth.nodes) {
        const r = byName.get(n.name)!;
        assertClose(`${n.name} cpu (m)`, parseMilli(r[1]!), n.cpuNanocores / 1e6);
        assertClose(`${n.name} memory (Mi)`, parseMi(r[3]!), n.memoryBytes / 2 ** 20);
      }
    });

    await t.test(`kubectl ${version} top pod -A`, async (t) => {
      const out = await poll("every running pod in kubectl top pod -A", async () => {
        const r = await kubectl(t, bin, c.kubeconfig, ["top", "pod", "-A"]);
        if (r.code !== 0) return undefined;
        return rows(r.stdout).length >= running.length ? r.stdout : undefined;
      });
      const byKey = new Map(rows(out).map((r) => [`${r[0]}/${r[1]}`, r]));
      assert.deepEqual([...byKey.keys()].sort(), running.map((p) => `${p.namespace}/${p.name}`).sort());
      for (const p of running) {
        const r = byKey.get(`${p.namespace}/${p.name}`)!;
        const cpu = p.containers.reduce((s, x) => s + x.cpuNanocores, 0) / 1e6;
        const mem = p.containers.reduce((s, x) => s + x.memoryBytes, 0) / 2 ** 20;
        assertClose(`${p.namespace}/${p.name} cpu (m)`, parseMilli(r[2]!), cpu);
        assertClose(`${p.namespace}/${p.name} memory (Mi)`, parseMi(r[3]!), mem);
      }
    });
  }

  await t.test("one pod's PodMetrics lists exactly the containers the kubelet reports", async (t) => {
    const p = running.find((x) => x.containers.length > 1) ?? running[0]!;
    const r = await kubectl(t, k133, c.kubeconfig, [
      "get",
      "--raw",
      `/apis/metrics.k8s.io/v1beta1/namespaces/${p.namespace}/pods/${p.name}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const obj = JSON.parse(r.stdout) as {
      kind: string;
      metadata: { name: string; namespace: string };
      window: string;
      containers: { name: string; usage: { cpu: string; memory: string } }[];
    };
    assert.equal(obj.kind, "PodMetrics");
    assert.equal(obj.metadata.name, p.name);
    assert.match(obj.window, /^\d+(\.\d+)?(s|ms)$/);
    assert.deepEqual(
      obj.containers.map((x) => x.name),
      p.containers.map((x) => x.name).sort(),
    );
  });

  await t.test("kubectl top node -l selects by label", async (t) => {
    const node = c.truth.nodes[0]!.name;
    const r = await kubectl(t, k133, c.kubeconfig, ["top", "node", "-l", `kubernetes.io/hostname=${node}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      rows(r.stdout).map((x) => x[0]),
      [node],
    );
  });

  await t.test("an unknown pod is a NotFound Status printed by kubectl", async (t) => {
    const r = await kubectl(t, k133, c.kubeconfig, ["top", "pod", "no-such-pod", "-n", "default"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(NotFound\): pods "no-such-pod" not found/);
  });

  await t.test(
    "the metrics-server refuses anonymous API requests (403) but serves health checks",
    async () => {
      const [host, port] = c.serverAddress.split(":");
      const https = await import("node:https");
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          https
            .get({ host, port: Number(port), path, rejectUnauthorized: false }, (res) => {
              let body = "";
              res.on("data", (d: Buffer) => {
                body += d.toString();
              });
              res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            })
            .on("error", reject);
        });
      // Anonymous, as kube-apiserver treats a request without credentials; the SubjectAccessReview refuses it.
      const api = await get("/apis/metrics.k8s.io/v1beta1/nodes");
      assert.equal(api.status, 403, api.body);
      assert.equal(
        JSON.parse(api.body).message,
        'nodes.metrics.k8s.io is forbidden: User "system:anonymous" cannot list resource "nodes" in API group "metrics.k8s.io" at the cluster scope',
      );
      const ready = await get("/readyz?verbose");
      assert.equal(ready.status, 200, ready.body);
      assert.match(ready.body, /\[\+\]metric-storage-ready ok\n/);
      assert.match(ready.body, /readyz check passed\n$/);
    },
  );
});
