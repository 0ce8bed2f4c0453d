// A tiny certificate authority for the simulated cluster. P-256 ECDSA keys: generating and signing
// thousands of kubelet serving certs with RSA would take minutes, with P-256 it takes seconds.

import { webcrypto } from "node:crypto";
import "reflect-metadata"; // the Reflect polyfill @peculiar/x509 requires (its README), loaded first
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const DAY_MS = 24 * 60 * 60 * 1000;
// Backdate notBefore so a freshly issued cert is valid even with a little clock skew between processes.
const BACKDATE_MS = 60 * 60 * 1000;

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export interface CA extends CertAndKey {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export interface IssueOptions {
  commonName: string;
  /** Subject O= values; Kubernetes reads them as the client's groups. */
  organizations?: string[];
  ipAddresses?: string[];
  dnsNames?: string[];
  /** Adds the serverAuth extended key usage. */
  server?: boolean;
  /** Adds the clientAuth extended key usage. */
  client?: boolean;
  /** Validity in days (default 365). */
  days?: number;
  /**
   * Use this key pair instead of generating one: thousands of kubelet serving certs can share one
   * key (each still names its own node), which saves a key generation and export per cert.
   */
  key?: KeyPairWithPem;
}

/** A key pair and its private key as PKCS#8 PEM. */
export interface KeyPairWithPem {
  keys: CryptoKeyPair;
  keyPem: string;
}

function subjectName(commonName: string, organizations: readonly string[] = []): x509.JsonName {
  // Structured names avoid having to escape ',', '+', '=' in the string form.
  return [...organizations.map((o) => ({ O: [o] })), { CN: [commonName] }];
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // keep the DER integer positive
  bytes[0] |= 0x01; // and free of a leading zero byte
  return Buffer.from(bytes).toString("hex");
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

/** A fresh P-256 key pair, for issueCert's `key` option. */
export async function createKeyPair(): Promise<KeyPairWithPem> {
  const keys = await generateKeys();
  return { keys, keyPem: await privateKeyPem(keys.privateKey) };
}

/** A self-signed CA valid for 10 years. */
export async function createCA(commonName: string): Promise<CA> {
  if (!commonName) throw new Error("createCA: commonName must not be empty");
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(commonName),
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + 10 * 365 * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A leaf certificate signed by `ca`, with its own fresh key unless opts.key is given. */
export async function issueCert(ca: CA, opts: IssueOptions): Promise<CertAndKey> {
  if (!opts.commonName) throw new Error("issueCert: commonName must not be empty");
  const days = opts.days ?? 365;
  if (!(days > 0)) throw new Error(`issueCert: days must be positive, got ${days}`);
  const keys = opts.key?.keys ?? (await generateKeys());
  const now = Date.now();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  const usages: string[] = [];
  if (opts.server) usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (opts.client) usages.push(x509.ExtendedKeyUsage.clientAuth);
  if (usages.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(usages));
  const altNames: x509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(opts.commonName, opts.organizations),
    issuer: ca.cert.subjectName,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return {
    certPem: cert.toString("pem"),
    keyPem: opts.key?.keyPem ?? (await privateKeyPem(keys.privateKey)),
  };
}
