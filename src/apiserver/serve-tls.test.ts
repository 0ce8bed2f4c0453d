// What a TLS client can negotiate with the listener (Go's default suites, no renegotiation), and
// header limits counted in bytes, not lines. Real clients (node:tls, node:http2) on loopback.
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import http2 from "node:http2";
import { after, before, test } from "node:test";
import tls from "node:tls";
import { FakeAuthApiServer, issue, makeCA } from "../../test/support/auth.ts";
import { captureLogs } from "../../test/support/logs.ts";
import { startLoopbackServer } from "../../test/support/serve.ts";
import { type AuthRequest, DelegatedAuth, type RequestAuth } from "./auth/index.ts";

const MiB = 1 << 20;

/** Allows everyone, and keeps the X-Remote-Group values of the last request it saw. */
let groupsSeen: string[] = [];
const recordingAuth: RequestAuth = {
  check: async (req: AuthRequest) => {
    const g = req.headers["x-remote-group"];
    groupsSeen = g === undefined ? [] : Array.isArray(g) ? g : [g];
    return { allowed: true, user: { name: "proxied", groups: groupsSeen, extra: {} } };
  },
};

type Loopback = Awaited<ReturnType<typeof startLoopbackServer>>;
let defaults: Loopback;
let configured: Loopback;

before(async () => {
  defaults = await startLoopbackServer({ api: { handle: () => undefined }, auth: recordingAuth });
  configured = await startLoopbackServer({
    api: { handle: () => undefined },
    tlsCipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"],
  });
});

after(() => {
  defaults.server.close();
  configured.server.close();
});

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** The standard (IANA) name of the suite negotiated, or the handshake's error. */
async function negotiate(to: Loopback, opts: tls.ConnectionOptions): Promise<string | Error> {
  const s = tls.connect({ host: "127.0.0.1", port: to.port, ca: to.cert.certPem, ...opts });
  try {
    return await within(
      new Promise<string | Error>((resolve) => {
        s.once("secureConnect", () => resolve(s.getCipher().standardName));
        s.once("error", resolve);
      }),
      10_000,
      "TLS handshake",
    );
  } finally {
    s.destroy();
  }
}

const tls12 = (cipher: string): tls.ConnectionOptions => ({ maxVersion: "TLSv1.2", ciphers: cipher });

// ---- cipher suites ------------------------------------------------------------------------------------

test("defaults: TLS 1.2 suites Go does not enable by default (CBC-SHA256/384, CCM, ARIA) are refused", async () => {
  // All of these are in Node's (OpenSSL's) default list and usable with the ECDSA test certificate.
  for (const cipher of [
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-ECDSA-AES128-CCM",
    "ECDHE-ECDSA-ARIA128-GCM-SHA256",
  ]) {
    const r = await negotiate(defaults, tls12(cipher));
    assert.ok(r instanceof Error, `${cipher} was negotiated as ${r}`);
    // The same client is accepted by a server with OpenSSL's defaults: the refusal is ours.
  }
});

