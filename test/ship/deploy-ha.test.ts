// The high-availability overlay on the simulated cluster: two replicas on two nodes (required
// anti-affinity), both ready behind the Service's Endpoints, each answering the Metrics API itself,
// and kube-aggregator (with aggregator routing, as the README recommends) spreading requests over both.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  pods,
  startBareCluster,
  waitApiServiceAvailable,
  waitAvailable,
  waitTopListsEverything,
} from "../support/deployed.ts";
import { directRequest } from "../support/https-request.ts";
import { ensureImage, requireTool } from "../support/image.ts";
import { kubectlPath } from "../support/kubectl.ts";
import { renderKustomize } from "../support/manifests.ts";

/** GET as kube-aggregator does: the front-proxy client certificate and the caller in X-Remote-*. */
function viaFrontProxy(dir: string, host: string, path: string): Promise<{ status: number; body: string }> {
  const pki = (f: string) => readFileSync(join(dir, "pki", f));
  // Each replica serves its own self-signed certificate (the base's APIService skips verification).
  return directRequest(host, 10250, path, {
    cert: pki("front-proxy-client.crt"),
    key: pki("front-proxy-client.key"),
    headers: { "x-remote-user": "kubernetes-admin", "x-remote-group": "system:masters" },
  });
}

test("the HA overlay: two replicas on two nodes, both serving", async (t) => {
  const kubectl = kubectlPath(t, 33);
  if (!kubectl || !requireTool(t, "umoci", "umoci")) return;
  const image = await ensureImage(t);
  if (!image) return;
  const c = await startBareCluster(t, kubectl, image, ["--nodes", "3", "--pods-per-node", "2"]);
  await c.apply(await renderKustomize("overlays/test-ha"));
  await waitAvailable(c, 2);
  await waitApiServiceAvailable(c);
  await waitTopListsEverything(c);

  const replicas = await pods(c, "k8s-app=metrics-server");
  assert.equal(replicas.length, 2);
  assert.ok(replicas.every((p) => p.ready && p.podIP));
  assert.notEqual(replicas[0]!.nodeName, replicas[1]!.nodeName, "required anti-affinity on the hostname");

  const endpoints = JSON.parse(
    await c.kubectlOk(["-n", "kube-system", "get", "endpoints", "metrics-server", "-o", "json"]),
  );
  const addresses = (endpoints.subsets ?? []).flatMap((s: { addresses?: { ip: string }[] }) =>
    (s.addresses ?? []).map((a) => a.ip),
  );
  assert.deepEqual(
    addresses.sort(),
    replicas.map((p) => p.podIP).sort(),
    "both replicas are ready endpoints",
  );

  for (const p of replicas) {
    const r = await viaFrontProxy(c.dir, p.podIP!, "/apis/metrics.k8s.io/v1beta1/nodes");
    assert.equal(r.status, 200, `${p.name} answers: ${r.body}`);
    assert.equal(JSON.parse(r.body).items.length, 3, `${p.name} scrapes every node itself`);
  }

  // Twenty requests through the API server: all answered, whichever replica each went to.
  for (let i = 0; i < 20; i++) {
    const r = await c.kubectl(["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]);
    assert.equal(r.code, 0, r.stderr);
  }
});
