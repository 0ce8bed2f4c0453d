import assert from "node:assert/strict";
import { test } from "node:test";
import type { PeerCertificate } from "node:tls";
import { KubeletCertificateError, KubeletHttpError } from "./kubelet/index.ts";
import { classifyScrapeError } from "./scrape-error.ts";

const URL = "https://10.0.0.5:10250/metrics/resource";

/** An error as client.ts wraps a transport failure: Go's url.Error wording, the cause kept. */
function wrapped(cause: Error): Error {
  return new Error(`Get "${URL}": ${cause.message}`, { cause });
}

function withCode(message: string, code: string, extra: object = {}): Error {
  return Object.assign(new Error(message), { code }, extra);
}

const cert = {
  subject: { CN: "node-1" },
  issuer: { CN: "kubelet-ca" },
  subjectaltname: "DNS:node-1, IP Address:10.0.0.9",
  valid_from: "Jan  1 00:00:00 2026 GMT",
  valid_to: "Jan  1 00:00:00 2027 GMT",
} as unknown as PeerCertificate;

test("a timed-out request is a Timeout whatever error the abort surfaced as", () => {
  const e = classifyScrapeError(wrapped(new Error("context deadline exceeded")), true);
  assert.equal(e.kind, "Timeout");
  assert.equal(e.message, `Get "${URL}": context deadline exceeded`);
});

test("the kubelet's 401, 403 and other statuses", () => {
  for (const [status, kind] of [
    [401, "Unauthorized"],
    [403, "Forbidden"],
    [500, "HTTPStatus"],
    [404, "HTTPStatus"],
  ] as const) {
    const err = new KubeletHttpError(status, "/metrics/resource");
    const e = classifyScrapeError(err, false);
    assert.equal(e.kind, kind, String(status));
    assert.equal(e.httpStatus, status);
    assert.equal(e.message, err.message);
  }
});

test("connection refused, reset, unreachable and unknown names", () => {
  const cases: [string, string][] = [
    ["ECONNREFUSED", "ConnectionRefused"],
    ["ECONNRESET", "ConnectionFailed"],
    ["EHOSTUNREACH", "ConnectionFailed"],
    ["ENOTFOUND", "ConnectionFailed"],
    ["EAI_AGAIN", "ConnectionFailed"],
    ["UND_ERR_SOCKET", "ConnectionFailed"],
    ["UND_ERR_CONNECT_TIMEOUT", "Timeout"],
    ["ETIMEDOUT", "Timeout"],
  ];
  for (const [code, kind] of cases) {
    const e = classifyScrapeError(wrapped(withCode(`connect ${code} 10.0.0.5:10250`, code)), false);
    assert.equal(e.kind, kind, code);
  }
  // Happy eyeballs: an AggregateError of the addresses tried.
  const aggregate = new AggregateError([withCode("connect ECONNREFUSED ::1:10250", "ECONNREFUSED")], "");
  assert.equal(classifyScrapeError(wrapped(aggregate), false).kind, "ConnectionRefused");
});

test("our certificate check: name mismatch says what was asked for and what the certificate has", () => {
  const err = new KubeletCertificateError("name-mismatch", "", cert, "10.0.0.5", "node-1");
  const e = classifyScrapeError(wrapped(err), false);
  assert.equal(e.kind, "CertificateInvalid");
  assert.equal(e.certificateWanted, "10.0.0.5");
  assert.deepEqual(e.certificateHas, ["node-1", "10.0.0.9"]);
  assert.match(e.message, /^Get "https:\/\/10\.0\.0\.5:10250\/metrics\/resource": x509: /);

  const unknown = new KubeletCertificateError(
    "unknown-authority",
    "self-signed certificate",
    cert,
    "10.0.0.5",
    undefined,
  );
  const u = classifyScrapeError(wrapped(unknown), false);
  assert.equal(u.kind, "CertificateInvalid");
  assert.equal(u.certificateWanted, undefined);
  assert.equal(u.certificateHas, undefined);
});

test("an expired certificate's message has no changing time in it", () => {
  const expired = new KubeletCertificateError(
    "expired",
    "certificate has expired",
    cert,
    "10.0.0.5",
    undefined,
  );
  const e = classifyScrapeError(wrapped(expired), false);
  assert.equal(e.kind, "CertificateInvalid");
  assert.match(e.message, /current time <time> is after <time>/);
});

test("node:tls's own name check carries the host and the peer certificate", () => {
  const err = withCode("Hostname/IP does not match certificate's altnames", "ERR_TLS_CERT_ALTNAME_INVALID", {
    host: "10.0.0.5",
    cert,
  });
  const e = classifyScrapeError(wrapped(err), false);
  assert.equal(e.kind, "CertificateInvalid");
  assert.equal(e.certificateWanted, "10.0.0.5");
  assert.deepEqual(e.certificateHas, ["node-1", "10.0.0.9"]);
  assert.equal(classifyScrapeError(withCode("x", "CERT_HAS_EXPIRED"), false).kind, "CertificateInvalid");
});

test("errors known by their wording: credentials, address, body", () => {
  const cases: [Error, string][] = [
    [new Error(`Get "${URL}": getting credentials: exec: executable not found`), "Credentials"],
    [new Error("no address matched types [InternalIP]"), "NoAddress"],
    [new Error("response from kubelet exceeds 64 MiB limit"), "BadBody"],
    [new Error("failed parsing metrics: invalid metric name at line 3"), "BadBody"],
    [new Error("failed parsing summary: pods is not an array"), "BadBody"],
    [new Error(`Get "${URL}": decompressing the gzip body: incorrect header check`), "BadBody"],
    [new Error("something else"), "Other"],
  ];
  for (const [err, kind] of cases) assert.equal(classifyScrapeError(err, false).kind, kind, err.message);
  assert.equal(classifyScrapeError("a string", false).kind, "Other");
  assert.equal(classifyScrapeError(undefined, false).message, "undefined");
});
