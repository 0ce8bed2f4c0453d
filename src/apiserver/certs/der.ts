// The little DER (ITU-T X.690) the server needs, written by hand over node:crypto instead of a general
// X.509 library: @peculiar/x509 with tsyringe and reflect-metadata cost ~8 MiB of RSS and 11 MiB of V8
// heap for making two certificates at start and reading client certificates' subjects. Writing:
// the self-signed CA and the serving certificate (RFC 5280 §4.1, ECDSA P-256 with SHA-256). Reading:
// a certificate's issuer and subject as they are, its subject key identifier, and the subject's
// CommonName and Organization values, as Go's crypto/x509 and pkix.Name read them.
import { createHash, type KeyObject, sign } from "node:crypto";
import { isIP } from "node:net";

// --- writing ---

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);
const TRUE = tlv(0x01, Buffer.from([0xff]));

/** A non-negative INTEGER from big-endian bytes (a leading zero added where the top bit is set). */
function uint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, (v[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const groups = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime through 2049, GeneralizedTime after, as RFC 5280 §4.1.2.5 asks. */
function time(ms: number): Buffer {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString(); // 2026-12-07T21:00:00.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "") + "Z";
  const year = Number(iso.slice(0, 4));
  return year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2))) : tlv(0x18, Buffer.from(digits));
}

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** A Name of one CommonName, as a UTF8String. */
export function commonName(cn: string): Buffer {
  return seq(set(seq(oid(OID.commonName), tlv(0x0c, Buffer.from(cn, "utf8")))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), TRUE, octets(value)) : seq(oid(id), octets(value));
}

/** KeyUsage bits, numbered as in RFC 5280 §4.2.1.3. */
export const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5 } as const;

function keyUsage(bitNumbers: readonly number[]): Buffer {
  let v = 0;
  for (const b of bitNumbers) v |= 0x80 >> b;
  let unused = 0;
  while (unused < 7 && !(v & (1 << unused))) unused++;
  return tlv(0x03, Buffer.from([unused, v]));
}

/** The uncompressed EC point inside a public key's SubjectPublicKeyInfo. */
function publicKeyBits(spki: Buffer): Buffer {
  const info = read(spki, 0);
  const alg = read(spki, info.start);
  const key = read(spki, alg.end);
  return spki.subarray(key.start + 1, key.end); // after the unused-bits byte
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha1").update(publicKeyBits(spki)).digest();
}

export interface CertificateTemplate {
  serial: Buffer;
  /** DER Names: the issuer's exactly as in its certificate, so Go matches the two byte for byte. */
  issuer: Buffer;
  subject: Buffer;
  notBeforeMs: number;
  notAfterMs: number;
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed certificate). */
  signingKey: KeyObject;
  /** A CA (basicConstraints cA, pathLen 0) or a serving leaf (serverAuth, the SANs below). */
  ca: boolean;
  keyUsage: readonly number[];
  /** DNS names and IP addresses for subjectAltName (leaves). */
  names?: readonly string[];
  /** The issuer's subject key identifier, for authorityKeyIdentifier (leaves). */
  authorityKeyId?: Buffer;
}

function sanEntry(name: string): Buffer {
  const v = isIP(name);
  if (v === 0) return tlv(0x82, Buffer.from(name, "ascii")); // [2] dNSName
  const bytes =
    v === 4
      ? Buffer.from(name.split(".").map(Number))
      : Buffer.from(
          new Uint16Array(expandIPv6(name)).reduce<number[]>((a, h) => a.concat([h >> 8, h & 0xff]), []),
        );
  return tlv(0x87, bytes); // [7] iPAddress
}

function expandIPv6(addr: string): number[] {
  const [head = "", tail] = addr.split("::");
  const part = (s: string): number[] => (s === "" ? [] : s.split(":").map((h) => Number.parseInt(h, 16)));
  const a = part(head);
  const b = tail === undefined ? [] : part(tail);
  return [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
}

/** A signed X.509 v3 certificate (DER), ECDSA with SHA-256. */
export function createCertificate(t: CertificateTemplate): Buffer {
  const ski = keyIdentifier(t.publicKey);
  const exts = [
    extension(OID.basicConstraints, true, t.ca ? seq(TRUE, tlv(0x02, Buffer.from([0]))) : seq()),
    extension(OID.keyUsage, true, keyUsage(t.keyUsage)),
  ];
  if (!t.ca) exts.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))));
  if (t.names && t.names.length > 0)
    exts.push(extension(OID.subjectAltName, false, seq(...t.names.map(sanEntry))));
  exts.push(extension(OID.subjectKeyId, false, octets(ski)));
  if (t.authorityKeyId) exts.push(extension(OID.authorityKeyId, false, seq(tlv(0x80, t.authorityKeyId))));
  const algorithm = seq(oid(OID.ecdsaWithSHA256));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // [0] version: v3
    uint(t.serial),
    algorithm,
    t.issuer,
    seq(time(t.notBeforeMs), time(t.notAfterMs)),
    t.subject,
    t.publicKey.export({ type: "spki", format: "der" }),
    tlv(0xa3, seq(...exts)), // [3] extensions
  );
  return seq(tbs, algorithm, bits(sign("sha256", tbs, t.signingKey)));
}

