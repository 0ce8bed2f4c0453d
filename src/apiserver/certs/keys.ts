// What the certificate makers share: P-256 keys (fast to make and accepted by Go and Node TLS stacks),
// PKCS#8 PEM for the private keys written to disk, and positive random serial numbers.
import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";

export function newKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "P-256" });
}

export function pemKey(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

export function randomSerial(): Buffer {
  // Positive (first byte < 0x80) and never zero: what RFC 5280 asks of serial numbers.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}
