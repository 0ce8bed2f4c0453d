// Serving certificate: the files given by --tls-cert-file/--tls-private-key-file, or a self-signed pair
// kept in --cert-dir (apiserver.crt / apiserver.key), generated on first start like upstream's
// generic apiserver does (a throwaway CA plus a serving cert for localhost, 127.0.0.1 and the bind
// address). P-256 keys: fast to make and accepted by Go and Node TLS stacks.
// Also: CA-bundle mode (generateServingCA), Go TLS version/cipher names, and reloading the files.
import { createPrivateKey, X509Certificate as NodeX509, webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { createSecureContext, type SecureVersion } from "node:tls";
import "reflect-metadata"; // @peculiar/x509 (via tsyringe) needs the Reflect metadata API loaded first
import * as x509 from "@peculiar/x509";
import * as log from "../log/index.ts";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

export interface ServingCert {
  cert: Buffer;
  key: Buffer;
  /** Where it came from, for the log. */
  source: string;
}

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${b64.replace(/.{1,64}/g, "$&\n")}-----END PRIVATE KEY-----\n`;
}

/** Makes a CA and a serving certificate signed by it; returns PEM chain (leaf then CA) and key. */
export async function generateSelfSigned(
  hosts: readonly string[],
): Promise<{ certPem: string; keyPem: string }> {
  const now = Date.now();
  const notBefore = new Date(now - 60 * 60 * 1000);
  const notAfter = new Date(now + 365 * 24 * 60 * 60 * 1000);
  const caKeys = (await webcrypto.subtle.generateKey(EC, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const caName = `CN=localhost-ca@${Math.floor(now / 1000)}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: caName,
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const names = [...new Set(["localhost", "127.0.0.1", ...hosts])].filter(
    (h) => h && h !== "0.0.0.0" && h !== "::",
  );
  const leaf = await x509.X509CertificateGenerator.create({
    subject: `CN=localhost@${Math.floor(now / 1000)}`,
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (isIP(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keyDer = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPem: leaf.toString("pem") + "\n" + ca.toString("pem") + "\n", keyPem: pemKey(keyDer) };
}

/**
 * Loads the serving cert. Explicit files win; otherwise reuse or create the pair in certDir.
 * Throws with a message naming the file on any read problem (the caller exits 1).
 */
export async function loadServingCert(opts: {
  certFile: string;
  keyFile: string;
  certDir: string;
  hosts: readonly string[];
}): Promise<ServingCert> {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) {
      throw new Error("--tls-cert-file and --tls-private-key-file must be given together");
    }
    return {
      cert: readFileOrThrow(opts.certFile, "--tls-cert-file"),
      key: readFileOrThrow(opts.keyFile, "--tls-private-key-file"),
      source: opts.certFile,
    };
  }
  const certPath = join(opts.certDir, "apiserver.crt");
  const keyPath = join(opts.certDir, "apiserver.key");
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { cert: readFileSync(certPath), key: readFileSync(keyPath), source: certPath };
  }
  const { certPem, keyPem } = await generateSelfSigned(opts.hosts);
  try {
    mkdirSync(opts.certDir, { recursive: true, mode: 0o700 });
    writeFileSync(certPath, certPem, { mode: 0o644 });
    writeFileSync(keyPath, keyPem, { mode: 0o600 });
    log.info("Generated self-signed cert", { certFile: certPath, keyFile: keyPath });
  } catch (err) {
    // A read-only --cert-dir is not fatal: serve the in-memory pair, as upstream does with /tmp.
    log.warning("Could not write self-signed cert, serving it from memory", {
      certDir: opts.certDir,
      err: String(err),
    });
  }
  return { cert: Buffer.from(certPem), key: Buffer.from(keyPem), source: "self-signed" };
}

