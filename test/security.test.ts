// Secure by default on both hops, against the simulated cluster doing authentication and
// authorization for real: the metrics-server runs with the least-privilege service-account kubeconfig
// and no CA flags, so it reads the extension-apiserver-authentication ConfigMap, asks the API server
// (TokenReview, SubjectAccessReview) about every caller, and verifies every kubelet.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { apiRequest, readAdminCredentials, readContextCredentials } from "../scripts/cluster.ts";
import { testCert } from "./support/certs.ts";
import { type Cluster, logLines, startCluster, waitForNodes } from "./support/cluster.ts";
import { matching, sampleSum } from "./support/exposition.ts";
import { type DirectCredentials, directRequest } from "./support/https-request.ts";
import { kubectl, kubectlPath } from "./support/kubectl.ts";
import { poll } from "./support/poll.ts";

/** A request straight to the metrics-server (not through the aggregator); TLS verification off. */
function direct(
  c: Cluster,
  path: string,
  creds: DirectCredentials = {},
): Promise<{ status: number; body: string }> {
  const i = c.serverAddress.lastIndexOf(":");
  return directRequest(c.serverAddress.slice(0, i), Number(c.serverAddress.slice(i + 1)), path, creds);
}

const NODES_PATH = "/apis/metrics.k8s.io/v1beta1/nodes";

test("both hops secure by default: delegated authn/authz for callers, verified TLS and auth to kubelets", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "4", "--pods-per-node", "2", "--seed", "61", "--dns-only-san-nodes", "2"],
    resolution: "4s",
    caFlags: false,
    serverKubeconfig: (dir) => join(dir, "metrics-server.kubeconfig"),
  });
  const pki = (f: string) => readFileSync(join(c.dir, "pki", f));
  const frontProxy = { cert: pki("front-proxy-client.crt"), key: pki("front-proxy-client.key") };

  await t.test(
    "kubelets with DNS-only SANs are scraped with verification on, with a service-account token",
    async () => {
      await waitForNodes(
        c,
        c.truth.nodes.map((n) => n.name),
      );
      assert.deepEqual(
        c.server.lines().filter((l) => l.startsWith("E")),
        [],
        "no error lines",
      );
      assert.ok(
        !c.server.lines().some((l) => l.startsWith("W") && l.includes("insecure")),
        "no insecure warning",
      );
    },
  );

  await t.test("kubectl --context viewer top pod -A works; --context nobody is Forbidden", async (t) => {
    const bin = kubectlPath(t, 33);
    if (!bin) return;
    const viewer = await kubectl(t, bin, c.kubeconfig, ["--context", "viewer", "top", "pod", "-A"]);
    assert.equal(viewer.code, 0, viewer.stderr);
    assert.ok(viewer.stdout.trim().split("\n").length > 1, viewer.stdout);
    const nobody = await kubectl(t, bin, c.kubeconfig, ["--context", "nobody", "top", "pod", "-A"]);
    assert.equal(nobody.code, 1);
    assert.match(
      nobody.stderr,
      /Error from server \(Forbidden\): pods\.metrics\.k8s\.io is forbidden: User "nobody" cannot list resource "pods" in API group "metrics\.k8s\.io" at the cluster scope/,
    );
  });

  await t.test(
    "a forged X-Remote-User without the front-proxy cert is anonymous and refused (403)",
    async () => {
      const r = await direct(c, NODES_PATH, {
        headers: { "x-remote-user": "kubernetes-admin", "x-remote-group": "system:masters" },
      });
      assert.equal(r.status, 403, r.body);
      assert.match(JSON.parse(r.body).message, /User "system:anonymous" cannot list resource "nodes"/);
    },
  );

  await t.test("a bad bearer token is 401", async () => {
    const r = await direct(c, NODES_PATH, { token: "not-a-token" });
    assert.equal(r.status, 401, r.body);
    assert.deepEqual(JSON.parse(r.body), {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    });
  });

  await t.test(
    "the front-proxy cert with X-Remote-User: nobody is refused by the server's own SubjectAccessReview",
    async () => {
      const r = await direct(c, NODES_PATH, {
        ...frontProxy,
        headers: { "x-remote-user": "nobody", "x-remote-group": "system:authenticated" },
      });
      assert.equal(r.status, 403, r.body);
      assert.equal(
        JSON.parse(r.body).message,
        'nodes.metrics.k8s.io is forbidden: User "nobody" cannot list resource "nodes" in API group "metrics.k8s.io" at the cluster scope',
      );
      // The same front-proxy identity for a user RBAC allows is served: the refusal above is ours.
      const ok = await direct(c, NODES_PATH, { ...frontProxy, headers: { "x-remote-user": "viewer" } });
      assert.equal(ok.status, 200, ok.body);
    },
  );

  await t.test("a client cert from an unknown CA is rejected (401)", async () => {
    const stranger = await testCert("kubernetes-admin", {}, ["system:masters"]);
    const r = await direct(c, NODES_PATH, {
      cert: Buffer.from(stranger.certPem),
      key: Buffer.from(stranger.keyPem),
    });
    assert.equal(r.status, 401, r.body);
  });

  await t.test("health paths stay open; /metrics needs authorization", async () => {
    for (const p of ["/healthz", "/livez", "/readyz"]) {
      const r = await direct(c, p);
      assert.equal(r.status, 200, `${p}: ${r.body}`);
    }
    const anonymous = await direct(c, "/metrics");
    assert.equal(anonymous.status, 403, anonymous.body);
    assert.equal(
      JSON.parse(anonymous.body).message,
      'forbidden: User "system:anonymous" cannot get path "/metrics"',
    );
    const admin = readAdminCredentials(c.kubeconfig);
    const ok = await direct(c, "/metrics", { cert: admin.cert, key: admin.key });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^# HELP metrics_server_/m);
  });

  await t.test("/metrics has upstream's request, authentication and authorization families", async () => {
    const admin = readAdminCredentials(c.kubeconfig);
    const body = (await direct(c, "/metrics", { cert: admin.cert, key: admin.key })).body;
    const count = (name: string, labels: Record<string, string> = {}) => sampleSum(body, name, labels);
    // The subtests above: lists of nodes through the front proxy, health checks, a bad token (401),
    // anonymous and "nobody" refused by the SubjectAccessReview (403).
    const listNodes = {
      verb: "LIST",
      dry_run: "",
      group: "metrics.k8s.io",
      version: "v1beta1",
      resource: "nodes",
      subresource: "",
      scope: "cluster",
      component: "apiserver",
    };
    assert.ok(count("apiserver_request_total", { ...listNodes, code: "200" }) >= 1, "LIST nodes 200");
    assert.ok(count("apiserver_request_duration_seconds_count", listNodes) >= 1);
    assert.ok(count("apiserver_request_total", { subresource: "/healthz", component: "", code: "200" }) >= 1);
    assert.equal(count("apiserver_request_total", { code: "401" }), 0, "refused before any route");
    assert.equal(count("apiserver_request_total", { code: "403" }), 0, "refused before any route");
    assert.ok(count("authentication_attempts", { result: "error" }) >= 2, "the bad token and the unknown CA");
    assert.ok(count("authentication_attempts", { result: "success" }) >= 1);
    assert.ok(count("authenticated_user_requests", { username: "other" }) >= 1);
    assert.ok(count("authorization_attempts_total", { result: "allowed" }) >= 1);
    assert.ok(count("authorization_attempts_total", { result: "no-opinion" }) >= 2, "anonymous and nobody");
    assert.ok(count("apiserver_delegated_authn_request_total", { code: "201" }) >= 1, "the TokenReview");
    assert.ok(count("apiserver_delegated_authz_request_total", { code: "201" }) >= 1, "SubjectAccessReviews");
    assert.equal(matching(body, "apiserver_current_inflight_requests").length, 2, "readOnly and mutating");
  });

  await t.test("a client CA rotated in the ConfigMap is trusted without a restart", async () => {
    const admin = readAdminCredentials(c.kubeconfig);
    const rotated = await apiRequest(admin, "POST", "/sim/rotate-client-ca");
    assert.equal(rotated.status, 200, rotated.body);
    const user = { cert: pki("rotated.crt"), key: pki("rotated.key") };
    const r = await poll("the rotated user's cert accepted", async () => {
      const res = await direct(c, NODES_PATH, user);
      return res.status === 200 ? res : undefined;
    });
    assert.equal(r.status, 200);
    // Users of the old CA still work (a rotation keeps the old CA for a while).
    const viewer = readContextCredentials(c.kubeconfig, "viewer");
    assert.equal((await direct(c, NODES_PATH, { cert: viewer.cert, key: viewer.key })).status, 200);
  });
});

