import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { testCert } from "../../../test/support/certs.ts";
import { captureLogs } from "../../../test/support/logs.ts";
import { watchCertKeyPair } from "./reload.ts";
import { generateServingCA } from "./serving-ca.ts";
import { nodeMinVersion, opensslCipherList } from "./tls.ts";

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "certs-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("generateServingCA: the serving cert verifies against caPem and names the hosts; a restart reuses both", async (t) => {
  captureLogs(t);
  const dir = tempDir(t);
  const first = await generateServingCA(["metrics-server.kube-system.svc", "127.0.0.9"], dir);
  const leaf = new X509Certificate(first.cert);
  const ca = new X509Certificate(first.caPem);
  assert.ok(ca.ca);
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
  assert.ok(leaf.checkHost("metrics-server.kube-system.svc"));
  assert.ok(leaf.checkIP("127.0.0.9"));
  assert.ok(leaf.checkHost("localhost"));
  const again = await generateServingCA(["metrics-server.kube-system.svc", "127.0.0.9"], dir);
  assert.equal(again.caPem, first.caPem);
  assert.deepEqual(again.cert, first.cert);
  // A new host re-signs the leaf with the same CA, so the caBundle stays valid.
  const moreHosts = await generateServingCA(["other.example"], dir);
  assert.equal(moreHosts.caPem, first.caPem);
  assert.ok(new X509Certificate(moreHosts.cert).checkHost("other.example"));
});

test("generateServingCA: a broken CA in the dir is replaced", async (t) => {
  captureLogs(t);
  const dir = tempDir(t);
  const first = await generateServingCA([], dir);
  writeFileSync(join(dir, "serving-ca.key"), "garbage");
  const second = await generateServingCA([], dir);
  assert.notEqual(second.caPem, first.caPem);
  assert.ok(new X509Certificate(second.cert).verify(new X509Certificate(second.caPem).publicKey));
});

test("Go TLS names map to Node's", () => {
  assert.equal(nodeMinVersion("VersionTLS12"), "TLSv1.2");
  assert.equal(nodeMinVersion("VersionTLS13"), "TLSv1.3");
  assert.equal(nodeMinVersion(""), undefined);
  assert.throws(() => nodeMinVersion("VersionSSL30"), /tls-min-version/);
  // No list: Go's defaults, ECDHE only, no CBC-SHA256/384, CCM, ARIA or RSA key exchange.
  const defaults = opensslCipherList([]).split(":");
  assert.deepEqual(defaults.slice(0, 3), [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
  ]);
  assert.ok(
    defaults.slice(3).every((s) => s.startsWith("ECDHE-")),
    defaults.join(":"),
  );
  assert.ok(
    !defaults.some((s) => /SHA256$|SHA384$|CCM|ARIA/.test(s) && !/GCM|POLY/.test(s)),
    defaults.join(":"),
  );
  assert.equal(defaults.length, 3 + 10);
  const list = opensslCipherList(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"]);
  assert.deepEqual(list.split(":").slice(3), ["ECDHE-RSA-AES128-GCM-SHA256"]);
  assert.ok(list.startsWith("TLS_AES_128_GCM_SHA256:"), "TLS 1.3 suites stay enabled");
  assert.throws(() => opensslCipherList(["TLS_NOPE"]), /TLS_NOPE/);
});

test("watchCertKeyPair: a valid new pair is handed over; a bad one is logged once and ignored", async (t) => {
  const lines = captureLogs(t);
  const dir = tempDir(t);
  const a = await testCert("a");
  const b = await testCert("b");
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  writeFileSync(certFile, a.certPem);
  writeFileSync(keyFile, a.keyPem);
  const changes: string[] = [];
  const watch = watchCertKeyPair({
    certFile,
    keyFile,
    cert: Buffer.from(a.certPem),
    key: Buffer.from(a.keyPem),
    intervalMs: 3_600_000,
    onChange: (cert) => changes.push(new X509Certificate(cert).subject),
  });
  t.after(() => watch.stop());
  await watch.check();
  assert.deepEqual(changes, [], "unchanged files are not reloaded");
  writeFileSync(certFile, b.certPem); // key still a's: mismatch
  await watch.check();
  await watch.check();
  assert.deepEqual(changes, []);
  assert.equal(lines.filter((l) => l.includes("Invalid serving certificate")).length, 1);
  writeFileSync(keyFile, b.keyPem);
  await watch.check();
  assert.deepEqual(changes, ["CN=b"]);
});