export function readFileOrThrow(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`failed to read ${flag} ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// CA-bundle mode: a long-lived CA kept in --cert-dir signs the serving certificate, so the APIService
// can carry the CA in spec.caBundle instead of insecureSkipTLSVerify. Restarts reuse the CA (the
// caBundle stays valid); the leaf is re-signed when it no longer covers the hosts or nears expiry.

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

// ---------------------------------------------------------------------------------------------------
// --tls-min-version and --tls-cipher-suites: Go's names mapped to what Node's TLS (OpenSSL) takes.

const MIN_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  VersionTLS10: "TLSv1",
  VersionTLS11: "TLSv1.1",
  VersionTLS12: "TLSv1.2",
  VersionTLS13: "TLSv1.3",
};

/** Node's minVersion for a Go name; undefined for "" (Node's default, TLS 1.2, as Go's server). */
export function nodeMinVersion(goName: string | undefined): SecureVersion | undefined {
  if (!goName) return undefined;
  const v = MIN_VERSIONS[goName];
  if (!v) throw new Error(`unknown --tls-min-version ${JSON.stringify(goName)}`);
  return v;
}

/** IANA names (as Go spells them) of the TLS 1.0–1.2 suites, with their OpenSSL names. */
const TLS12_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: "RC4-SHA",
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: "DES-CBC3-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA: "AES128-SHA",
  TLS_RSA_WITH_AES_256_CBC_SHA: "AES256-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA256: "AES128-SHA256",
  TLS_RSA_WITH_AES_128_GCM_SHA256: "AES128-GCM-SHA256",
  TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: "ECDHE-ECDSA-RC4-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: "ECDHE-RSA-RC4-SHA",
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: "ECDHE-RSA-DES-CBC3-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: "ECDHE-ECDSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: "ECDHE-RSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  // Go's older aliases of the two above.
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: "ECDHE-ECDSA-CHACHA20-POLY1305",
};

/** Go accepts these names but ignores them: TLS 1.3 suites are not configurable there. */
const TLS13_SUITES = new Set([
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
]);
/** OpenSSL's TLS 1.3 defaults, named explicitly so that setting the 1.2 list never disables 1.3. */
const TLS13_DEFAULT = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

/**
 * The `ciphers` string for Node's TLS from --tls-cipher-suites; undefined for an empty list (Node's
 * defaults). TLS 1.3 suites stay at their defaults, as in Go. Throws on a name Go does not know.
 */
export function opensslCipherList(goNames: readonly string[]): string | undefined {
  if (goNames.length === 0) return undefined;
  const tls12: string[] = [];
  for (const name of goNames) {
    const openssl = TLS12_SUITES[name];
    if (openssl) tls12.push(openssl);
    else if (!TLS13_SUITES.has(name))
      throw new Error(`unknown --tls-cipher-suites value ${JSON.stringify(name)}`);
  }
  return [TLS13_DEFAULT, ...new Set(tls12)].join(":");
}

// ---------------------------------------------------------------------------------------------------
// Reloading --tls-cert-file/--tls-private-key-file: poll both files and hand over a new pair once it
// parses and the key matches, like the generic apiserver's dynamic serving content. fs.watch misses
// Kubernetes' atomic Secret updates (a symlink swap of the parent directory), polling does not.

export interface CertKeyWatch {
  /** Compares the files with the pair in use now; resolves once done (tests call it directly). */
  check(): Promise<void>;
  stop(): void;
}

export function watchCertKeyPair(opts: {
  certFile: string;
  keyFile: string;
  /** The pair in use now (so an unchanged file is not "reloaded"). */
  cert: Buffer;
  key: Buffer;
  intervalMs?: number;
  onChange(cert: Buffer, key: Buffer): void;
}): CertKeyWatch {
  let current = Buffer.concat([opts.cert, Buffer.from("\0"), opts.key]);
  let lastBad: Buffer | undefined;
  let running: Promise<void> | undefined;
  const check = async (): Promise<void> => {
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(opts.certFile), readFile(opts.keyFile)]);
    } catch (err) {
      // A Secret update can briefly remove a file; only a lasting problem shows in the log once.
      const marker = Buffer.from(`read:${(err as Error).message}`);
      if (!lastBad?.equals(marker)) {
        log.error(err, "Failed to read the serving certificate, keeping the current one", {
          certFile: opts.certFile,
          keyFile: opts.keyFile,
        });
        lastBad = marker;
      }
      return;
    }
    const both = Buffer.concat([cert, Buffer.from("\0"), key]);
    if (both.equals(current) || lastBad?.equals(both)) return;
    try {
      createSecureContext({ cert, key });
    } catch (err) {
      log.error(err, "Invalid serving certificate or key, keeping the current one", {
        certFile: opts.certFile,
        keyFile: opts.keyFile,
      });
      lastBad = both;
      return;
    }
    current = both;
    lastBad = undefined;
    opts.onChange(cert, key);
    log.info("Loaded a new serving certificate", { certFile: opts.certFile, keyFile: opts.keyFile });
  };
  const guarded = (): Promise<void> => {
    running ??= check().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void guarded(), opts.intervalMs ?? 5000);
  timer.unref();
  return { check: guarded, stop: () => clearInterval(timer) };
}