export function certificatePem(der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

// --- reading ---

interface Element {
  tag: number;
  /** Offset of the content, and the end of the element. */
  start: number;
  end: number;
  /** Offset of the tag byte. */
  at: number;
}

/** The element at `at` (single-byte tags, definite lengths: all DER certificates use). */
function read(b: Uint8Array, at: number): Element {
  if (at + 2 > b.length) throw new Error("DER: truncated");
  const tag = b[at]!;
  let len = b[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > b.length) throw new Error("DER: bad length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > b.length) throw new Error("DER: truncated");
  return { tag, start, end, at };
}

function children(b: Uint8Array, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const e = read(b, at);
    out.push(e);
    at = e.end;
  }
  return out;
}

/** The TBSCertificate's fields, [0] version skipped: serial, signature, issuer, validity, subject, spki, … */
function tbsFields(der: Uint8Array): Element[] {
  const cert = read(der, 0);
  const tbs = read(der, cert.start);
  const fields = children(der, tbs);
  return fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
}

/**
 * The certificate's subjectKeyIdentifier extension, or (a certificate without one) the identifier of
 * its public key by RFC 5280 §4.2.1.2 method 1.
 */
export function subjectKeyId(der: Uint8Array, publicKey: KeyObject): Buffer {
  const exts = tbsFields(der).find((f) => f.tag === 0xa3);
  if (exts) {
    for (const ext of children(der, read(der, exts.start))) {
      const parts = children(der, ext);
      const [id] = parts;
      const value = parts[parts.length - 1];
      if (id && value && decodeOid(der, id) === OID.subjectKeyId) {
        const inner = read(der, value.start);
        return Buffer.from(der.subarray(inner.start, inner.end));
      }
    }
  }
  return keyIdentifier(publicKey);
}

/** The certificate's subject Name, DER, exactly as it is in the certificate. */
export function rawSubject(der: Uint8Array): Buffer {
  const subject = tbsFields(der)[4];
  if (!subject) throw new Error("DER: no subject");
  return Buffer.from(der.subarray(subject.at, subject.end));
}

function decodeOid(b: Uint8Array, e: Element): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = e.start; i < e.end; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (!(b[i]! & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

/** A directory string as Go's crypto/x509 reads it (UTF-8, Printable, IA5, T61, BMP, Universal). */
function decodeString(b: Uint8Array, e: Element): string {
  const v = Buffer.from(b.subarray(e.start, e.end));
  switch (e.tag) {
    case 0x0c: // UTF8String
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
      return v.toString("utf8");
    case 0x14: // T61String: Go keeps the bytes
      return v.toString("latin1");
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(v).swap16().toString("utf16le");
    case 0x1c: {
      // UniversalString: UTF-32BE
      let s = "";
      for (let i = 0; i + 4 <= v.length; i += 4) s += String.fromCodePoint(v.readUInt32BE(i));
      return s;
    }
    default:
      throw new Error(`unsupported string type 0x${e.tag.toString(16)} in the subject`);
  }
}

/** The subject's CommonName and Organization values, in order (pkix.Name keeps the last CN, every O). */
export function subjectFields(der: Uint8Array): { commonNames: string[]; organizations: string[] } {
  const subject = tbsFields(der)[4];
  if (!subject) throw new Error("DER: no subject");
  const commonNames: string[] = [];
  const organizations: string[] = [];
  for (const rdn of children(der, subject)) {
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      if (!type || !value) throw new Error("DER: bad attribute");
      const id = decodeOid(der, type);
      if (id === OID.commonName) commonNames.push(decodeString(der, value));
      else if (id === OID.organization) organizations.push(decodeString(der, value));
    }
  }
  return { commonNames, organizations };
}
