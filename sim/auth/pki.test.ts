import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { before, describe, test } from "node:test";
import * as tls from "node:tls";
import { type CA, createCA, createKeyPair, issueCert } from "./pki.ts";

interface HandshakeResult {
  clientAuthorized: boolean;
  clientError?: string;
  serverSawClientCert: boolean;
  serverAuthorizedClient: boolean;
}

/** Runs one TLS handshake between a server using `server` and a client trusting `trust`. */
async function handshake(
  t: { after(fn: () => unknown): void },
  server: { certPem: string; keyPem: string },
  trust: string,
  opts: { client?: { certPem: string; keyPem: string }; clientCA?: string; host?: string } = {},
): Promise<HandshakeResult> {
  let serverSawClientCert = false;
  let serverAuthorizedClient = false;
  const srv = tls.createServer(
    {
      cert: server.certPem,
      key: server.keyPem,
      requestCert: opts.clientCA !== undefined,
      rejectUnauthorized: false,
      ca: opts.clientCA,
    },
    (socket) => {
      serverSawClientCert = Object.keys(socket.getPeerCertificate()).length > 0;
      serverAuthorizedClient = socket.authorized;
      socket.end("hello\n");
    },
  );
  t.after(() => srv.close());
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const { port } = srv.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      ca: trust,
      rejectUnauthorized: false,
      cert: opts.client?.certPem,
      key: opts.client?.keyPem,
    });
    socket.on("secureConnect", () => {
      const clientAuthorized = socket.authorized;
      // Identity is checked separately from the chain when rejectUnauthorized is off.
      const identityError = clientAuthorized
        ? tls.checkServerIdentity(host, socket.getPeerCertificate())
        : undefined;
      const clientError = socket.authorizationError?.toString() ?? identityError?.message;
      socket.on("data", () => {});
      socket.on("end", () => {
        socket.destroy();
        resolve({
          clientAuthorized: clientAuthorized && identityError === undefined,
          clientError,
          serverSawClientCert,
          serverAuthorizedClient,
        });
      });
    });
    socket.on("error", reject);
  });
}

describe("pki", () => {
  let ca: CA;
  before(async () => {
    ca = await createCA("sim-cluster-ca");
  });

  test("the CA is a self-signed CA certificate", () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, "CN=sim-cluster-ca");
    assert.ok(cert.verify(cert.publicKey));
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  });

  test("a server cert verifies with node:tls against the CA, by IP SAN", async (t) => {
    const server = await issueCert(ca, {
      commonName: "system:node:node-0",
      organizations: ["system:nodes"],
      ipAddresses: ["127.0.0.1"],
      dnsNames: ["node-0"],
      server: true,
    });
    const result = await handshake(t, server, ca.certPem);
    assert.equal(result.clientError, undefined);
    assert.equal(result.clientAuthorized, true);
    const cert = new X509Certificate(server.certPem);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
    assert.equal(cert.subject, "O=system:nodes\nCN=system:node:node-0");
    assert.equal(cert.subjectAltName, "DNS:node-0, IP Address:127.0.0.1");
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
  });

  test("a cert from another CA is not trusted", async (t) => {
    const other = await createCA("other-ca");
    const server = await issueCert(other, { commonName: "x", ipAddresses: ["127.0.0.1"], server: true });
    const result = await handshake(t, server, ca.certPem);
    assert.equal(result.clientAuthorized, false);
    assert.match(result.clientError ?? "", /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i);
  });

  test("a cert without the right IP SAN fails the identity check", async (t) => {
    const server = await issueCert(ca, { commonName: "x", ipAddresses: ["127.0.0.2"], server: true });
    const result = await handshake(t, server, ca.certPem);
    assert.equal(result.clientAuthorized, false);
    assert.match(result.clientError ?? "", /ERR_TLS_CERT_ALTNAME_INVALID|is not in the cert's list/);
  });

  test("client certs carry CN and O and are accepted by a server trusting the CA", async (t) => {
    const server = await issueCert(ca, { commonName: "apiserver", ipAddresses: ["127.0.0.1"], server: true });
    const client = await issueCert(ca, {
      commonName: "kubernetes-admin",
      organizations: ["system:masters", "kubeadm:cluster-admins"],
      client: true,
      days: 30,
    });
    const result = await handshake(t, server, ca.certPem, { client, clientCA: ca.certPem });
    assert.equal(result.serverSawClientCert, true);
    assert.equal(result.serverAuthorizedClient, true);
    const cert = new X509Certificate(client.certPem);
    assert.equal(cert.subject, "O=system:masters\nO=kubeadm:cluster-admins\nCN=kubernetes-admin");
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    assert.ok(days > 30 && days < 31, `validity ${days} days`);
  });

  test("rejects bad options with clear errors", async () => {
    await assert.rejects(createCA(""), /commonName must not be empty/);
    await assert.rejects(issueCert(ca, { commonName: "" }), /commonName must not be empty/);
    await assert.rejects(issueCert(ca, { commonName: "x", days: 0 }), /days must be positive/);
    await assert.rejects(issueCert(ca, { commonName: "x", ipAddresses: ["not-an-ip"] }));
  });
});

// issueCert's shared-key option, which the kubelet fleet's serving certificates use.
describe("issueCert with a shared key", () => {
  test("certs for different names carry the same given key, and are still signed by the CA", async () => {
    const ca = await createCA("shared-key-ca");
    const key = await createKeyPair();
    const a = await issueCert(ca, { commonName: "a", dnsNames: ["a"], server: true, key });
    const b = await issueCert(ca, { commonName: "b", ipAddresses: ["127.0.0.2"], server: true, key });
    assert.equal(a.keyPem, key.keyPem);
    assert.equal(b.keyPem, key.keyPem);
    const ca509 = new X509Certificate(ca.certPem);
    const [xa, xb] = [new X509Certificate(a.certPem), new X509Certificate(b.certPem)];
    assert.ok(xa.checkPrivateKey((await import("node:crypto")).createPrivateKey(key.keyPem)));
    assert.equal(
      xa.publicKey.export({ format: "pem", type: "spki" }),
      xb.publicKey.export({ format: "pem", type: "spki" }),
    );
    assert.ok(xa.verify(ca509.publicKey) && xb.verify(ca509.publicKey));
    assert.equal(xa.subjectAltName, "DNS:a");
    assert.equal(xb.subjectAltName, "IP Address:127.0.0.2");
    // Without the option every cert still gets its own key.
    const c = await issueCert(ca, { commonName: "c", server: true });
    assert.notEqual(c.keyPem, key.keyPem);
  });
});
