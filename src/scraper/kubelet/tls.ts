// Verification of kubelet serving certificates, done by us right after the TLS handshake rather than
// inside node:tls, for two reasons:
//  - kubeadm and many installers issue kubelet serving certificates for the node's name only (a DNS
//    SAN), while metrics-server dials the node's InternalIP. Such a certificate is accepted when its DNS
//    SAN equals the node name, still connecting to the IP (upstream demands --kubelet-insecure-tls).
//  - node:tls discards the peer certificate when it rejects one, so its errors cannot say which issuer
//    or which expiry is wrong. Here the certificate is at hand and the error says what to fix.
// Node's TLS layer always completes the handshake and only reports the chain verdict (OpenSSL's verify
// callback accepts everything; `rejectUnauthorized` is applied in JavaScript afterwards), so checking
// `socket.authorized` here is the same check node:tls makes, moved to where the certificate is visible.
import { isIP } from "node:net";
import {
  checkServerIdentity,
  type DetailedPeerCertificate,
  type PeerCertificate,
  type TLSSocket,
} from "node:tls";

/** OpenSSL verify codes that mean "the chain does not end at a CA we trust". */
const UNKNOWN_AUTHORITY_CODES = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
]);

const INSECURE_HINT = "or --kubelet-insecure-tls to skip verification (not recommended)";

export type CertificateProblem =
  | "unknown-authority"
  | "expired"
  | "not-yet-valid"
  | "name-mismatch"
  | "invalid";

export interface SubjectAltNames {
  dns: string[];
  ip: string[];
}

/**
 * A kubelet's serving certificate was refused. It carries what was seen so the final message can name
 * the node, which the connection layer does not know when the kubelet is dialled by hostname.
 */
export class KubeletCertificateError extends Error {
  readonly code = "ERR_KUBELET_CERTIFICATE";
  readonly problem: CertificateProblem;
  /** OpenSSL's or Node's own wording of the failure (e.g. "self-signed certificate"). */
  readonly detail: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date | undefined;
  readonly notAfter: Date | undefined;
  readonly sans: SubjectAltNames;
  /** The host or IP actually connected to. */
  readonly dialled: string;
  /** The node name accepted as an alternative identity (only when dialled by IP), if any. */
  readonly nodeName: string | undefined;

  constructor(
    problem: CertificateProblem,
    detail: string,
    cert: PeerCertificate | undefined,
    dialled: string,
    nodeName: string | undefined,
  ) {
    const fields = {
      subject: formatName(cert?.subject),
      issuer: formatName(cert?.issuer),
      notBefore: parseCertDate(cert?.valid_from),
      notAfter: parseCertDate(cert?.valid_to),
      sans: parseSubjectAltNames(cert?.subjectaltname),
    };
    super(describe(problem, detail, fields, dialled, nodeName, undefined));
    this.name = "KubeletCertificateError";
    this.problem = problem;
    this.detail = detail;
    this.subject = fields.subject;
    this.issuer = fields.issuer;
    this.notBefore = fields.notBefore;
    this.notAfter = fields.notAfter;
    this.sans = fields.sans;
    this.dialled = dialled;
    this.nodeName = nodeName;
  }

  /** The one-line message naming the node whose kubelet presented the certificate. */
  describeFor(node: string | undefined): string {
    return describe(this.problem, this.detail, this, this.dialled, this.nodeName, node);
  }
}

interface CertFields {
  issuer: string;
  notBefore: Date | undefined;
  notAfter: Date | undefined;
  sans: SubjectAltNames;
}

function describe(
  problem: CertificateProblem,
  detail: string,
  cert: CertFields,
  dialled: string,
  nodeName: string | undefined,
  node: string | undefined,
): string {
  const whose = node
    ? `the kubelet serving certificate of node ${JSON.stringify(node)}`
    : "the kubelet serving certificate";
  switch (problem) {
    case "unknown-authority":
      return (
        `x509: certificate signed by unknown authority: ${whose} (issuer ${JSON.stringify(cert.issuer)}) ` +
        `is not signed by the kubelet CA (${detail}); pass that CA with --kubelet-certificate-authority ` +
        `(or enable serverTLSBootstrap on kubelets), ${INSECURE_HINT}`
      );
    case "expired":
      return (
        `x509: certificate has expired or is not yet valid: current time ${goTime(new Date())} is after ` +
        `${goTime(cert.notAfter)}: ${whose} expired at ${goTime(cert.notAfter)} (not after); renew it ` +
        "(kubelets with serverTLSBootstrap and rotateCertificates renew it themselves) and check the node's clock"
      );
    case "not-yet-valid":
      return (
        `x509: certificate has expired or is not yet valid: current time ${goTime(new Date())} is before ` +
        `${goTime(cert.notBefore)}: ${whose} is not valid before ${goTime(cert.notBefore)} (not before); ` +
        "check the clocks of the node, its CA and metrics-server"
      );
    case "name-mismatch": {
      const names = [...cert.sans.dns.map((d) => `DNS:${d}`), ...cert.sans.ip.map((i) => `IP:${i}`)];
      const validFor =
        names.length > 0
          ? `certificate is valid for ${names.join(", ")}, not ${dialled}`
          : `certificate has no subject alternative names, so it is not valid for ${dialled}`;
      const neither = nodeName
        ? `names neither the address dialled (${dialled}) nor the node name (${nodeName})`
        : `does not name the address dialled (${dialled})`;
      return (
        `x509: ${validFor}: ${whose} ${neither}; reissue it with the node's name as a DNS SAN or its address ` +
        `as an IP SAN, choose another address type with --kubelet-preferred-address-types, ${INSECURE_HINT}`
      );
    }
    default:
      return (
        `x509: ${detail}: ${whose}${cert.issuer ? ` (issuer ${JSON.stringify(cert.issuer)})` : ""} failed verification; ` +
        `reissue it from the kubelet CA, ${INSECURE_HINT}`
      );
  }
}

