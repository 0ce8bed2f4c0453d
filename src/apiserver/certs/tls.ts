// --tls-min-version and --tls-cipher-suites: Go's crypto/tls names, the one list of them (the flags'
// help and validation read it too), mapped to what Node's TLS (OpenSSL) takes.
import type { SecureVersion } from "node:tls";

const MIN_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  VersionTLS10: "TLSv1",
  VersionTLS11: "TLSv1.1",
  VersionTLS12: "TLSv1.2",
  VersionTLS13: "TLSv1.3",
};

/** The Go names --tls-min-version accepts. */
export const TLS_VERSIONS: readonly string[] = Object.keys(MIN_VERSIONS);

/** Node's minVersion for a Go name; undefined for "" (Node's default, TLS 1.2, as Go's server). */
export function nodeMinVersion(goName: string | undefined): SecureVersion | undefined {
  if (!goName) return undefined;
  const v = MIN_VERSIONS[goName];
  if (!v) throw new Error(`unknown --tls-min-version ${JSON.stringify(goName)}`);
  return v;
}

/**
 * Every suite name Go accepts (IANA names, as Go spells them): the OpenSSL name of each TLS 1.0–1.2
 * suite, or "" for the TLS 1.3 suites, which Go accepts but ignores (they are not configurable there).
 * `insecure` follows Go's tls.InsecureCipherSuites().
 */
const CIPHER_SUITES: Readonly<Record<string, { openssl: string; insecure?: true }>> = {
  TLS_AES_128_GCM_SHA256: { openssl: "" },
  TLS_AES_256_GCM_SHA384: { openssl: "" },
  TLS_CHACHA20_POLY1305_SHA256: { openssl: "" },
  TLS_RSA_WITH_RC4_128_SHA: { openssl: "RC4-SHA", insecure: true },
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: { openssl: "DES-CBC3-SHA", insecure: true },
  TLS_RSA_WITH_AES_128_CBC_SHA: { openssl: "AES128-SHA" },
  TLS_RSA_WITH_AES_256_CBC_SHA: { openssl: "AES256-SHA" },
  TLS_RSA_WITH_AES_128_CBC_SHA256: { openssl: "AES128-SHA256", insecure: true },
  TLS_RSA_WITH_AES_128_GCM_SHA256: { openssl: "AES128-GCM-SHA256" },
  TLS_RSA_WITH_AES_256_GCM_SHA384: { openssl: "AES256-GCM-SHA384" },
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: { openssl: "ECDHE-ECDSA-RC4-SHA", insecure: true },
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: { openssl: "ECDHE-ECDSA-AES128-SHA" },
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: { openssl: "ECDHE-ECDSA-AES256-SHA" },
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: { openssl: "ECDHE-RSA-RC4-SHA", insecure: true },
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: { openssl: "ECDHE-RSA-DES-CBC3-SHA", insecure: true },
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: { openssl: "ECDHE-RSA-AES128-SHA" },
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: { openssl: "ECDHE-RSA-AES256-SHA" },
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: { openssl: "ECDHE-ECDSA-AES128-SHA256", insecure: true },
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: { openssl: "ECDHE-RSA-AES128-SHA256", insecure: true },
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: { openssl: "ECDHE-RSA-AES128-GCM-SHA256" },
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: { openssl: "ECDHE-ECDSA-AES128-GCM-SHA256" },
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: { openssl: "ECDHE-RSA-AES256-GCM-SHA384" },
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: { openssl: "ECDHE-ECDSA-AES256-GCM-SHA384" },
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: { openssl: "ECDHE-RSA-CHACHA20-POLY1305" },
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: { openssl: "ECDHE-ECDSA-CHACHA20-POLY1305" },
  // Go's older aliases of the two above.
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: { openssl: "ECDHE-RSA-CHACHA20-POLY1305" },
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: { openssl: "ECDHE-ECDSA-CHACHA20-POLY1305" },
};

const suiteNames = (insecure: boolean): readonly string[] =>
  Object.keys(CIPHER_SUITES)
    .filter((name) => (CIPHER_SUITES[name]!.insecure ?? false) === insecure)
    .sort();

/** The suites Go considers secure, sorted by name (as --help lists them). */
export const PREFERRED_CIPHER_SUITES: readonly string[] = suiteNames(false);
/** The suites Go accepts but considers insecure, sorted by name. */
export const INSECURE_CIPHER_SUITES: readonly string[] = suiteNames(true);

/**
 * Go's default TLS 1.2 suites, in its preference order (crypto/tls defaults.go defaultCipherSuites:
 * cipherSuitesPreferenceOrder minus disabledCipherSuites, the RSA key exchange and 3DES): ECDHE only,
 * AES-GCM and ChaCha20-Poly1305 first, then the four ECDHE AES-CBC-SHA suites Go still enables. Node's
 * own default adds CBC-SHA256/384, CCM, ARIA and DHE, which a Go server never negotiates.
 */
const GO_DEFAULT_CIPHER_SUITES: readonly string[] = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
  "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
  "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

/**
 * The TLS 1.3 suites, named explicitly so that setting the 1.2 list never disables 1.3: all three, in
 * Go's order (defaultCipherSuitesTLS13), whatever --tls-cipher-suites says, as in Go.
 */
const TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/**
 * The `ciphers` string for Node's TLS from --tls-cipher-suites; an empty list means Go's defaults
 * (GO_DEFAULT_CIPHER_SUITES), not OpenSSL's. Throws on a name Go does not know.
 */
export function opensslCipherList(goNames: readonly string[]): string {
  const tls12: string[] = [];
  for (const name of goNames.length > 0 ? goNames : GO_DEFAULT_CIPHER_SUITES) {
    const suite = Object.hasOwn(CIPHER_SUITES, name) ? CIPHER_SUITES[name] : undefined;
    if (!suite) throw new Error(`unknown --tls-cipher-suites value ${JSON.stringify(name)}`);
    if (suite.openssl) tls12.push(suite.openssl);
  }
  return [TLS13_SUITES, ...new Set(tls12)].join(":");
}
