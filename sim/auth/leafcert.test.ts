import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { before, describe, test } from "node:test";
import * as tls from "node:tls";
import fc from "fast-check";
import { oid, readElement, smallInteger, x509Time } from "./der.ts";
import { ipBytes, issuerFields, ServingCertIssuer } from "./leafcert.ts";
import { type CA, createCA, createKeyPair, type KeyPairWithPem } from "./pki.ts";

let ca: CA;
let otherCA: CA;
let key: KeyPairWithPem;

before(async () => {
  [ca, otherCA, key] = await Promise.all([
    createCA("kubernetes"),
    createCA("not-the-cluster-ca"),
    createKeyPair(),
  ]);
});

/** A TLS handshake from a client trusting `trust` to a server presenting `cert`; resolves to the error, if any. */
async function handshake(
  t: { after(fn: () => unknown): void },
  cert: string,
  keyPem: string,
  trust: string,
  servername?: string,
): Promise<string | undefined> {
  const srv = tls.createServer({ cert, key: keyPem }, (socket) => socket.end("ok"));
  t.after(() => srv.close());
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: trust, servername }, () => {
      socket.end();
      resolve(undefined);
    });
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("ServingCertIssuer", () => {
  test("issues certificates node:crypto parses, verifies against the CA and matches by IP and DNS name", () => {
    const issuer = ServingCertIssuer.create(ca, key);
    const pem = issuer.issue({
      commonName: "system:node:node-1",
      organizations: ["system:nodes"],
      ipAddresses: ["127.9.1.2", "fd00::1:2"],
      dnsNames: ["node-1", "node-1.example"],
    });
    const cert = new X509Certificate(pem);
    const caCert = new X509Certificate(ca.certPem);
    assert.equal(cert.verify(caCert.publicKey), true);
    assert.equal(cert.checkIssued(caCert), true);
    assert.equal(cert.issuer, caCert.subject);
    assert.equal(cert.subject, "O=system:nodes\nCN=system:node:node-1");
    assert.equal(cert.checkIP("127.9.1.2"), "127.9.1.2");
    assert.equal(cert.checkIP("fd00::1:2"), "fd00::1:2");
    assert.equal(cert.checkIP("127.9.1.3"), undefined);
    assert.equal(cert.checkHost("node-1.example"), "node-1.example");
    assert.equal(cert.checkHost("node-2"), undefined);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    assert.equal(cert.ca, false);
    assert.equal(cert.verify(new X509Certificate(otherCA.certPem).publicKey), false);
    // The shared key: the certificate's public key is the issuer's key pair's.
    assert.equal(cert.checkPrivateKey(createPrivateKey(issuer.keyPem)), true);
    const validFrom = Date.parse(cert.validFrom);
    const validTo = Date.parse(cert.validTo);
    assert.ok(validFrom <= Date.now() && Date.now() < validTo);
    assert.ok(Math.abs(validTo - validFrom - (365 * 24 + 1) * 3600_000) <= 2000);
  });

  test("the authorityKeyIdentifier is the CA's subjectKeyIdentifier", () => {
    const pem = ServingCertIssuer.create(ca, key).issue({ commonName: "x", dnsNames: ["x"] });
    const caSki = issuerFields(new X509Certificate(ca.certPem).raw).subjectKeyId;
    assert.ok(caSki && caSki.length > 0);
    const der = new X509Certificate(pem).raw;
    // AKI extension value: SEQUENCE { [0] keyIdentifier }.
    const akiOid = oid("2.5.29.35");
    const at = der.indexOf(akiOid);
    assert.ok(at > 0, "no authorityKeyIdentifier");
    const value = readElement(der, at + akiOid.length); // OCTET STRING
    const seq = readElement(der, value.start);
    const keyId = readElement(der, seq.start);
    assert.equal(keyId.tag, 0x80);
    assert.deepEqual(der.subarray(keyId.start, keyId.end), caSki);
  });

  test("a real TLS handshake by IP succeeds with the cluster CA and fails with another CA", async (t) => {
    const issuer = ServingCertIssuer.create(ca, key);
    const good = issuer.issue({ commonName: "system:node:n", ipAddresses: ["127.0.0.1"], dnsNames: ["n"] });
    assert.equal(await handshake(t, good, issuer.keyPem, ca.certPem), undefined);
    const wrong = ServingCertIssuer.create(otherCA, key).issue({
      commonName: "system:node:n",
      ipAddresses: ["127.0.0.1"],
    });
    assert.equal(await handshake(t, wrong, issuer.keyPem, ca.certPem), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  test("a DNS-only certificate verifies by name and not by IP", async (t) => {
    const issuer = ServingCertIssuer.create(ca, key);
    const dnsOnly = issuer.issue({ commonName: "system:node:n", dnsNames: ["node-7"] });
    assert.equal(await handshake(t, dnsOnly, issuer.keyPem, ca.certPem, "node-7"), undefined);
    assert.equal(await handshake(t, dnsOnly, issuer.keyPem, ca.certPem), "ERR_TLS_CERT_ALTNAME_INVALID");
  });

  test("rejects bad requests with clear errors", () => {
    const issuer = ServingCertIssuer.create(ca, key);
    assert.throws(() => issuer.issue({ commonName: "" }), /commonName must not be empty/);
    assert.throws(() => issuer.issue({ commonName: "a", days: 0 }), /days must be positive/);
    assert.throws(() => issuer.issue({ commonName: "a", ipAddresses: ["node-1"] }), /not an IP address/);
    assert.throws(() => issuer.issue({ commonName: "a", dnsNames: ["nöde"] }), /not an IA5/);
  });
});

describe("DER pieces", () => {
  test("ipBytes matches the address bytes node:crypto reports for every IPv6 spelling", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const pem = ServingCertIssuer.create(ca, key).issue({ commonName: "a", ipAddresses: [ip] });
        assert.equal(new X509Certificate(pem).checkIP(ip), ip);
        assert.equal(ipBytes(ip).length, 16);
      }),
      { numRuns: 50 },
    );
    assert.deepEqual([...ipBytes("10.0.255.1")], [10, 0, 255, 1]);
    assert.deepEqual([...ipBytes("::ffff:1.2.3.4")], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
  });

  test("integers, object identifiers and times encode as DER requires", () => {
    assert.deepEqual([...smallInteger(0)], [0x02, 0x01, 0x00]);
    assert.deepEqual([...smallInteger(128)], [0x02, 0x02, 0x00, 0x80]);
    assert.deepEqual(
      [...oid("1.2.840.10045.4.3.2")],
      [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
    );
    assert.equal(x509Time(Date.UTC(2049, 11, 31, 23, 59, 59)).toString("latin1", 2), "491231235959Z");
    assert.equal(x509Time(Date.UTC(2050, 0, 1)).toString("latin1", 2), "20500101000000Z");
    assert.equal(x509Time(Date.UTC(2050, 0, 1))[0], 0x18);
    assert.throws(() => oid("1.x"), /invalid object identifier/);
  });
});
