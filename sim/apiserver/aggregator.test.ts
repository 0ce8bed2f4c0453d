import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { TLSSocket } from "node:tls";
import type { Json } from "../../test/support/https-request.ts";
import { run } from "../../test/support/processes.ts";
import { type SimApiServer, startSimApiServer } from "../../test/support/sim-apiserver.ts";
import { type CA, createCA, issueCert } from "../auth/index.ts";
import { chooseEndpoint } from "./aggregator.ts";

const KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

describe("the aggregator in front of registered API groups", () => {
  let frontProxyCA: CA;
  let dir: string;
  let ipBase: string;
  let server: SimApiServer;
  const call: SimApiServer["call"] = (path, opts) => server.call(path, opts);

  before(async () => {
    server = await startSimApiServer();
    ({ frontProxyCA, dir, ipBase } = server);
  });

  after(async () => {
    await server?.close();
  });

  test("the aggregator proxies a registered API group with front-proxy identity, and answers 503 when it is down", async (t) => {
    const backendCA = await createCA("backend-ca");
    const serving = await issueCert(backendCA, {
      commonName: "metrics-server",
      dnsNames: ["metrics-server.kube-system.svc"],
      server: true,
    });
    const backendHost = `${ipBase}.0.3`;
    const backend = https.createServer(
      {
        cert: serving.certPem,
        key: serving.keyPem,
        ca: frontProxyCA.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            path: req.url,
            user: req.headers["x-remote-user"],
            groups: req.headersDistinct["x-remote-group"],
            authorization: req.headers.authorization ?? null,
            clientCN: peer.subject.CN,
          }),
        );
      },
    );
    await new Promise<void>((resolve) => backend.listen(0, backendHost, resolve));
    let backendOpen = true;
    t.after(() => {
      if (backendOpen) backend.close();
    });
    const port = (backend.address() as AddressInfo).port;

    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "metrics-server", namespace: "kube-system", labels: { "k8s-app": "metrics-server" } },
      spec: { ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: "https" }] },
    };
    const eps = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "metrics-server", namespace: "kube-system" },
      subsets: [{ addresses: [{ ip: backendHost }], ports: [{ name: "https", port, protocol: "TCP" }] }],
    };
    const apiService = {
      apiVersion: "apiregistration.k8s.io/v1",
      kind: "APIService",
      metadata: { name: "v1beta1.metrics.k8s.io" },
      spec: {
        service: { name: "metrics-server", namespace: "kube-system" },
        group: "metrics.k8s.io",
        version: "v1beta1",
        caBundle: Buffer.from(backendCA.certPem).toString("base64"),
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    };
    assert.equal(
      (await call("/api/v1/namespaces/kube-system/services", { method: "POST", body: svc })).status,
      201,
    );
    assert.equal(
      (await call("/api/v1/namespaces/kube-system/endpoints", { method: "POST", body: eps })).status,
      201,
    );
    const reg = await call("/apis/apiregistration.k8s.io/v1/apiservices", {
      method: "POST",
      body: apiService,
    });
    assert.equal(reg.status, 201);
    assert.equal(reg.json().spec.service.port, 443);
    assert.equal(
      (await call("/apis/apiregistration.k8s.io/v1/apiservices", { method: "POST", body: apiService }))
        .status,
      409,
    );

    const groups = (await call("/apis")).json().groups.map((g: Json) => g.name);
    assert.deepEqual(groups, [
      "apiregistration.k8s.io",
      "apps",
      "authentication.k8s.io",
      "authorization.k8s.io",
      "policy",
      "rbac.authorization.k8s.io",
      "metrics.k8s.io",
    ]);
    const group = (await call("/apis/metrics.k8s.io")).json();
    assert.equal(group.kind, "APIGroup");
    assert.equal(group.preferredVersion.groupVersion, "metrics.k8s.io/v1beta1");

    const proxied = await call("/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%3Db", {
      headers: { authorization: "Bearer secret", "x-remote-user": "spoofed" },
    });
    assert.equal(proxied.status, 200);
    assert.deepEqual(proxied.json(), {
      path: "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%3Db",
      user: "kubernetes-admin",
      groups: ["system:masters", "system:authenticated"],
      authorization: null,
      clientCN: "front-proxy-client",
    });

    // The availability check marks the APIService Available.
    const deadline = Date.now() + 20_000;
    let available = "";
    while (Date.now() < deadline) {
      const a = (await call("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")).json();
      available = a.status?.conditions?.find((c: Json) => c.type === "Available")?.status ?? "";
      if (available === "True") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(available, "True");

    await new Promise<void>((resolve) => {
      backend.close(() => resolve());
      backend.closeAllConnections();
    });
    backendOpen = false;
    const down = await call("/apis/metrics.k8s.io/v1beta1/nodes");
    assert.equal(down.status, 503);
    assert.equal(down.headers["content-type"], "text/plain; charset=utf-8");
    assert.match(down.text, /connection refused\n$/);

    if (!existsSync(KUBECTL)) {
      t.diagnostic(`skipping the kubectl check: ${KUBECTL} not found`);
      return;
    }
    const out = await run(KUBECTL, [
      "--kubeconfig",
      join(dir, "kubeconfig"),
      "--cache-dir",
      join(dir, "cache"),
      "get",
      "--raw",
      "/apis/metrics.k8s.io/v1beta1/nodes",
    ]);
    assert.notEqual(out.code, 0);
    assert.match(
      out.stderr,
      /Error from server \(ServiceUnavailable\): the server is currently unable to handle the request/,
    );
    // kubectl top names the resource in the message, as against a real cluster.
    const top = await run(KUBECTL, [
      "--kubeconfig",
      join(dir, "kubeconfig"),
      "--cache-dir",
      join(dir, "cache"),
      "top",
      "node",
    ]);
    assert.notEqual(top.code, 0);
    assert.match(
      top.stderr,
      /Error from server \(ServiceUnavailable\): the server is currently unable to handle the request \(get nodes\.metrics\.k8s\.io\)/,
    );
    await call("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io", { method: "DELETE" });
  });
});

