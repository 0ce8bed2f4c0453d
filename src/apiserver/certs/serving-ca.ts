// CA-bundle mode: a long-lived CA kept in --cert-dir signs the serving certificate, so the APIService
// can carry the CA in spec.caBundle instead of insecureSkipTLSVerify. Restarts reuse the CA (the
// caBundle stays valid); the leaf is re-signed when it no longer covers the hosts or nears expiry.
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import * as log from "../../log/index.ts";
import { certificatePem, commonName, createCertificate, KEY_USAGE, rawSubject, subjectKeyId } from "./der.ts";
import { newKeyPair, pemKey, randomSerial } from "./keys.ts";

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

/** What signing a leaf needs of the CA: its certificate and its key. */
interface SigningCA {
  cert: X509Certificate;
  key: KeyObject;
}

function newCA(now: number): SigningCA & { keyPem: string } {
  const keys = newKeyPair();
  const name = commonName(`metrics-server-ca@${Math.floor(now / 1000)}`);
  const der = createCertificate({
    serial: randomSerial(),
    issuer: name,
    subject: name,
    notBeforeMs: now - 60 * 60 * 1000,
    notAfterMs: now + 10 * 365 * DAY_MS,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    ca: true,
    keyUsage: [KEY_USAGE.keyCertSign, KEY_USAGE.digitalSignature],
  });
  return { cert: new X509Certificate(der), key: keys.privateKey, keyPem: pemKey(keys.privateKey) };
}

function servingNames(hosts: readonly string[]): string[] {
  return [...new Set(["localhost", "127.0.0.1", ...hosts])].filter((h) => h && h !== "0.0.0.0" && h !== "::");
}

function signLeaf(ca: SigningCA, names: readonly string[], now: number): { certPem: string; keyPem: string } {
  const keys = newKeyPair();
  const der = createCertificate({
    serial: randomSerial(),
    // The issuer exactly as the CA certificate holds its subject: Go matches the two byte for byte.
    issuer: rawSubject(ca.cert.raw),
    subject: commonName(names.find((n) => !isIP(n)) ?? "localhost"),
    notBeforeMs: now - 60 * 60 * 1000,
    notAfterMs: Math.min(now + 365 * DAY_MS, ca.cert.validToDate.getTime()),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    ca: false,
    keyUsage: [KEY_USAGE.digitalSignature],
    names,
    authorityKeyId: subjectKeyId(ca.cert.raw, ca.cert.publicKey),
  });
  return { certPem: certificatePem(der), keyPem: pemKey(keys.privateKey) };
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
    const leaf = new X509Certificate(leafPem);
    const ca = new X509Certificate(caPem);
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
  let ca: SigningCA | undefined;
  if (caPemOnDisk && caKeyOnDisk) {
    try {
      const cert = new X509Certificate(caPemOnDisk);
      const key = createPrivateKey(caKeyOnDisk);
      if (!cert.ca || !cert.checkPrivateKey(key)) throw new Error("not a CA for this key");
      if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) throw new Error(`expires ${cert.validTo}`);
      ca = { cert, key };
    } catch (err) {
      log.warning("Replacing the serving CA in the cert dir", { dir, reason: (err as Error).message });
      ca = undefined;
    }
  }
  const writes: Array<[string, string, number]> = [];
  if (!ca) {
    const made = newCA(now);
    ca = made;
    writes.push([CA_CERT_FILE, certificatePem(made.cert.raw), 0o644], [CA_KEY_FILE, made.keyPem, 0o600]);
  }
  const caPem = writes.length > 0 ? certificatePem(ca.cert.raw) : (caPemOnDisk as string);
  let certPem = readIfExists(join(dir, LEAF_CERT_FILE));
  let keyPem = readIfExists(join(dir, LEAF_KEY_FILE));
  if (!certPem || !keyPem || !leafStillGood(certPem, keyPem, caPem, names, now)) {
    ({ certPem, keyPem } = signLeaf(ca, names, now));
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
