// Kubelet serving certificates at thousands per second: the TBSCertificate is assembled with the small
// DER encoder in der.ts and signed with node:crypto. @peculiar/x509 took ~1.25 ms per certificate
// (5,000 nodes: ~6 s of start-up); this takes a few tens of microseconds, almost all of it the ECDSA
// signature. The CA and the client certificates stay with @peculiar/x509 (pki.ts): they are few.

import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from "node:crypto";
import { isIP } from "node:net";
import {
  bitString,
  booleanTrue,
  explicit,
  ia5Bytes,
  implicit,
  octetString,
  oid,
  readElement,
  sequence,
  set,
  smallInteger,
  unsignedInteger,
  utf8String,
  x509Time,
} from "./der.ts";
import type { CA, KeyPairWithPem } from "./pki.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
// As pki.ts: backdated so a fresh cert is valid despite a little clock skew between processes.
const BACKDATE_MS = 60 * 60 * 1000;

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

// Constant pieces, encoded once.
const SIGNATURE_ALGORITHM = sequence(oid(OID.ecdsaWithSha256));
const VERSION_3 = explicit(0, smallInteger(2));
// keyUsage digitalSignature (bit 0) | keyEncipherment (bit 2): one byte 1010 0000, 5 unused bits.
const KEY_USAGE_EXT = extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x05, 0xa0]));
const BASIC_CONSTRAINTS_EXT = extension(OID.basicConstraints, true, sequence()); // cA FALSE (the default)
const SERVER_AUTH_EXT = extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth)));

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return critical
    ? sequence(oid(id), booleanTrue(), octetString(value))
    : sequence(oid(id), octetString(value));
}

/** A Name with O= values first and CN= last, one attribute per RDN (as pki.ts builds subjects). */
function name(commonName: string, organizations: readonly string[]): Buffer {
  const rdn = (type: string, value: string) => set(sequence(oid(type), utf8String(value)));
  return sequence(...organizations.map((o) => rdn(OID.organization, o)), rdn(OID.commonName, commonName));
}