test("chooseEndpoint picks a random ready address serving the port, never a not-ready one", () => {
  const subsets = [
    {
      addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }],
      notReadyAddresses: [{ ip: "10.0.0.9" }],
      ports: [{ name: "https", port: 10250 }],
    },
    { addresses: [{ ip: "10.0.0.3" }], ports: [{ name: "https", port: 4443 }] },
    { addresses: [{ ip: "10.0.0.4" }], ports: [{ name: "other", port: 80 }] },
  ];
  assert.deepEqual(
    chooseEndpoint(subsets, "https", () => 0),
    { host: "10.0.0.1", port: 10250 },
  );
  assert.deepEqual(
    chooseEndpoint(subsets, "https", () => 0.5),
    { host: "10.0.0.2", port: 10250 },
  );
  assert.deepEqual(
    chooseEndpoint(subsets, "https", () => 0.99),
    { host: "10.0.0.3", port: 4443 },
  );
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(chooseEndpoint(subsets, "https")!.host);
  assert.deepEqual([...seen].sort(), ["10.0.0.1", "10.0.0.2", "10.0.0.3"], "every ready replica serves");
  assert.equal(
    chooseEndpoint(
      [{ notReadyAddresses: [{ ip: "10.0.0.9" }], ports: [{ name: "https", port: 1 }] }],
      "https",
    ),
    undefined,
  );
  assert.equal(chooseEndpoint(undefined, ""), undefined);
  assert.deepEqual(
    chooseEndpoint([{ addresses: [{ ip: "10.0.0.5" }], ports: [{ port: 443 }] }], "", () => 0),
    {
      host: "10.0.0.5",
      port: 443,
    },
  );
});
