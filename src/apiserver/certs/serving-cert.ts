// Serving certificate: the files given by --tls-cert-file/--tls-private-key-file, or a self-signed pair
// kept in --cert-dir (apiserver.crt / apiserver.key), generated on first start like upstream's
// generic apiserver does (a throwaway CA plus a serving cert for localhost, 127.0.0.1 and the bind
// address).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as log from "../../log/index.ts";
import { certificatePem, commonName, createCertificate, KEY_USAGE, keyIdentifier } from "./der.ts";
import { newKeyPair, pemKey, randomSerial } from "./keys.ts";

export interface ServingCert {
  cert: Buffer;
  key: Buffer;
  /** Where it came from, for the log. */
  source: string;
}

/** Makes a CA and a serving certificate signed by it; returns PEM chain (leaf then CA) and key. */
function generateSelfSigned(hosts: readonly string[]): { certPem: string; keyPem: string } {
  const now = Date.now();
  const notBeforeMs = now - 60 * 60 * 1000;
  const notAfterMs = now + 365 * 24 * 60 * 60 * 1000;
  const caKeys = newKeyPair();
  const caName = commonName(`localhost-ca@${Math.floor(now / 1000)}`);
  const ca = createCertificate({
    serial: randomSerial(),
    issuer: caName,
    subject: caName,
    notBeforeMs,
    notAfterMs,
    publicKey: caKeys.publicKey,
    signingKey: caKeys.privateKey,
    ca: true,
    keyUsage: [KEY_USAGE.keyCertSign, KEY_USAGE.digitalSignature],
  });
  const keys = newKeyPair();
  const names = [...new Set(["localhost", "127.0.0.1", ...hosts])].filter(
    (h) => h && h !== "0.0.0.0" && h !== "::",
  );
  const leaf = createCertificate({
    serial: randomSerial(),
    issuer: caName,
    subject: commonName(`localhost@${Math.floor(now / 1000)}`),
    notBeforeMs,
    notAfterMs,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    ca: false,
    keyUsage: [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment],
    names,
    authorityKeyId: keyIdentifier(caKeys.publicKey),
  });
  return { certPem: certificatePem(leaf) + certificatePem(ca), keyPem: pemKey(keys.privateKey) };
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
  const { certPem, keyPem } = generateSelfSigned(opts.hosts);
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
