// --tls-sni-cert-key: which certificate answers a TLS client's server name.
import { X509Certificate } from "node:crypto";

/** The DNS names (and CN) a certificate serves, for an SNI entry given without names. */
export function certificateNames(certPem: Buffer): string[] {
  const cert = new X509Certificate(certPem);
  const names = (cert.subjectAltName ?? "")
    .split(", ")
    .filter((e) => e.startsWith("DNS:"))
    .map((e) => e.slice(4));
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (names.length === 0 && cn) names.push(cn);
  return names;
}

/**
 * Picks the SNI entry for a server name as Go's NameToCertificate does: an exact name first, then a
 * wildcard for the first label ("*.example.com"); later flags win for the same name, like upstream.
 */
export function sniMatcher<T>(
  entries: readonly { names: readonly string[]; value: T }[],
): (name: string) => T | undefined {
  const byName = new Map<string, T>();
  for (const e of entries) for (const n of e.names) byName.set(n.toLowerCase(), e.value);
  return (name) => {
    const lower = name.toLowerCase().replace(/\.$/, "");
    const exact = byName.get(lower);
    if (exact !== undefined) return exact;
    const dot = lower.indexOf(".");
    return dot > 0 ? byName.get("*" + lower.slice(dot)) : undefined;
  };
}
