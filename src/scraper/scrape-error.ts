// A failed scrape as a class a user can act on (ScrapeErrorKind), for the scrape status and the
// explained 404s. The message is the logged one; the kind comes from what the error carries: the
// kubelet's HTTP status, our certificate check, the socket's error code, or the wording of the few
// errors that carry nothing else (the body limit, a decoder, the token source, the address).
import type { ScrapeError } from "../storage/index.ts";
import { KubeletCertificateError, KubeletHttpError, parseSubjectAltNames } from "./kubelet/index.ts";
import { errorText } from "./node-log.ts";

const REFUSED_CODES = new Set(["ECONNREFUSED"]);
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT"]);
const CONNECTION_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "ERR_SOCKET_CLOSED",
]);
/** OpenSSL's and Node's certificate failures, when the check is node:tls's own (not tls.ts's). */
const CERTIFICATE_CODES = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "ERR_KUBELET_CERTIFICATE",
]);

/** The errors an error wraps, outermost first (`cause` chains and an AggregateError's first error). */
function* chain(err: unknown): Generator<unknown> {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    yield e;
    if (e instanceof AggregateError && e.errors.length > 0) e = e.errors[0];
    else e = (e as { cause?: unknown }).cause;
  }
}

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Classifies a node's scrape failure. `timedOut`: the request's timeout or the tick's deadline ran
 * out (the scraper knows this from its signal, whatever error the abort surfaced as).
 */
export function classifyScrapeError(err: unknown, timedOut: boolean): ScrapeError {
  const message = errorText(err);
  if (timedOut) return { kind: "Timeout", message };
  for (const e of chain(err)) {
    if (e instanceof KubeletHttpError) {
      const kind = e.status === 401 ? "Unauthorized" : e.status === 403 ? "Forbidden" : "HTTPStatus";
      return { kind, message, httpStatus: e.status };
    }
    if (e instanceof KubeletCertificateError) {
      const error: ScrapeError = { kind: "CertificateInvalid", message };
      if (e.problem === "name-mismatch") {
        error.certificateWanted = e.dialled;
        error.certificateHas = [...e.sans.dns, ...e.sans.ip];
      }
      return error;
    }
    const code = codeOf(e);
    if (code === undefined) continue;
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
      // Node's own check carries the name asked for and the peer certificate.
      const { host, cert } = e as { host?: unknown; cert?: { subjectaltname?: string } };
      const error: ScrapeError = { kind: "CertificateInvalid", message };
      if (typeof host === "string") error.certificateWanted = host;
      const sans = parseSubjectAltNames(cert?.subjectaltname);
      error.certificateHas = [...sans.dns, ...sans.ip];
      return error;
    }
    if (CERTIFICATE_CODES.has(code)) return { kind: "CertificateInvalid", message };
    if (REFUSED_CODES.has(code)) return { kind: "ConnectionRefused", message };
    if (TIMEOUT_CODES.has(code)) return { kind: "Timeout", message };
    if (CONNECTION_CODES.has(code)) return { kind: "ConnectionFailed", message };
  }
  return { kind: kindFromText(message), message };
}

/** The errors that carry only their wording (client.ts, address.ts, the decoders). */
function kindFromText(text: string): ScrapeError["kind"] {
  if (text.includes(": getting credentials: ")) return "Credentials";
  if (text.startsWith("no address matched types")) return "NoAddress";
  if (
    text.startsWith("failed parsing ") ||
    text.includes("decompressing the gzip body") ||
    /^response from kubelet exceeds .* limit$/.test(text)
  )
    return "BadBody";
  if (text.includes("x509: ") || text.includes("certificate")) return "CertificateInvalid";
  if (text.includes("context deadline exceeded")) return "Timeout";
  if (/\b(ECONNREFUSED|connection refused)\b/.test(text)) return "ConnectionRefused";
  if (
    /\b(ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up|other side closed)\b/.test(
      text,
    )
  )
    return "ConnectionFailed";
  return "Other";
}