test("a kubelet with a cert from the wrong CA is refused, with one line that says what to fix", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "3", "--pods-per-node", "1", "--seed", "62", "--fault", "node-1=wrong-ca"],
    resolution: "4s",
  });
  await waitForNodes(c, ["node-0", "node-2"]);
  const lines = await poll("the wrong-CA node's error line", async () => {
    const l = logLines(c, "Failed to scrape node", { node: "node-1" });
    return l.length > 0 ? l : undefined;
  });
  assert.match(lines[0]!, /certificate signed by unknown authority/);
  assert.match(lines[0]!, /--kubelet-certificate-authority/);
  const others = c.server.lines().filter((l) => l.startsWith("E") && !l.includes('node="node-1"'));
  assert.deepEqual(others, []);
});

test("--manage-apiservice-ca-bundle: the APIService gets our CA and the aggregator verifies us with it", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "2", "--pods-per-node", "1", "--seed", "63"],
    resolution: "4s",
    serverArgs: ["--manage-apiservice-ca-bundle"],
  });
  const admin = readAdminCredentials(c.kubeconfig);
  const spec = await poll("the caBundle written", async () => {
    const r = await apiRequest(
      admin,
      "GET",
      "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io",
    );
    const s = (JSON.parse(r.body) as { spec: { caBundle?: string; insecureSkipTLSVerify?: boolean } }).spec;
    return s.caBundle ? s : undefined;
  });
  assert.equal(spec.insecureSkipTLSVerify, false);
  assert.match(Buffer.from(spec.caBundle!, "base64").toString(), /-----BEGIN CERTIFICATE-----/);
  // The diagnostics group's APIService gets the same bundle.
  await poll("the caBundle written into the diagnostics APIService", async () => {
    const r = await apiRequest(
      admin,
      "GET",
      "/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.diagnostics.metrics-server.x-k8s.io",
    );
    const s = (JSON.parse(r.body) as { spec: { caBundle?: string } }).spec;
    return s.caBundle === spec.caBundle ? true : undefined;
  });
  // Through the aggregator, which now verifies the serving cert against that bundle.
  await waitForNodes(
    c,
    c.truth.nodes.map((n) => n.name),
  );
});