/**
 * Checks the certificate a kubelet presented on `socket` (dialled at `dialled`, an IP or hostname):
 * the chain verdict node:tls reached against our CA, then the identity. Returns the reason to refuse
 * it, or undefined when it is acceptable. `nodeName` is accepted as a DNS identity only when the
 * kubelet was dialled by IP and the certificate has no IP SAN for that address.
 */
export function checkKubeletCertificate(
  socket: TLSSocket,
  dialled: string,
  nodeName: string | undefined,
): KubeletCertificateError | undefined {
  const cert = socket.getPeerCertificate(false) as PeerCertificate | DetailedPeerCertificate | undefined;
  const hasCert = cert !== undefined && cert !== null && Object.keys(cert).length > 0;
  if (!hasCert) {
    return new KubeletCertificateError(
      "invalid",
      "the kubelet presented no certificate",
      undefined,
      dialled,
      undefined,
    );
  }
  if (!socket.authorized) {
    // The runtime value is OpenSSL's code as a string (e.g. "CERT_HAS_EXPIRED"); the typings say Error.
    const raw = socket.authorizationError as unknown;
    const code =
      typeof raw === "string"
        ? raw
        : raw instanceof Error
          ? ((raw as { code?: string }).code ?? raw.message)
          : "";
    return new KubeletCertificateError(problemOf(code), verifyMessage(code), cert, dialled, undefined);
  }
  return checkIdentity(cert, dialled, nodeName);
}

/** The identity half of the check, on an already trusted certificate. */
export function checkIdentity(
  cert: PeerCertificate,
  dialled: string,
  nodeName: string | undefined,
): KubeletCertificateError | undefined {
  const sans = parseSubjectAltNames(cert.subjectaltname);
  const byIP = isIP(dialled) !== 0;
  // Go (since 1.15) never falls back to the subject CN; Node does when there are no DNS SANs, so a
  // hostname is only checked by Node when the certificate has DNS SANs at all.
  const dialledOk = (byIP || sans.dns.length > 0) && checkServerIdentity(dialled, cert) === undefined;
  if (dialledOk) return undefined;
  const alternative = byIP && acceptableNodeName(nodeName, dialled) ? nodeName : undefined;
  if (alternative !== undefined && sans.dns.some((d) => sameDnsName(d, alternative))) return undefined;
  return new KubeletCertificateError("name-mismatch", "", cert, dialled, alternative);
}

/**
 * The node name to send as TLS server name (and accept as identity) for a kubelet dialled at `host`:
 * only when dialled by IP, and only a plausible DNS name (SNI carries no IP literals).
 */
export function acceptableNodeName(nodeName: string | undefined, host: string): nodeName is string {
  if (typeof nodeName !== "string" || isIP(host) === 0) return false;
  return (
    nodeName.length <= 253 &&
    isIP(nodeName) === 0 &&
    /^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(nodeName)
  );
}

function sameDnsName(a: string, b: string): boolean {
  return a.replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase();
}

function problemOf(code: string): CertificateProblem {
  if (UNKNOWN_AUTHORITY_CODES.has(code)) return "unknown-authority";
  if (code === "CERT_HAS_EXPIRED") return "expired";
  if (code === "CERT_NOT_YET_VALID") return "not-yet-valid";
  return "invalid";
}

// OpenSSL's texts for the codes node:tls reports (node's own table words them the same way).
const VERIFY_MESSAGES: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: "unable to get issuer certificate",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the first certificate",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in certificate chain",
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not yet valid",
  CERT_SIGNATURE_FAILURE: "certificate signature failure",
  CERT_REVOKED: "certificate revoked",
  INVALID_PURPOSE: "unsupported certificate purpose",
  CERT_UNTRUSTED: "certificate not trusted",
  CERT_REJECTED: "certificate rejected",
};

function verifyMessage(code: string): string {
  return (
    VERIFY_MESSAGES[code] ??
    (code ? code.toLowerCase().replaceAll("_", " ") : "certificate verification failed")
  );
}

/** "DNS:a, IP Address:1.2.3.4" (Node's subjectaltname) → names by kind. Other kinds are ignored. */
export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const out: SubjectAltNames = { dns: [], ip: [] };
  if (!text) return out;
  // Node quotes entries containing commas or quotes as JSON strings; plain entries are split on ", ".
  const entries = text.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
  for (const raw of entries) {
    const entry = raw.trim();
    const colon = entry.indexOf(":");
    if (colon < 0) continue;
    const kind = entry.slice(0, colon);
    let value = entry.slice(colon + 1);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    if (kind === "DNS") out.dns.push(value);
    else if (kind === "IP Address") out.ip.push(value);
  }
  return out;
}

/** A distinguished name the way Go's pkix.Name prints it: most specific first, "CN=x,O=y". */
function formatName(name: PeerCertificate["subject"] | undefined): string {
  if (!name || typeof name !== "object") return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(name)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) parts.push(`${key}=${String(v)}`);
  }
  return parts.reverse().join(",");
}

function parseCertDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** RFC 3339 in UTC without fractions, as Go formats certificate times in x509 errors. */
function goTime(d: Date | undefined): string {
  return d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : "unknown";
}
