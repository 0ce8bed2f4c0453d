// Test helpers for this folder's *.test.ts: a throw-away self-signed P-256 certificate.
import { webcrypto } from "node:crypto";
import "reflect-metadata"; // the Reflect polyfill @peculiar/x509 requires (its README), loaded first
import * as x509 from "@peculiar/x509";

type SelfSignedParams = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>;

export interface KeyPairPem {
  cert: string;
  key: string;
}

/** A self-signed certificate that is also a CA, so it can be trusted directly. */
export async function selfSigned(cn: string, names: { dns?: string[]; ip?: string[] }): Promise<KeyPairPem> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const san = [
    ...(names.dns ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(names.ip ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: String(Math.floor(Math.random() * 1e9) + 1),
      name: `CN=${cn}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      signingAlgorithm: alg,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
          true,
        ),
        new x509.SubjectAlternativeNameExtension(san),
      ],
    },
    webcrypto as unknown as SelfSignedParams[1],
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem"), key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}
