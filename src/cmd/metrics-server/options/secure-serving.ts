// Apiserver secure serving flags (the generic apiserver's SecureServingOptions; the port is optional
// for metrics-server).
import { INSECURE_CIPHER_SUITES, PREFERRED_CIPHER_SUITES, TLS_VERSIONS } from "../../../apiserver/index.ts";
import { type FlagType, specs as flag, goQuote } from "../../../go/index.ts";
import { inSection, type OptionsOf } from "./group.ts";

/** One `--tls-sni-cert-key` value: certificate and key files, optionally with the names they serve. */
export interface NamedCertKey {
  certFile: string;
  keyFile: string;
  /** Domain patterns; empty means "take the names from the certificate". */
  names: string[];
}

// cliflag.NamedCertKey: "cert,key" or "cert,key:name1,name2". Repeating the flag adds pairs.
const namedCertKeyType: FlagType<NamedCertKey[]> = {
  varName: "namedCertKey",
  parse(raw, current, first) {
    const colon = raw.indexOf(":");
    let pair = raw.trim();
    let names: string[] = [];
    if (colon >= 0) {
      pair = raw.slice(0, colon).trim();
      const list = raw.slice(colon + 1).trim();
      if (list === "") throw new Error("empty names list is not allowed");
      names = list.split(",").map((n) => n.trim());
    }
    const files = pair.split(",");
    if (files.length !== 2) throw new Error("expected comma separated certificate and key file paths");
    const entry = { certFile: files[0].trim(), keyFile: files[1].trim(), names };
    return first ? [entry] : [...current, entry];
  },
  format: (v) => "[" + v.map((e) => e.certFile + "," + e.keyFile).join(";") + "]",
  isZero: () => false, // pflag prints "(default [])" for this type
};

const cipherHelp =
  "Comma-separated list of TLS cipher suites the server offers. When omitted, Go's default suites are used.\n" +
  "Preferred values: " +
  PREFERRED_CIPHER_SUITES.join(", ") +
  ".\nInsecure values: " +
  INSECURE_CIPHER_SUITES.join(", ") +
  ".";

export const secureServingFlags = inSection("Apiserver secure serving", {
  bindAddress: flag.ip(
    "bind-address",
    "0.0.0.0",
    "IP address to listen on for --secure-port; it must be reachable by the rest of the cluster and by clients. " +
      "An empty or unspecified address (0.0.0.0 or ::) listens on all interfaces.",
  ),
  certDir: flag.string(
    "cert-dir",
    "apiserver.local.config/certificates",
    "Directory holding the TLS certificates; ignored when --tls-cert-file and --tls-private-key-file are set.",
  ),
  http2MaxStreamsPerConnection: flag.int(
    "http2-max-streams-per-connection",
    0,
    "Maximum number of concurrent streams the server allows per HTTP/2 connection. Zero keeps the default.",
  ),
  permitAddressSharing: flag.bool(
    "permit-address-sharing",
    false,
    "Bind with SO_REUSEADDR, so wildcard and specific addresses can be bound together and sockets in TIME_WAIT " +
      "do not block a restart. [default=false]",
  ),
  permitPortSharing: flag.bool(
    "permit-port-sharing",
    false,
    "Bind with SO_REUSEPORT, so several instances can listen on the same address and port. [default=false]",
  ),
  securePort: flag.int(
    "secure-port",
    443,
    "Port serving HTTPS with authentication and authorization. 0 disables HTTPS serving.",
  ),
  tlsCertFile: flag.string(
    "tls-cert-file",
    "",
    "File with the default x509 serving certificate (followed by any CA certificates). Without it and " +
      "--tls-private-key-file a self-signed pair is generated into --cert-dir.",
  ),
  tlsCipherSuites: flag.stringSlice("tls-cipher-suites", [], cipherHelp),
  tlsMinVersion: flag.string(
    "tls-min-version",
    "",
    "Lowest TLS version accepted. One of: " + TLS_VERSIONS.join(", "),
  ),
  tlsPrivateKeyFile: flag.string(
    "tls-private-key-file",
    "",
    "File with the x509 private key matching --tls-cert-file.",
  ),
  tlsSniCertKeys: flag.of(
    "tls-sni-cert-key",
    namedCertKeyType,
    [],
    "A certificate and key file pair, optionally followed by domain patterns it serves (fully qualified names, " +
      "optionally with a leading wildcard segment, or IP addresses). Without patterns the names come from the " +
      "certificate. Exact matches beat wildcards and explicit patterns beat extracted names. Repeat the flag " +
      'for several pairs, e.g. "example.crt,example.key" or "foo.crt,foo.key:*.foo.com,foo.com".',
  ),
});

export type SecureServingOptions = OptionsOf<typeof secureServingFlags>;

export function validateSecureServing(o: SecureServingOptions): string[] {
  const errors: string[] = [];
  if (o.securePort < 0 || o.securePort > 65535) {
    errors.push(
      `--secure-port ${o.securePort} must be between 0 and 65535, inclusive. 0 for turning off secure port`,
    );
  }
  if ((o.tlsCertFile === "") !== (o.tlsPrivateKeyFile === ""))
    errors.push("missing filename for serving cert");
  if (o.tlsMinVersion !== "" && !TLS_VERSIONS.includes(o.tlsMinVersion)) {
    errors.push(`unknown tls version ${goQuote(o.tlsMinVersion)}`);
  }
  for (const suite of o.tlsCipherSuites) {
    if (!PREFERRED_CIPHER_SUITES.includes(suite) && !INSECURE_CIPHER_SUITES.includes(suite)) {
      errors.push(`Cipher suite ${suite} not supported or doesn't exist`);
      break;
    }
  }
  return errors;
}
