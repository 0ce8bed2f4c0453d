// The simulated cluster's authentication and authorization, end to end over HTTPS: users and
// kubeconfigs, RBAC on every request, TokenReview/SubjectAccessReview, the
// extension-apiserver-authentication ConfigMap and client-CA rotation, the aggregator's identity
// headers and caBundle verification, and the kubelets' authn/authz and serving certificates.

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import YAML from "yaml";
import { readAdminCredentials, readContextCredentials, registerMetricsApi } from "../scripts/cluster.ts";
import { type CertAndKey, createCA, issueCert } from "./auth/index.ts";
import { type RunningSim, startSim } from "./main.ts";
import { parseArgs } from "./options.ts";

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON bodies are read field by field in assertions
type Json = Record<string, any>;

interface Creds {
  ca: string;
  client?: CertAndKey;
  token?: string;
}

interface Reply {
  status: number;
  text: string;
  headers: IncomingHttpHeaders;
  json(): Json;
}

function call(
  url: string,
  creds: Creds,
  opts: { method?: string; body?: unknown; headers?: Record<string, string>; servername?: string } = {},
): Promise<Reply> {
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method ?? "GET",
        ca: creds.ca,
        cert: creds.client?.certPem,
        key: creds.client?.keyPem,
        agent: false,
        ...(opts.servername ? { servername: opts.servername } : {}),
        headers: {
          accept: "application/json",
          ...(creds.token ? { authorization: `Bearer ${creds.token}` } : {}),
          ...(payload ? { "content-type": "application/json" } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, text, headers: res.headers, json: () => JSON.parse(text) });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const randomR = () => 2 + Math.floor(Math.random() * 253);

describe("kube-sim authentication and authorization", () => {
  const ipBase = `127.${randomR()}`;
  let dir: string;
  let sim: RunningSim;
  let ca: string;
  let base: string;
  let admin: Creds;
  let viewer: Creds;
  let nobody: Creds;
  let metricsServer: Creds;
  let backend: https.Server;
  let backendCA: Awaited<ReturnType<typeof createCA>>;
  const seen: IncomingHttpHeaders[] = [];

  const contextCreds = (context: string): Creds => {
    const c = readContextCredentials(join(dir, "kubeconfig"), context);
    return { ca, client: { certPem: c.cert.toString(), keyPem: c.key.toString() } };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kube-sim-auth-"));
    sim = await startSim(
      parseArgs([
        "--nodes=3",
        "--pods-per-node=1",
        `--ip-base=${ipBase}`,
        "--port=0",
        `--dir=${dir}`,
        "--dns-only-san-nodes=1",
        "--fault=node-2=wrong-ca",
      ]),
    );
    base = sim.apiserver.url;
    ca = await readFile(join(dir, "pki", "ca.crt"), "utf8");
    admin = contextCreds("admin");
    viewer = contextCreds("viewer");
    nobody = contextCreds("nobody");
    metricsServer = { ca, token: sim.metricsServerToken };

    // A stand-in metrics-server that echoes the identity headers it received.
    backendCA = await createCA("backend-ca");
    const serving = await issueCert(backendCA, {
      commonName: "metrics-server",
      dnsNames: ["metrics-server.kube-system.svc"],
      server: true,
    });
    backend = https.createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ kind: "APIResourceList", groupVersion: "metrics.k8s.io/v1beta1", resources: [] }),
      );
    });
    await new Promise<void>((resolve) => backend.listen(0, `${ipBase}.0.2`, resolve));
  });
  after(async () => {
    await sim?.close();
    await new Promise<void>((resolve) => (backend ? backend.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("the kubeconfig has admin (current), viewer and nobody; metrics-server.kubeconfig holds the SA token", async () => {
    const kc = YAML.parse(await readFile(join(dir, "kubeconfig"), "utf8"));
    assert.deepEqual(
      kc.contexts.map((c: Json) => c.name),
      ["admin", "viewer", "nobody"],
    );
    assert.equal(kc["current-context"], "admin");
    assert.equal(readAdminCredentials(join(dir, "kubeconfig")).cert.toString(), admin.client?.certPem);
    assert.match(new X509Certificate(viewer.client!.certPem).subject, /CN=viewer/);
    const ms = YAML.parse(await readFile(sim.metricsServerKubeconfigPath, "utf8"));
    assert.equal(ms.users[0].user.token, sim.metricsServerToken);
    assert.equal(Buffer.from(ms.clusters[0].cluster["certificate-authority-data"], "base64").toString(), ca);
  });

  test("every request is authorized: admin passes, nobody is forbidden with kube-apiserver's message", async () => {
    assert.equal((await call(`${base}/api/v1/nodes`, admin)).status, 200);
    const r = await call(`${base}/api/v1/namespaces/default/pods`, nobody);
    assert.equal(r.status, 403);
    assert.deepEqual(r.json(), {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        'pods is forbidden: User "nobody" cannot list resource "pods" in API group "" in the namespace "default"',
      reason: "Forbidden",
      details: { kind: "pods" },
      code: 403,
    });
    assert.equal((await call(`${base}/apis`, nobody)).status, 200);
    assert.equal((await call(`${base}/sim/faults`, nobody)).status, 403);
    // The service account can do what metrics-server needs, and no more.
    assert.equal((await call(`${base}/api/v1/pods`, metricsServer)).status, 200);
    assert.equal((await call(`${base}/api/v1/services`, metricsServer)).status, 403);
  });

  test("TokenReview and SubjectAccessReview answer from the token table and RBAC, for callers allowed to ask", async () => {
    const review = (token: string) => ({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token },
    });
    const ok = await call(`${base}/apis/authentication.k8s.io/v1/tokenreviews`, metricsServer, {
      method: "POST",
      body: review(sim.adminToken),
    });
    assert.equal(ok.status, 201);
    assert.equal(ok.json().status.authenticated, true);
    assert.equal(ok.json().status.user.username, "kubernetes-admin");
    assert.ok(ok.json().status.user.groups.includes("system:masters"));
    const bad = await call(`${base}/apis/authentication.k8s.io/v1/tokenreviews`, metricsServer, {
      method: "POST",
      body: review("no-such-token"),
    });
    assert.equal(bad.json().status.authenticated, undefined);
    assert.equal(
      (
        await call(`${base}/apis/authentication.k8s.io/v1/tokenreviews`, nobody, {
          method: "POST",
          body: review("x"),
        })
      ).status,
      403,
    );

    const sar = (who: string, verb: string) => ({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: who,
        groups: ["system:authenticated"],
        resourceAttributes: { verb, group: "metrics.k8s.io", version: "v1beta1", resource: "pods" },
      },
    });
    const url = `${base}/apis/authorization.k8s.io/v1/subjectaccessreviews`;
    const allowed = await call(url, metricsServer, { method: "POST", body: sar("viewer", "list") });
    assert.equal(allowed.status, 201);
    assert.equal(allowed.json().status.allowed, true);
    assert.match(
      allowed.json().status.reason,
      /ClusterRole "system:aggregated-metrics-reader" to User "viewer"/,
    );
    assert.equal(
      (await call(url, metricsServer, { method: "POST", body: sar("nobody", "list") })).json().status.allowed,
      false,
    );
    assert.equal(
      (await call(url, metricsServer, { method: "POST", body: sar("viewer", "delete") })).json().status
        .allowed,
      false,
    );
    const nonsense = await call(url, metricsServer, { method: "POST", body: { spec: { user: "x" } } });
    assert.equal(nonsense.status, 422);
  });

  test("the extension-apiserver-authentication ConfigMap, its watch, and client-CA rotation", async () => {
    const cmPath = "/api/v1/namespaces/kube-system/configmaps";
    const cm = await call(`${base}${cmPath}/extension-apiserver-authentication`, metricsServer);
    assert.equal(cm.status, 200);
    const data = cm.json().data;
    assert.equal(data["client-ca-file"].trim(), ca.trim());
    assert.equal(
      data["requestheader-client-ca-file"].trim(),
      (await readFile(join(dir, "pki", "front-proxy-ca.crt"), "utf8")).trim(),
    );
    assert.equal(data["requestheader-allowed-names"], '["front-proxy-client"]');
    assert.equal(data["requestheader-username-headers"], '["X-Remote-User"]');
    assert.equal(data["requestheader-group-headers"], '["X-Remote-Group"]');
    assert.equal(data["requestheader-extra-headers-prefix"], '["X-Remote-Extra-"]');
    // The Role names this one ConfigMap: a list without the field selector is refused.
    assert.equal((await call(`${base}${cmPath}`, metricsServer)).status, 403);

    const events: Json[] = [];
    const watch = https.get(
      `${base}${cmPath}?watch=true&fieldSelector=metadata.name%3Dextension-apiserver-authentication&resourceVersion=${cm.json().metadata.resourceVersion}`,
      { ca, headers: { authorization: `Bearer ${sim.metricsServerToken}` }, agent: false },
      (res) => {
        let buf = "";
        res.on("data", (c: Buffer) => {
          buf += c.toString();
          let nl = buf.indexOf("\n");
          while (nl >= 0) {
            events.push(JSON.parse(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
            nl = buf.indexOf("\n");
          }
        });
      },
    );
    watch.on("error", () => {});
    try {
      assert.equal((await call(`${base}/sim/rotate-client-ca`, nobody, { method: "POST" })).status, 403);
      const rotated = await call(`${base}/sim/rotate-client-ca`, admin, { method: "POST" });
      assert.equal(rotated.status, 200);
      assert.equal(rotated.json().clientCAs, 2);
      for (let i = 0; i < 200 && events.length === 0; i++) await sleep(50);
      assert.equal(events[0]?.type, "MODIFIED");
      const bundle: string = events[0].object.data["client-ca-file"];
      assert.ok(bundle.startsWith(ca), "the old CA stays in the bundle");
      assert.equal(bundle.match(/BEGIN CERTIFICATE/g)?.length, 2);
    } finally {
      watch.destroy();
    }
    // The rotated user's certificate (written to pki/) is accepted without a restart.
    const rotatedUser: Creds = {
      ca,
      client: {
        certPem: await readFile(join(dir, "pki", "rotated.crt"), "utf8"),
        keyPem: await readFile(join(dir, "pki", "rotated.key"), "utf8"),
      },
    };
    const r = await call(`${base}/api/v1/nodes`, rotatedUser);
    assert.equal(r.status, 403);
    assert.match(r.json().message, /User "rotated" cannot list/);
    assert.equal((await call(`${base}/api`, admin)).status, 200, "old client certs still work");
  });

  test("the aggregator authorizes the caller, forwards its identity, strips forged headers, and verifies caBundle", async () => {
    const backendPort = (backend.address() as { port: number }).port;
    await registerMetricsApi(join(dir, "kubeconfig"), `${ipBase}.0.2`, backendPort, {
      caBundle: backendCA.certPem,
    });
    const url = `${base}/apis/metrics.k8s.io/v1beta1/pods`;
    seen.length = 0;
    const ok = await call(url, viewer, {
      headers: { "X-Remote-User": "system:admin", "X-Remote-Group": "system:masters" },
    });
    assert.equal(ok.status, 200, ok.text);
    const h = seen.at(-1)!;
    assert.equal(h["x-remote-user"], "viewer");
    assert.equal(h["x-remote-group"], "system:authenticated");
    assert.equal(h.authorization, undefined);

    sim.tokens.add("extra-token", { name: "viewer", groups: ["team-a"], extra: { scopes: ["x", "y"] } });
    await call(url, { ca, token: "extra-token" }, { headers: { "X-Remote-Extra-Forged": "1" } });
    const he = seen.at(-1)!;
    assert.equal(he["x-remote-extra-scopes"], "x, y");
    assert.equal(he["x-remote-extra-forged"], undefined);
    assert.equal(he["x-remote-group"], "team-a, system:authenticated");

    const denied = await call(url, nobody);
    assert.equal(denied.status, 403);
    assert.equal(
      denied.json().message,
      'pods.metrics.k8s.io is forbidden: User "nobody" cannot list resource "pods" in API group "metrics.k8s.io" at the cluster scope',
    );

    // Registered with a CA that did not sign the backend's certificate: the proxy refuses it.
    await registerMetricsApi(join(dir, "kubeconfig"), `${ipBase}.0.2`, backendPort, { caBundle: ca });
    const unverified = await call(url, viewer);
    assert.equal(unverified.status, 503);
  });

  describe("kubelets", () => {
    const node = (i: number) => sim.cluster.scenario().nodes[i];
    const kubelet = (i: number, path: string, creds: Creds, servername?: string) =>
      call(`https://${node(i).internalIP}:${node(i).kubeletPort}${path}`, creds, { servername });

    test("authenticate callers (401) and authorize nodes/metrics and nodes/stats (403)", async () => {
      const anonymous = await kubelet(1, "/metrics/resource", { ca });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.text, "Unauthorized");
      assert.equal((await kubelet(1, "/metrics/resource", { ca, token: "bogus" })).status, 401);
      const forbidden = await kubelet(1, "/metrics/resource", nobody);
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.text, "Forbidden (user=nobody, verb=get, resource=nodes, subresource=metrics)");
      assert.equal(
        (await kubelet(1, "/stats/summary", viewer)).text,
        "Forbidden (user=viewer, verb=get, resource=nodes, subresource=stats)",
      );
      assert.equal((await kubelet(1, "/metrics/resource", metricsServer)).status, 200);
      assert.equal((await kubelet(1, "/stats/summary", metricsServer)).status, 200);
      assert.equal((await kubelet(1, "/metrics/resource", admin)).status, 200);
      const foreign = await issueCert(await createCA("elsewhere"), {
        commonName: "kubernetes-admin",
        organizations: ["system:masters"],
        client: true,
      });
      assert.equal((await kubelet(1, "/metrics/resource", { ca, client: foreign })).status, 401);
    });

    test("dns-only nodes serve a cert naming only the node; wrong-ca nodes a cert from another CA", async () => {
      // Verified against the node name it works; against the IP it cannot.
      assert.equal((await kubelet(0, "/metrics/resource", metricsServer, node(0).name)).status, 200);
      await assert.rejects(
        kubelet(0, "/metrics/resource", metricsServer),
        /IP: .* is not in the cert's list/,
      );
      await assert.rejects(
        kubelet(2, "/metrics/resource", metricsServer),
        /self-signed|unable to (get|verify)/,
      );
      const set = await call(`${base}/sim/faults`, admin, {
        method: "POST",
        body: { node: node(2).name, fault: null },
      });
      assert.equal(set.status, 200);
      assert.equal((await kubelet(2, "/metrics/resource", metricsServer)).status, 200);
    });
  });
});
