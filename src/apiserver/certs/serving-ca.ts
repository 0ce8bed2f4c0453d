// CA-bundle mode: a long-lived CA kept in --cert-dir signs the serving certificate, so the APIService
// can carry the CA in spec.caBundle instead of insecureSkipTLSVerify. Restarts reuse the CA (the
// caBundle stays valid); the leaf is re-signed when it no longer covers the hosts or nears expiry.
import { createPrivateKey, X509Certificate as NodeX509, webcrypto } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import * as log from "../../log/index.ts";
import { EC, pemKey, SIGN, x509 } from "./keys.ts";

const CA_CERT_FILE = "serving-ca.crt";
const CA_KEY_FILE = "serving-ca.key";
const LEAF_CERT_FILE = "serving.crt";
const LEAF_KEY_FILE = "serving.key";
const DAY_MS = 24 * 60 * 60 * 1000;
/** A leaf (or CA) with less than this left is replaced at start. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

export interface ServingCA {
  /** The serving certificate (PEM, leaf only: clients trust caPem). */
  cert: Buffer;
  key: Buffer;
  /** The CA certificate (PEM) to put into the APIService's spec.caBundle. */
  caPem: string;
}

async function importEcKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error("no PEM block");
  return webcrypto.subtle.importKey("pkcs8", der, EC, true, ["sign"]);
}

async function newCA(now: number): Promise<{ cert: x509.X509Certificate; keys: webcrypto.CryptoKeyPair }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=metrics-server-ca@${Math.floor(now / 1000)}`,
    keys,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + 10 * 365 * DAY_MS),
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

function randomSerial(): string {
  // Positive (first byte < 0x80) and never zero: what RFC 5280 asks of serial numbers.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString("hex");
}

function servingNames(hosts: readonly string[]): string[] {
  return [...new Set(["localhost", "127.0.0.1", ...hosts])].filter((h) => h && h !== "0.0.0.0" && h !== "::");
}

async function signLeaf(
  ca: x509.X509Certificate,
  caKey: webcrypto.CryptoKey,
  names: readonly string[],
  now: number,
): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const caNotAfter = ca.notAfter.getTime();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${names.find((n) => !isIP(n)) ?? "localhost"}`,
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(Math.min(now + 365 * DAY_MS, caNotAfter)),
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (isIP(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  const keyDer = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPem: leaf.toString("pem") + "\n", keyPem: pemKey(keyDer) };
}

/** True when the PEM leaf was issued by `ca`, names every host and is valid for a while yet. */
function leafStillGood(
  leafPem: string,
  keyPem: string,
  caPem: string,
  names: readonly string[],
  now: number,
): boolean {
  try {
    const leaf = new NodeX509(leafPem);
    const ca = new NodeX509(caPem);
    if (!leaf.verify(ca.publicKey) || !leaf.checkIssued(ca)) return false;
    if (Date.parse(leaf.validTo) - now < RENEW_BEFORE_MS) return false;
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return false;
    return names.every((n) => (isIP(n) ? leaf.checkIP(n) !== undefined : leaf.checkHost(n) !== undefined));
  } catch {
    return false;
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Creates, or loads from `dir`, a CA and a serving certificate it signed for `hosts` (plus localhost
 * and 127.0.0.1). An unusable CA in `dir` (unreadable, expiring, key mismatch) is replaced, which
 * changes caPem; a write failure is logged and the pair is served from memory.
 */
export async function generateServingCA(hosts: readonly string[], dir: string): Promise<ServingCA> {
  const now = Date.now();
  const names = servingNames(hosts);
  const caPemOnDisk = readIfExists(join(dir, CA_CERT_FILE));
  const caKeyOnDisk = readIfExists(join(dir, CA_KEY_FILE));
  let ca: x509.X509Certificate | undefined;
  let caKey: webcrypto.CryptoKey | undefined;
  if (caPemOnDisk && caKeyOnDisk) {
    try {
      const nodeCa = new NodeX509(caPemOnDisk);
      if (!nodeCa.ca || !nodeCa.checkPrivateKey(createPrivateKey(caKeyOnDisk)))
        throw new Error("not a CA for this key");
      if (Date.parse(nodeCa.validTo) - now < RENEW_BEFORE_MS) throw new Error(`expires ${nodeCa.validTo}`);
      ca = new x509.X509Certificate(caPemOnDisk);
      caKey = await importEcKey(caKeyOnDisk);
    } catch (err) {
      log.warning("Replacing the serving CA in the cert dir", { dir, reason: (err as Error).message });
      ca = undefined;
    }
  }
  const writes: Array<[string, string, number]> = [];
  if (!ca || !caKey) {
    const made = await newCA(now);
    ca = made.cert;
    caKey = made.keys.privateKey;
    const caKeyPem = pemKey(await webcrypto.subtle.exportKey("pkcs8", caKey));
    writes.push([CA_CERT_FILE, ca.toString("pem") + "\n", 0o644], [CA_KEY_FILE, caKeyPem, 0o600]);
  }
  const caPem = writes.length > 0 ? ca.toString("pem") + "\n" : (caPemOnDisk as string);
  let certPem = readIfExists(join(dir, LEAF_CERT_FILE));
  let keyPem = readIfExists(join(dir, LEAF_KEY_FILE));
  if (!certPem || !keyPem || !leafStillGood(certPem, keyPem, caPem, names, now)) {
    ({ certPem, keyPem } = await signLeaf(ca, caKey, names, now));
    writes.push([LEAF_CERT_FILE, certPem, 0o644], [LEAF_KEY_FILE, keyPem, 0o600]);
  }
  if (writes.length > 0) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const [file, text, mode] of writes) writeFileSync(join(dir, file), text, { mode });
      log.info("Wrote serving CA and certificate", { dir, hosts: names });
    } catch (err) {
      log.warning("Could not write the serving CA, serving it from memory", { dir, err: String(err) });
    }
  }
  return { cert: Buffer.from(certPem), key: Buffer.from(keyPem), caPem };
}
