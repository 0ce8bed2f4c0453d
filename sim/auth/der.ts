// The few DER (ASN.1 Distinguished Encoding Rules) building blocks an X.509 certificate needs:
// tag-length-value with definite lengths, INTEGER, OBJECT IDENTIFIER, strings, times and bit strings.

/** Universal and context-specific tags used by certificates. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** A DER length: short form below 128, else 0x80|n followed by n big-endian bytes. */
function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value element whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const value = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return Buffer.concat([Buffer.of(tag), lengthBytes(value.length), value]);
}

export const sequence = (...parts: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...parts);
export const set = (...parts: Uint8Array[]): Buffer => tlv(TAG.SET, ...parts);

/** [n] EXPLICIT: a constructed context-specific wrapper around `inner`. */
export function explicit(n: number, inner: Uint8Array): Buffer {
  return tlv(0xa0 | n, inner);
}

/** [n] IMPLICIT primitive: the value with a context-specific tag in place of its own. */
export function implicit(n: number, value: Uint8Array): Buffer {
  return tlv(0x80 | n, value);
}

/** A non-negative INTEGER from big-endian magnitude bytes (a 0x00 is prefixed when the top bit is set). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  if (trimmed.length === 0) return tlv(TAG.INTEGER, Buffer.of(0));
  return trimmed[0] & 0x80 ? tlv(TAG.INTEGER, Buffer.of(0), trimmed) : tlv(TAG.INTEGER, trimmed);
}

/** A small non-negative INTEGER. */
export function smallInteger(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`DER: not a small non-negative integer: ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return unsignedInteger(Buffer.from(bytes.length > 0 ? bytes : [0]));
}

/** An OBJECT IDENTIFIER from its dotted form ("2.5.29.17"). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map((a) => {
    if (!/^\d+$/.test(a)) throw new Error(`DER: invalid object identifier ${JSON.stringify(dotted)}`);
    return Number(a);
  });
  if (arcs.length < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39)) {
    throw new Error(`DER: invalid object identifier ${JSON.stringify(dotted)}`);
  }
  const out: number[] = [];
  const base128 = (v: number) => {
    const groups = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) groups.unshift(0x80 | (x & 0x7f));
    out.push(...groups);
  };
  base128(arcs[0] * 40 + arcs[1]);
  for (const arc of arcs.slice(2)) base128(arc);
  return tlv(TAG.OID, Buffer.from(out));
}

export const utf8String = (s: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(s, "utf8"));

/** The bytes of an IA5 (7-bit ASCII) string, without tag and length (for IMPLICIT GeneralNames). */
export function ia5Bytes(s: string): Buffer {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) throw new Error(`DER: ${JSON.stringify(s)} is not an IA5 (ASCII) string`);
  }
  return Buffer.from(s, "latin1");
}

export const ia5String = (s: string): Buffer => tlv(TAG.IA5_STRING, ia5Bytes(s));

export const octetString = (b: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, b);

/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (b: Uint8Array): Buffer => tlv(TAG.BIT_STRING, Buffer.of(0), b);

export const booleanTrue = (): Buffer => tlv(TAG.BOOLEAN, Buffer.of(0xff));

/**
 * An X.509 Time: UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime (YYYYMMDDHHMMSSZ) from 2050,
 * as RFC 5280 §4.1.2.5 requires. Milliseconds are dropped.
 */
export function x509Time(ms: number): Buffer {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  if (Number.isNaN(d.getTime())) throw new Error(`DER: invalid time ${ms}`);
  const year = d.getUTCFullYear();
  const p2 = (n: number) => String(n).padStart(2, "0");
  const rest = `${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(p2(year % 100) + rest, "latin1"));
  if (year < 0 || year > 9999) throw new Error(`DER: year ${year} cannot be encoded`);
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(String(year).padStart(4, "0") + rest, "latin1"));
}

/** The element starting at `offset` of `der`: its tag, where its value starts and where it ends. */
export function readElement(der: Uint8Array, offset: number): { tag: number; start: number; end: number } {
  if (offset + 2 > der.length) throw new Error("DER: truncated element");
  const tag = der[offset];
  let len = der[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) throw new Error("DER: unsupported length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new Error("DER: element runs past the end");
  return { tag, start, end };
}
