import assert from "node:assert/strict";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { TLSSocket } from "node:tls";
import { type SimApiServer, startSimApiServer } from "../../test/support/sim-apiserver.ts";
import { createCA, issueCert } from "../auth/index.ts";
import { parseServiceProxyPath, splitSchemeNamePort } from "./service-proxy.ts";

test("service proxy ids split as Go's SplitSchemeNamePort", () => {
  assert.deepEqual(splitSchemeNamePort("web"), { scheme: "", name: "web", port: "" });
  assert.deepEqual(splitSchemeNamePort("web:8080"), { scheme: "", name: "web", port: "8080" });
  assert.deepEqual(splitSchemeNamePort("https:metrics-server:"), {
    scheme: "https",
    name: "metrics-server",
    port: "",
  });
  assert.equal(splitSchemeNamePort("ftp:web:80"), undefined);
  assert.equal(splitSchemeNamePort(":80"), undefined);
  assert.equal(splitSchemeNamePort("a:b:c:d"), undefined);
  assert.deepEqual(parseServiceProxyPath("/api/v1/namespaces/ns/services/https:s:443/proxy/a//b/../c/"), {
    namespace: "ns",
    id: "https:s:443",
    path: "/a/c",
  });
  assert.equal(parseServiceProxyPath("/api/v1/namespaces/ns/services/s/proxy")?.path, "/");
  assert.equal(parseServiceProxyPath("/api/v1/namespaces/ns/services/s"), undefined);
});

describe("the service proxy", () => {
  let server: SimApiServer;
  let backend: https.Server;
  let backendHost: string;
  let backendPort: number;

  before(async () => {
    server = await startSimApiServer();
    backendHost = `${server.ipBase}.0.3`;
    // A serving certificate no one trusts: the proxy does not verify it.
    const ca = await createCA("untrusted-ca");
    const serving = await issueCert(ca, { commonName: "backend", dnsNames: ["elsewhere"], server: true });
    backend = https.createServer(
      { cert: serving.certPem, key: serving.keyPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            url: req.url,
            authorization: req.headers.authorization ?? null,
            remoteUser: req.headers["x-remote-user"] ?? null,
            clientCert: (req.socket as TLSSocket).getPeerCertificate()?.subject ?? null,
          }),
        );
      },
    );
    await new Promise<void>((resolve) => backend.listen(0, backendHost, resolve));
    backendPort = (backend.address() as AddressInfo).port;
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "metrics-server", namespace: "kube-system" },
      spec: { ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: "https" }] },
    };
    const eps = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "metrics-server", namespace: "kube-system" },
      subsets: [{ addresses: [{ ip: backendHost }], ports: [{ name: "https", port: backendPort }] }],
    };
    for (const [path, body] of [
      ["/api/v1/namespaces/kube-system/services", svc],
      ["/api/v1/namespaces/kube-system/endpoints", eps],
    ] as const) {
      assert.equal((await server.call(path, { method: "POST", body })).status, 201);
    }
  });

  after(async () => {
    backend?.close();
    await server?.close();
  });

  const base = "/api/v1/namespaces/kube-system/services";

  test("reaches the endpoint over unverified TLS, without the caller's credentials", async () => {
    for (const id of ["https:metrics-server:https", "https:metrics-server:443"]) {
      const r = await server.call(`${base}/${id}/proxy/readyz?verbose`, {
        headers: { authorization: "Bearer secret" },
      });
      assert.equal(r.status, 200, r.text);
      const seen = r.json();
      assert.equal(seen.url, "/readyz?verbose");
      assert.equal(seen.authorization, null);
      assert.equal(seen.remoteUser, null);
      // No client certificate is presented (Node gives an empty object then).
      assert.deepEqual(seen.clientCert ?? {}, {});
    }
  });

  test("the port is matched by name: an id without one wants an unnamed port, as kube-apiserver does", async () => {
    const r = await server.call(`${base}/https:metrics-server:/proxy/readyz`);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json().reason, "ServiceUnavailable");
    assert.equal(r.json().message, 'no endpoints available for service "https:metrics-server:"');
    const noPort = await server.call(`${base}/https:metrics-server:8443/proxy/`);
    assert.equal(noPort.status, 503);
    assert.equal(noPort.json().message, 'no service port 8443 found for service "metrics-server"');
    const missing = await server.call(`${base}/https:nothing:https/proxy/`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json().message, 'endpoints "nothing" not found');
    assert.equal((await server.call(`${base}/ftp:metrics-server:https/proxy/`)).status, 400);
  });

  test("plain http to a TLS backend fails as a dial error, 503", async () => {
    const r = await server.call(`${base}/metrics-server:https/proxy/readyz`);
    assert.equal(r.status, 503, r.text);
    assert.match(r.json().message, /^error trying to reach service: /);
  });

  test("an address whose pod is gone is skipped", async () => {
    const eps = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "gone", namespace: "kube-system" },
      subsets: [
        {
          addresses: [
            { ip: backendHost, targetRef: { kind: "Pod", namespace: "kube-system", name: "gone-1" } },
          ],
          ports: [{ name: "https", port: backendPort }],
        },
      ],
    };
    const created = await server.call("/api/v1/namespaces/kube-system/endpoints", {
      method: "POST",
      body: eps,
    });
    assert.equal(created.status, 201, created.text);
    const r = await server.call(`${base}/https:gone:https/proxy/`);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json().message, 'no endpoints available for service "https:gone:https"');
  });

  test("is authorized as services/proxy", async () => {
    const r = await server.call(`${base}/https:metrics-server:https/proxy/readyz`, {
      headers: { "impersonate-user": "nobody" },
    });
    assert.equal(r.status, 403, r.text);
    assert.match(
      r.json().message,
      /cannot get resource "services\/proxy" in API group "" in the namespace "kube-system"/,
    );
  });
});
