// Test helpers for this folder's *.test.ts: a throw-away self-signed P-256 certificate.
import { webcrypto } from "node:crypto";
import type * as X509 from "@peculiar/x509";

// @peculiar/x509 pulls in tsyringe, which refuses to load without the Reflect metadata API (the
// `reflect-metadata` package is not a dependency). x509 only stores plain per-object metadata, so a
// WeakMap-backed stand-in is installed first and the module is imported dynamically afterwards.
installReflectMetadata();
const x509: typeof X509 = await import("@peculiar/x509");

function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === "function") return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  reflect.defineMetadata = (key: unknown, value: unknown, target: object): void => {
    const m = store.get(target) ?? new Map<unknown, unknown>();
    m.set(key, value);
    store.set(target, m);
  };
  reflect.getOwnMetadata = (key: unknown, target: object): unknown => store.get(target)?.get(key);
  reflect.getMetadata = (key: unknown, target: object): unknown => {
    for (let o: object | null = target; o; o = Object.getPrototypeOf(o)) {
      const m = store.get(o);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
}

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
