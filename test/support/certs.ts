// Throw-away certificates for tests: a self-signed P-256 certificate that is its own CA and carries
// no extended key usage, so one helper serves as server cert, client cert and trust anchor alike.
import { webcrypto } from "node:crypto";
import "reflect-metadata"; // the Reflect polyfill @peculiar/x509 requires (its README), loaded first
import * as x509 from "@peculiar/x509";

type SelfSignedParams = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>;

export interface TestCert {
  certPem: string;
  keyPem: string;
}

export async function testCert(
  commonName: string,
  sans: { dns?: readonly string[]; ip?: readonly string[] } = {},
  organizations: readonly string[] = [],
): Promise<TestCert> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const now = Date.now();
  const subject = [`CN=${commonName}`, ...organizations.map((o) => `O=${o}`)].join(", ");
  const san = [
    ...(sans.dns ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(sans.ip ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
        .toString("hex")
        .replace(/^0*/, "1"),
      name: subject,
      notBefore: new Date(now - 3_600_000),
      notAfter: new Date(now + 24 * 3_600_000),
      signingAlgorithm: alg,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
          true,
        ),
        ...(san.length > 0 ? [new x509.SubjectAlternativeNameExtension(san)] : []),
      ],
    } as unknown as SelfSignedParams[0],
    webcrypto as unknown as SelfSignedParams[1],
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPem: cert.toString("pem"), keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}
