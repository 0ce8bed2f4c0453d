// The start-up self-check on the simulated cluster, and the service proxy that reaches the server's
// health endpoints through kube-apiserver (kubectl get --raw .../services/.../proxy/readyz).
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { startCluster } from "./support/cluster.ts";
import { kubectl, kubectlPath } from "./support/kubectl.ts";
import { poll } from "./support/poll.ts";

const selfCheckLines = (lines: string[], msg: string, check: string) =>
  lines.filter((l) => l.includes(`"${msg}" check="${check}"`));

test("on a healthy cluster every self-check passes, and the service proxy reaches /readyz", async (t) => {
  const kubectlBin = kubectlPath(t, 33);
  if (!kubectlBin) return;
  const c = await startCluster(t, {
    simArgs: ["--nodes", "2", "--pods-per-node", "2", "--seed", "5"],
    resolution: "2s",
    serverArgs: ["--v=1"],
  });
  // The APIService becomes Available once the server answers discovery; it is read every 30 s.
  for (const check of ["front-proxy-ca", "kubelet-certificates", "first-scrape", "apiservice-available"]) {
    await poll(`self-check ${check} passed`, async () =>
      selfCheckLines(c.server.lines(), "Self-check passed", check).length > 0 ? true : undefined,
    );
  }
  assert.deepEqual(
    c.server.lines().filter((l) => l.includes('"Self-check failed"')),
    [],
    "no self-check failed",
  );

  // The service proxy: the Service's port is named "https", so it is addressed by name or number.
  for (const id of ["https:metrics-server:https", "https:metrics-server:443"]) {
    const r = await kubectl(t, kubectlBin, c.kubeconfig, [
      "get",
      "--raw",
      `/api/v1/namespaces/kube-system/services/${id}/proxy/readyz?verbose`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[\+\]metric-storage-ready ok/);
    assert.match(r.stdout, /readyz check passed/);
  }
  // As kube-apiserver: no port in the id means the unnamed port, which this Service does not have.
  const unnamed = await kubectl(t, kubectlBin, c.kubeconfig, [
    "get",
    "--raw",
    "/api/v1/namespaces/kube-system/services/https:metrics-server:/proxy/readyz",
  ]);
  assert.notEqual(unnamed.code, 0);
  assert.match(unnamed.stderr, /ServiceUnavailable|unable to handle the request/);
});

test("a wrong kubelet CA fails kubelet-certificates once, naming the node and the flags", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--nodes", "2", "--pods-per-node", "1", "--seed", "6"],
    resolution: "2s",
    // A real CA, but not the one that signed the kubelets' serving certificates.
    serverArgs: (dir) => [`--kubelet-certificate-authority=${join(dir, "pki", "front-proxy-ca.crt")}`],
  });
  const failed = await poll("kubelet-certificates failed", async () => {
    const l = selfCheckLines(c.server.lines(), "Self-check failed", "kubelet-certificates");
    return l.length > 0 ? l : undefined;
  });
  const node = c.truth.nodes.map((n) => n.name).find((n) => failed[0].includes(` node="${n}" `));
  assert.ok(node, failed[0]);
  assert.match(failed[0], /x509|certificate/);
  assert.match(failed[0], /--kubelet-certificate-authority/);
  assert.match(failed[0], /--kubelet-insecure-tls/);
  // Three resolutions without a scrape: first-scrape fails too, naming the certificate error; by then
  // several ticks have seen the same failure, still logged once.
  const first = await poll("first-scrape failed", async () => {
    const l = selfCheckLines(c.server.lines(), "Self-check failed", "first-scrape");
    return l.length > 0 ? l : undefined;
  });
  assert.match(first[0], /failed with CertificateInvalid/);
  assert.equal(selfCheckLines(c.server.lines(), "Self-check failed", "kubelet-certificates").length, 1);
});
