// The diagnostics group on the simulated cluster, through its aggregator with real kubectl: the
// scrape status of a hanging node, a node whose kubelet refuses us (403), a node left out by
// --node-selector and a healthy one; the replica's ServerStatus; and 403 for users without the
// diagnostics reader role, from kube-apiserver and from the server's own SubjectAccessReview.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { apiRequest, readAdminCredentials } from "../scripts/cluster.ts";
import { type Cluster, startCluster } from "./support/cluster.ts";
import { directRequest } from "./support/https-request.ts";
import { kubectl, kubectlPath } from "./support/kubectl.ts";
import { poll } from "./support/poll.ts";

const V = "/apis/diagnostics.metrics-server.x-k8s.io/v1alpha1";

interface NodeScrape {
  metadata: { name: string };
  status: {
    state: string;
    consecutiveFailures?: number;
    error?: { kind: string; message: string; httpStatus?: number };
    pods?: number;
    lastAttempt?: string;
  };
}

interface ServerStatus {
  resolution: string;
  nodes: Record<string, number>;
  checks: { name: string; status: string }[];
}

function direct(c: Cluster, path: string, creds: Parameters<typeof directRequest>[3]) {
  const i = c.serverAddress.lastIndexOf(":");
  return directRequest(c.serverAddress.slice(0, i), Number(c.serverAddress.slice(i + 1)), path, creds);
}

