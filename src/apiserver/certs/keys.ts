// What the certificate makers share: @peculiar/x509 on Node's WebCrypto, P-256 keys (fast to make and
// accepted by Go and Node TLS stacks) and PKCS#8 PEM for the private keys written to disk.
import { webcrypto } from "node:crypto";
import "reflect-metadata"; // @peculiar/x509 (via tsyringe) needs the Reflect metadata API loaded first
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

export const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
export const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

export function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${b64.replace(/.{1,64}/g, "$&\n")}-----END PRIVATE KEY-----\n`;
}
