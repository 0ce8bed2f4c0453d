// Test helpers for this folder's *.test.ts.
import { testCert } from "../../test/support/certs.ts";

export interface KeyPairPem {
  cert: string;
  key: string;
}

/** A self-signed certificate that is also a CA, so it can be trusted directly. */
export async function selfSigned(cn: string, names: { dns?: string[]; ip?: string[] }): Promise<KeyPairPem> {
  const c = await testCert(cn, names);
  return { cert: c.certPem, key: c.keyPem };
}