test("defaults: ECDHE with AES-GCM or ChaCha20-Poly1305 is accepted on TLS 1.2, and all three TLS 1.3 suites", async () => {
  assert.equal(
    await negotiate(defaults, tls12("ECDHE-ECDSA-AES128-GCM-SHA256")),
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  );
  assert.equal(
    await negotiate(defaults, tls12("ECDHE-ECDSA-AES256-GCM-SHA384")),
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  );
  assert.equal(
    await negotiate(defaults, tls12("ECDHE-ECDSA-CHACHA20-POLY1305")),
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  );
  for (const suite of ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"])
    assert.equal(await negotiate(defaults, { minVersion: "TLSv1.3", ciphers: suite }), suite);
});

test("defaults: the server picks by Go's order, AES-128-GCM before CBC and ChaCha20", async () => {
  const offered = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256";
  assert.equal(await negotiate(defaults, tls12(offered)), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
});

test("an explicit --tls-cipher-suites is what TLS 1.2 offers; TLS 1.3 is unaffected", async () => {
  assert.equal(
    await negotiate(configured, tls12("ECDHE-ECDSA-AES128-SHA256")),
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
  );
  const gcm = await negotiate(configured, tls12("ECDHE-ECDSA-AES128-GCM-SHA256"));
  assert.ok(gcm instanceof Error, `negotiated ${gcm}`);
  assert.equal(await negotiate(configured, { minVersion: "TLSv1.3" }), "TLS_AES_128_GCM_SHA256");
});

// ---- renegotiation -------------------------------------------------------------------------------------

test("a client-initiated renegotiation on TLS 1.2 is refused, and the server keeps serving", async () => {
  const s = tls.connect({
    host: "127.0.0.1",
    port: defaults.port,
    ca: defaults.cert.certPem,
    maxVersion: "TLSv1.2",
    ALPNProtocols: ["http/1.1"],
  });
  s.on("error", () => {});
  try {
    await within(new Promise((r) => s.once("secureConnect", r)), 10_000, "TLS handshake");
    const outcome = await within(
      new Promise<string>((resolve) => {
        const started = s.renegotiate({}, (err) => resolve(err ? `refused: ${err.message}` : "renegotiated"));
        if (!started) resolve("refused: not started");
        s.once("close", () => resolve("refused: connection closed"));
      }),
      10_000,
      "renegotiation",
    );
    assert.match(outcome, /^refused/);
  } finally {
    s.destroy();
  }
  assert.equal(
    await negotiate(defaults, tls12("ECDHE-ECDSA-AES128-GCM-SHA256")),
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  );
});

// ---- header limits in bytes ----------------------------------------------------------------------------

const GROUPS = 1500;
const groupLines = Array.from({ length: GROUPS }, (_, i) => `X-Remote-Group: g${i}\r\n`).join("");

/** Raw HTTP/1.1 over TLS: everything the server sends until it closes the connection. */
async function raw1(request: string): Promise<string> {
  const s = tls.connect({
    host: "127.0.0.1",
    port: defaults.port,
    ca: defaults.cert.certPem,
    ALPNProtocols: ["http/1.1"],
  });
  s.on("error", () => {});
  let text = "";
  s.on("data", (d: Buffer) => {
    if (text.length < 64 * 1024) text += d.toString("latin1");
  });
  const closed = new Promise((r) => s.once("close", r));
  await within(new Promise((r) => s.once("secureConnect", r)), 10_000, "TLS handshake");
  s.write(request);
  await within(closed, 30_000, "server closing the connection");
  return text;
}

test("HTTP/1.1: 1,500 header lines (~30 KB) are served, every group reaching authentication", async () => {
  assert.ok(groupLines.length > 25_000 && groupLines.length < 40_000, `${groupLines.length} bytes`);
  groupsSeen = [];
  const text = await raw1(`GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${groupLines}\r\n`);
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.equal(groupsSeen.length, GROUPS);
  assert.equal(groupsSeen.at(-1), `g${GROUPS - 1}`);
});

test("HTTP/1.1: over 1 MiB of headers gets 431, in long lines or in the shortest ones", async () => {
  const long = `X-Remote-Group: ${"g".repeat(60)}\r\n`.repeat(Math.ceil(MiB / 60));
  assert.match(await raw1(`GET /healthz HTTP/1.1\r\nHost: x\r\n${long}\r\n`), /^HTTP\/1\.1 431 /);
  const shortest = "a:\r\n".repeat(MiB / 4 + 1024);
  assert.match(await raw1(`GET /healthz HTTP/1.1\r\nHost: x\r\n${shortest}\r\n`), /^HTTP\/1\.1 431 /);
});

test("HTTP/2: 1,500 and 6,000 header fields are served, every group reaching authentication; over 1 MiB is not", async () => {
  const session = http2.connect(`https://127.0.0.1:${defaults.port}`, {
    ca: defaults.cert.certPem,
    // The client's own limit on what it sends (64 KiB by default) would stop it before the server.
    maxSendHeaderBlockLength: 4 * MiB,
  });
  session.on("error", () => {});
  try {
    const get = (headers: http2.OutgoingHttpHeaders) =>
      within(
        new Promise<number>((resolve) => {
          const stream = session.request({ ":path": "/healthz", ...headers });
          let status = 0;
          stream.on("response", (h) => {
            status = Number(h[":status"]);
          });
          stream.on("error", () => {});
          stream.resume();
          stream.on("close", () => resolve(status));
        }),
        30_000,
        "HTTP/2 request",
      );
    groupsSeen = [];
    const groups = Array.from({ length: GROUPS }, (_, i) => `g${i}`);
    assert.equal(await get({ "x-remote-group": groups }), 200);
    assert.equal(groupsSeen.length, GROUPS);
    // More fields than Node's default cap (128) or any fixed count we might pick, still far under 1 MiB.
    const small = Array.from({ length: 6000 }, (_, i) => `g${i}`);
    assert.equal(await get({ "x-remote-group": small }), 200);
    assert.equal(groupsSeen.length, 6000);
    const tooMany = Array.from({ length: 20_000 }, (_, i) => `${"g".repeat(40)}-${i}`);
    assert.notEqual(await get({ "x-remote-group": tooMany }), 200);
  } finally {
    session.destroy();
  }
});

test("a front-proxied user in 1,500 groups is authenticated and authorized, on HTTP/1.1 and HTTP/2", async (t) => {
  captureLogs(t); // the ConfigMap has no client-ca-file, which is warned about
  // The real delegated auth: front-proxy CA from the cluster's ConfigMap, SubjectAccessReview asked of
  // a fake kube-apiserver, which allows only this user with all its groups.
  const proxyCA = await makeCA("front-proxy-ca");
  const proxyClient = await issue(proxyCA, "front-proxy-client");
  const proxyKey = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", proxyClient.keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${proxyKey.toString("base64")}\n-----END PRIVATE KEY-----\n`;
  const api = new FakeAuthApiServer();
  await api.start();
  t.after(() => api.close());
  api.updateConfigMap({
    "requestheader-client-ca-file": proxyCA.pem,
    "requestheader-allowed-names": '["front-proxy-client"]',
    "requestheader-username-headers": '["X-Remote-User"]',
    "requestheader-group-headers": '["X-Remote-Group"]',
    "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
  });
  api.sar = (spec) => ({
    allowed: spec.user === "many-groups" && (spec.groups as string[]).length === GROUPS + 1,
  });
  const [authn, authz] = [api.client(), api.client()];
  const auth = await DelegatedAuth.start(
    {
      clientCaFile: "",
      requestheaderClientCaFile: "",
      requestheaderAllowedNames: [],
      requestheaderUsernameHeaders: [],
      requestheaderGroupHeaders: [],
      requestheaderExtraHeadersPrefix: [],
      authenticationSkipLookup: false,
      authenticationTolerateLookupFailure: false,
      authenticationTokenWebhookCacheTtlMs: 0,
      authorizationAlwaysAllowPaths: [],
      authorizationWebhookCacheAuthorizedTtlMs: 0,
      authorizationWebhookCacheUnauthorizedTtlMs: 0,
    },
    authn,
    authz,
  );
  const path = "/apis/metrics.k8s.io/v1beta1/nodes";
  const proxied = await startLoopbackServer({
    auth,
    api: {
      handle: (req) =>
        req.path === path ? { status: 200, contentType: "application/json", body: "{}" } : undefined,
    },
  });
  t.after(async () => {
    proxied.server.close();
    await auth.stop();
    await authn.close();
    await authz.close();
  });
  const client = { ca: proxied.cert.certPem, cert: proxyClient.pem, key: keyPem };

  const s = tls.connect({ host: "127.0.0.1", port: proxied.port, ...client, ALPNProtocols: ["http/1.1"] });
  s.on("error", () => {});
  let text = "";
  s.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  const closed = new Promise((r) => s.once("close", r));
  await within(new Promise((r) => s.once("secureConnect", r)), 10_000, "TLS handshake");
  s.write(
    `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Remote-User: many-groups\r\n${groupLines}\r\n`,
  );
  await within(closed, 30_000, "HTTP/1.1 response");
  assert.match(text, /^HTTP\/1\.1 200 /);

  const session = http2.connect(`https://127.0.0.1:${proxied.port}`, client);
  session.on("error", () => {});
  t.after(() => session.destroy());
  const groups = Array.from({ length: GROUPS }, (_, i) => `g${i}`);
  const status = await within(
    new Promise<number>((resolve) => {
      const stream = session.request({
        ":path": path,
        "x-remote-user": "many-groups",
        "x-remote-group": groups,
      });
      stream.on("response", (h) => resolve(Number(h[":status"])));
      stream.on("error", () => resolve(0));
    }),
    30_000,
    "HTTP/2 response",
  );
  assert.equal(status, 200);
  // And the SubjectAccessReview did see every group (plus system:authenticated).
  assert.equal((api.sarCalls.at(-1)!.spec.groups as string[]).length, GROUPS + 1);
});