/** An IP address as the 4 or 16 bytes of an iPAddress GeneralName. */
export function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split(".").map(Number));
  if (family !== 6) throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
  let [head, tail] = ip.includes("::") ? ip.split("::") : [ip, undefined];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two 16-bit groups.
  const v4 = (s: string) => {
    const m = /^(.*:)?(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (!m) return s;
    const b = m[2].split(".").map(Number);
    return `${m[1] ?? ""}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  };
  if (tail !== undefined) tail = v4(tail);
  else head = v4(head);
  const groups = (s: string | undefined) => (s ? s.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  for (let i = 0; i < all.length; i++) out.writeUInt16BE(all[i], i * 2);
  return out;
}

function subjectAltNames(dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer {
  return extension(
    OID.subjectAltName,
    false,
    sequence(
      ...dnsNames.map((d) => implicit(2, ia5Bytes(d))),
      ...ipAddresses.map((ip) => implicit(7, ipBytes(ip))),
    ),
  );
}

function pem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/**
 * What a CA certificate (DER) contributes to the certificates it signs: its subject Name's exact bytes
 * (their issuer) and its subjectKeyIdentifier (their authorityKeyIdentifier; undefined if it has none).
 */
export function issuerFields(certDer: Uint8Array): { subject: Buffer; subjectKeyId: Buffer | undefined } {
  const cert = readElement(certDer, 0);
  const tbs = readElement(certDer, cert.start);
  let at = tbs.start;
  // version [0] (optional), serialNumber, signature, issuer, validity, then subject.
  if (certDer[at] === 0xa0) at = readElement(certDer, at).end;
  for (let i = 0; i < 4; i++) at = readElement(certDer, at).end;
  const subjectEnd = readElement(certDer, at).end;
  const subject = Buffer.from(certDer.subarray(at, subjectEnd));
  // subjectPublicKeyInfo, then optional [1] and [2] unique IDs, then [3] extensions.
  at = readElement(certDer, subjectEnd).end;
  let subjectKeyId: Buffer | undefined;
  while (at < tbs.end) {
    const el = readElement(certDer, at);
    if (el.tag === 0xa3) {
      const list = readElement(certDer, el.start);
      for (let e = list.start; e < list.end; ) {
        const ext = readElement(certDer, e);
        const id = readElement(certDer, ext.start);
        if (Buffer.from(certDer.subarray(ext.start, id.end)).equals(SKI_OID)) {
          // extnID, optional critical BOOLEAN, extnValue OCTET STRING holding an OCTET STRING.
          let v = readElement(certDer, id.end);
          if (v.tag === 0x01) v = readElement(certDer, v.end);
          const inner = readElement(certDer, v.start);
          subjectKeyId = Buffer.from(certDer.subarray(inner.start, inner.end));
        }
        e = ext.end;
      }
    }
    at = el.end;
  }
  return { subject, subjectKeyId };
}

const SKI_OID = oid("2.5.29.14");

export interface ServingCertRequest {
  commonName: string;
  organizations?: readonly string[];
  ipAddresses?: readonly string[];
  dnsNames?: readonly string[];
  /** Validity in days (default 365). */
  days?: number;
}

/**
 * Issues serverAuth certificates from one CA for one shared key pair (every kubelet of a fleet uses
 * the same key; each certificate still names its own node).
 */
export class ServingCertIssuer {
  private readonly caKey: KeyObject;
  private readonly issuer: Buffer;
  private readonly spki: Buffer;
  private readonly authorityKeyIdExt: Buffer;
  /** The shared private key (PKCS#8 PEM), to pair with every issued certificate. */
  readonly keyPem: string;

  private constructor(
    caKey: KeyObject,
    issuer: Buffer,
    spki: Buffer,
    authorityKeyId: Buffer,
    keyPem: string,
  ) {
    this.caKey = caKey;
    this.issuer = issuer;
    this.spki = spki;
    this.authorityKeyIdExt = extension(
      OID.authorityKeyIdentifier,
      false,
      sequence(implicit(0, authorityKeyId)),
    );
    this.keyPem = keyPem;
  }

  /** Throws if the CA certificate cannot be read or has no subjectKeyIdentifier (pki.ts always adds one). */
  static create(ca: Pick<CA, "certPem" | "keyPem">, key: Pick<KeyPairWithPem, "keyPem">): ServingCertIssuer {
    const { subject, subjectKeyId } = issuerFields(new X509Certificate(ca.certPem).raw);
    if (!subjectKeyId) throw new Error("ServingCertIssuer: the CA certificate has no subjectKeyIdentifier");
    const spki = createPublicKey(createPrivateKey(key.keyPem)).export({ type: "spki", format: "der" });
    return new ServingCertIssuer(createPrivateKey(ca.keyPem), subject, spki, subjectKeyId, key.keyPem);
  }

  /** The certificate as PEM; throws on an empty common name, a bad IP or a non-positive validity. */
  issue(req: ServingCertRequest, nowMs = Date.now()): string {
    if (!req.commonName) throw new Error("issue: commonName must not be empty");
    const days = req.days ?? 365;
    if (!(days > 0)) throw new Error(`issue: days must be positive, got ${days}`);
    const serial = randomBytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x01; // positive, and no leading zero byte to trim
    const dnsNames = req.dnsNames ?? [];
    const ipAddresses = req.ipAddresses ?? [];
    const extensions = [BASIC_CONSTRAINTS_EXT, KEY_USAGE_EXT, this.authorityKeyIdExt, SERVER_AUTH_EXT];
    if (dnsNames.length + ipAddresses.length > 0) extensions.push(subjectAltNames(dnsNames, ipAddresses));
    const tbs = sequence(
      VERSION_3,
      unsignedInteger(serial),
      SIGNATURE_ALGORITHM,
      this.issuer,
      sequence(x509Time(nowMs - BACKDATE_MS), x509Time(nowMs + days * DAY_MS)),
      name(req.commonName, req.organizations ?? []),
      this.spki,
      explicit(3, sequence(...extensions)),
    );
    // ECDSA signatures from node:crypto are DER (r, s) already, as X.509 wants them.
    const signature = sign("sha256", tbs, this.caKey);
    return pem(sequence(tbs, SIGNATURE_ALGORITHM, bitString(signature)));
  }
}
