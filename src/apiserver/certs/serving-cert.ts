// Serving certificate: the files given by --tls-cert-file/--tls-private-key-file, or a self-signed pair
// kept in --cert-dir (apiserver.crt / apiserver.key), generated on first start like upstream's
// generic apiserver does (a throwaway CA plus a serving cert for localhost, 127.0.0.1 and the bind
// address).
import { webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import * as log from "../../log/index.ts";
import { EC, pemKey, SIGN, x509 } from "./keys.ts";

export interface ServingCert {
  cert: Buffer;
  key: Buffer;
  /** Where it came from, for the log. */
  source: string;
}

/** Makes a CA and a serving certificate signed by it; returns PEM chain (leaf then CA) and key. */
async function generateSelfSigned(hosts: readonly string[]): Promise<{ certPem: string; keyPem: string }> {
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