test("kubectl get nodescrapes and serverstatuses: failing nodes first, 403 without the role", async (t) => {
  const c = await startCluster(t, {
    simArgs: [
      "--nodes",
      "4",
      "--pods-per-node",
      "1",
      "--seed",
      "16",
      "--fault",
      "node-0=hang",
      "--fault",
      "node-1=status:403",
    ],
    resolution: "4s",
    serverArgs: ["--node-selector=kubernetes.io/hostname!=node-2"],
  });
  const creds = readAdminCredentials(c.kubeconfig);

  const items = await poll("node-0 and node-1 failing, node-3 scraped", async () => {
    const r = await apiRequest(creds, "GET", `${V}/nodescrapes`);
    if (r.status !== 200) return undefined;
    const list = JSON.parse(r.body) as { kind: string; items: NodeScrape[] };
    const states = list.items.map((i) => `${i.metadata.name}=${i.status.state}`).join(",");
    return states === "node-0=Failing,node-1=Failing,node-2=Excluded,node-3=Scraped" ? list.items : undefined;
  });

  await t.test("the JSON says why each node failed", () => {
    const [hang, forbidden, excluded, healthy] = items;
    assert.equal(hang!.status.error?.kind, "Timeout", JSON.stringify(hang));
    assert.equal(forbidden!.status.error?.kind, "Forbidden", JSON.stringify(forbidden));
    assert.equal(forbidden!.status.error?.httpStatus, 403);
    assert.ok((forbidden!.status.consecutiveFailures ?? 0) >= 1);
    assert.deepEqual(excluded!.status, { state: "Excluded" });
    assert.equal(healthy!.status.pods, 1);
    assert.equal(healthy!.status.error, undefined);
  });

  const bin = kubectlPath(t, 33);
  if (!bin) return;

  await t.test("kubectl get --raw reaches the group through the aggregator", async () => {
    const r = await kubectl(t, bin, c.kubeconfig, ["get", "--raw", `${V}/nodescrapes/node-1`]);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as NodeScrape & { kind: string };
    assert.equal(o.kind, "NodeScrape");
    assert.equal(o.status.state, "Failing");
  });

  for (const minor of [27, 33]) {
    await t.test(`kubectl 1.${minor} get nodescrapes prints the Table, failing nodes first`, async (t) => {
      const path = minor === 33 ? bin : kubectlPath(t, minor);
      if (!path) return;
      const r = await kubectl(t, path, c.kubeconfig, ["get", "nodescrapes"]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.match(
        lines[0]!,
        /^NAME\s+STATE\s+LAST ATTEMPT\s+DURATION\s+ENDPOINT\s+PODS\s+FAILURES\s+ERROR$/,
      );
      assert.deepEqual(
        lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(" ")),
        ["node-0 Failing", "node-1 Failing", "node-2 Excluded", "node-3 Scraped"],
      );
      assert.match(lines[1]!, /Timeout: /);
      assert.match(lines[2]!, /Forbidden: /);
    });
  }

  await t.test("kubectl get serverstatuses prints this replica", async () => {
    const r = await kubectl(t, bin, c.kubeconfig, ["get", "serverstatuses"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0]!, /^NAME\s+NODES\s+FAILING\s+PODS\s+LAST TICK\s+CHECKS$/);
    assert.equal(lines.length, 2, r.stdout);
    const [, nodes, failing, pods] = lines[1]!.split(/\s+/);
    assert.deepEqual([nodes, failing, pods], ["4", "2", "1"]);
    const json = await kubectl(t, bin, c.kubeconfig, ["get", "serverstatuses", "-o", "json"]);
    const status = (JSON.parse(json.stdout) as { items: { status: ServerStatus }[] }).items[0]!.status;
    assert.deepEqual(status.nodes, {
      total: 4,
      scraped: 1,
      failing: 2,
      notReady: 0,
      excluded: 1,
      pending: 0,
    });
    assert.equal(status.resolution, "4s");
    // The start-up self-check, in its order; a node scraped means first-scrape passed.
    assert.deepEqual(
      status.checks.map((c) => c.name),
      ["front-proxy-ca", "apiservice-available", "kubelet-certificates", "first-scrape"],
    );
    assert.equal(status.checks.find((c) => c.name === "first-scrape")?.status, "Passed");
  });

  for (const user of ["viewer", "nobody"]) {
    await t.test(`--context ${user} is Forbidden on both resources`, async () => {
      for (const resource of ["nodescrapes", "serverstatuses"]) {
        const r = await kubectl(t, bin, c.kubeconfig, ["--context", user, "get", resource]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(
          r.stderr,
          new RegExp(
            `Error from server \\(Forbidden\\): ${resource}\\.diagnostics\\.metrics-server\\.x-k8s\\.io is forbidden: ` +
              `User "${user}" cannot list resource "${resource}" in API group "diagnostics\\.metrics-server\\.x-k8s\\.io" at the cluster scope`,
          ),
        );
      }
    });
  }

  await t.test("the reader role is aggregated to view: a user bound to view may list", async () => {
    const bound = await apiRequest(creds, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "diag-test-view" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "jane" }],
    });
    assert.equal(bound.status, 201, bound.body);
    const r = await kubectl(t, bin, c.kubeconfig, [
      "--as",
      "jane",
      "get",
      "nodescrapes,serverstatuses",
      "-o",
      "name",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^nodescrape\.diagnostics\.metrics-server\.x-k8s\.io\/node-0$/m);
    assert.match(r.stdout, /^serverstatus\.diagnostics\.metrics-server\.x-k8s\.io\//m);
  });

  await t.test("the server's own SubjectAccessReview refuses a viewer (front-proxy identity)", async () => {
    const pki = (f: string) => readFileSync(join(c.dir, "pki", f));
    const frontProxy = { cert: pki("front-proxy-client.crt"), key: pki("front-proxy-client.key") };
    for (const resource of ["nodescrapes", "serverstatuses"]) {
      const denied = await direct(c, `${V}/${resource}`, {
        ...frontProxy,
        headers: { "x-remote-user": "viewer" },
      });
      assert.equal(denied.status, 403, denied.body);
      assert.match(
        JSON.parse(denied.body).message,
        new RegExp(
          `User "viewer" cannot list resource "${resource}" in API group "diagnostics\\.metrics-server\\.x-k8s\\.io"`,
        ),
      );
    }
    const allowed = await direct(c, `${V}/nodescrapes`, {
      ...frontProxy,
      headers: { "x-remote-user": "admin", "x-remote-group": "system:masters" },
    });
    assert.equal(allowed.status, 200, allowed.body);
  });
});
