import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FakeAuthApiServer, issue, makeCA, request } from "../../../test/support/auth.ts";
import { captureLogs } from "../../../test/support/logs.ts";
import { type AuthOptions, DelegatedAuth } from "./delegated.ts";

const UNAUTHORIZED =
  '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n';

const clusterCA = await makeCA("cluster-ca");
const proxyCA = await makeCA("front-proxy-ca");
const strangerCA = await makeCA("cluster-ca");
const proxyClient = await issue(proxyCA, "front-proxy-client");
const admin = await issue(clusterCA, "kubernetes-admin", { organizations: ["system:masters"] });
const proxyNamedX = await issue(proxyCA, "x");

const api = new FakeAuthApiServer();
before(async () => {
  await api.start();
});
after(() => api.close());

function options(over: Partial<AuthOptions> = {}): AuthOptions {
  return {
    clientCaFile: "",
    requestheaderClientCaFile: "",
    requestheaderAllowedNames: [],
    requestheaderUsernameHeaders: ["x-remote-user"],
    requestheaderGroupHeaders: ["x-remote-group"],
    requestheaderExtraHeadersPrefix: ["x-remote-extra-"],
    authenticationSkipLookup: false,
    authenticationTolerateLookupFailure: false,
    authenticationTokenWebhookCacheTtlMs: 10_000,
    authorizationAlwaysAllowPaths: ["/healthz", "/readyz", "/livez"],
    authorizationWebhookCacheAuthorizedTtlMs: 10_000,
    authorizationWebhookCacheUnauthorizedTtlMs: 10_000,
    ...over,
  };
}

function clusterConfigMap(clientCA = clusterCA.pem): Record<string, string> {
  return {
    "client-ca-file": clientCA,
    "requestheader-client-ca-file": proxyCA.pem,
    "requestheader-allowed-names": '["front-proxy-client"]',
    "requestheader-username-headers": '["X-Remote-User"]',
    "requestheader-group-headers": '["X-Remote-Group"]',
    "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
  };
}

async function startAuth(
  t: { after(fn: () => unknown): void },
  over: Partial<AuthOptions> = {},
  now?: () => number,
) {
  const authn = api.client();
  const authz = api.client();
  const auth = await DelegatedAuth.start(options(over), authn, authz, { now });
  t.after(async () => {
    await auth.stop();
    await authn.close();
    await authz.close();
  });
  return auth;
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("front-proxy, x509, anonymous and unknown-CA requests get kube-apiserver's answers", async (t) => {
  captureLogs(t);
  api.updateConfigMap(clusterConfigMap());
  api.sar = (spec) => ({ allowed: spec.user === "viewer" });
  const auth = await startAuth(t);

  // system:masters via a client-CA cert: allowed without asking.
  const before = api.sarCalls.length;
  const adminAnswer = await auth.check(
    request("/apis/metrics.k8s.io/v1beta1/nodes", { certs: [admin.cert] }),
  );
  assert.equal(adminAnswer.allowed, true);
  assert.equal(api.sarCalls.length, before);

  // Forged X-Remote-User without a front-proxy cert: anonymous, refused by the SAR.
  const forged = await auth.check(
    request("/apis/metrics.k8s.io/v1beta1/nodes", { headers: { "x-remote-user": "viewer" } }),
  );
  assert.equal(forged.allowed, false);
  assert.equal(!forged.allowed && forged.status, 403);
  assert.equal(
    !forged.allowed && JSON.parse(forged.body).message,
    'nodes.metrics.k8s.io is forbidden: User "system:anonymous" cannot list resource "nodes" in API group "metrics.k8s.io" at the cluster scope',
  );

  // Front-proxy cert + X-Remote-User nobody: our own SAR asks about "nobody" and refuses.
  const nobody = await auth.check(
    request("/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods", {
      certs: [proxyClient.cert],
      headers: { "x-remote-user": "nobody", "x-remote-group": ["team"] },
    }),
  );
  assert.equal(!nobody.allowed && nobody.status, 403);
  const spec = api.sarCalls.at(-1)!.spec;
  assert.deepEqual(spec, {
    resourceAttributes: {
      namespace: "kube-system",
      verb: "list",
      group: "metrics.k8s.io",
      version: "v1beta1",
      resource: "pods",
    },
    user: "nobody",
    groups: ["team", "system:authenticated"],
  });

  // Front-proxy cert + a user the SAR allows.
  const viewer = await auth.check(
    request("/apis/metrics.k8s.io/v1beta1/nodes", {
      certs: [proxyClient.cert],
      headers: { "x-remote-user": "viewer" },
    }),
  );
  assert.deepEqual(viewer.allowed && viewer.user.name, "viewer");

  // A client cert from a CA nobody trusts: 401, no fallback to anonymous.
  const stranger = await issue(strangerCA, "kubernetes-admin", { organizations: ["system:masters"] });
  assert.deepEqual(await auth.check(request("/healthz", { certs: [stranger.cert] })), {
    allowed: false,
    status: 401,
    body: UNAUTHORIZED,
  });

  // Health paths are open to anonymous; their sub-paths and /metrics are not.
  assert.equal((await auth.check(request("/readyz"))).allowed, true);
  const sub = await auth.check(request("/readyz/metric-storage-ready"));
  assert.equal(!sub.allowed && sub.status, 403);
  const metrics = await auth.check(request("/metrics"));
  assert.equal(
    !metrics.allowed && metrics.body,
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \\"system:anonymous\\" cannot get path \\"/metrics\\"","reason":"Forbidden","details":{},"code":403}\n',
  );
  assert.deepEqual(api.sarCalls.at(-1)!.spec.nonResourceAttributes, { path: "/metrics", verb: "get" });
});

test("a CA rotated in the ConfigMap is used without a restart", async (t) => {
  captureLogs(t);
  api.updateConfigMap(clusterConfigMap());
  api.sar = () => ({ allowed: true });
  const auth = await startAuth(t);
  const rotated = await makeCA("cluster-ca");
  const newAdmin = await issue(rotated, "kubernetes-admin", { organizations: ["system:masters"] });
  assert.equal((await auth.check(request("/metrics", { certs: [newAdmin.cert] }))).allowed, false);
  // The old admin's chain is verified and cached before the rotation.
  assert.equal((await auth.check(request("/metrics", { certs: [admin.cert] }))).allowed, true);
  await waitFor(() => api.watchCount() > 0, "the ConfigMap watch");
  // A watch event with the same bundles (only the allowed names change) keeps the cached verdicts.
  api.updateConfigMap({ ...clusterConfigMap(), "requestheader-allowed-names": '["front-proxy-client","x"]' });
  const proxyX = request("/metrics", { certs: [proxyNamedX.cert], headers: { "x-remote-user": "u" } });
  await waitFor(async () => (await auth.check(proxyX)).allowed, "the new allowed names");
  const verified = auth.chainVerifications;
  assert.equal((await auth.check(request("/metrics", { certs: [admin.cert] }))).allowed, true);
  assert.equal(auth.chainVerifications, verified, "the admin chain was not verified again");
  api.updateConfigMap(clusterConfigMap(rotated.pem));
  await waitFor(
    async () => (await auth.check(request("/metrics", { certs: [newAdmin.cert] }))).allowed,
    "rotation",
  );
  const old = await auth.check(request("/metrics", { certs: [admin.cert] }));
  assert.equal(!old.allowed && old.status, 401);
});

async function writeBundle(path: string, pem: string): Promise<void> {
  // Written beside and renamed into place, as a secret volume update would.
  await writeFile(`${path}.tmp`, pem);
  await rename(`${path}.tmp`, path);
}

test("client certificates: verified once per chain, re-checked against a rotated CA file and the clock", async (t) => {
  captureLogs(t);
  const dir = await mkdtemp(join(tmpdir(), "auth-ca-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const caFile = join(dir, "client-ca.crt");
  await writeBundle(caFile, clusterCA.pem);
  let now = Date.now();
  api.sar = () => ({ allowed: true });
  const authn = api.client();
  const auth = await DelegatedAuth.start(
    options({ clientCaFile: caFile, requestheaderClientCaFile: "", authenticationSkipLookup: true }),
    authn,
    authn,
    { fileCheckIntervalMs: 20, certificateNow: () => now },
  );
  t.after(async () => {
    await auth.stop();
    await authn.close();
  });
  const chain = [admin.cert]; // one array per connection, as the listener hands it
  for (let i = 0; i < 20; i++) {
    const r = await auth.check(request("/metrics", { certs: chain }));
    assert.equal(r.allowed && r.user.name, "kubernetes-admin");
  }
  assert.equal(auth.chainVerifications, 1);

  // Past the certificate's notAfter the cached success is not used.
  const expiredAt = now + 25 * 3_600_000;
  const lines = captureLogs(t);
  now = expiredAt;
  assert.deepEqual(await auth.check(request("/metrics", { certs: chain })), {
    allowed: false,
    status: 401,
    body: UNAUTHORIZED,
  });
  assert.ok(
    lines.some((l) => l.includes(`current time ${new Date(expiredAt).toISOString()} is after`)),
    "the expiry is logged with the request's time",
  );
  now = Date.now();
  assert.equal((await auth.check(request("/metrics", { certs: chain }))).allowed, true);

  // A new CA file: the cached chain is rejected as soon as the file is reloaded.
  const rotated = await makeCA("cluster-ca");
  const newAdmin = await issue(rotated, "kubernetes-admin", { organizations: ["system:masters"] });
  await writeBundle(caFile, rotated.pem);
  await waitFor(
    async () => (await auth.check(request("/metrics", { certs: [newAdmin.cert] }))).allowed,
    "the CA file reload",
  );
  const old = await auth.check(request("/metrics", { certs: chain }));
  assert.equal(!old.allowed && old.status, 401);
});

test("token reviews are cached for the TTL; a rejected token is 401", async (t) => {
  captureLogs(t);
  let now = 1_000_000;
  api.tokens.set("good", { username: "alice", groups: ["devs"], uid: "u1" });
  api.sar = () => ({ allowed: true });
  const auth = await startAuth(t, { authenticationSkipLookup: true }, () => now);
  const req = () => request("/metrics", { headers: { authorization: "Bearer good" } });
  const start = api.tokenReviews;
  const first = await auth.check(req());
  assert.deepEqual(first.allowed && first.user, {
    name: "alice",
    uid: "u1",
    groups: ["devs", "system:authenticated"],
    extra: {},
  });
  await auth.check(req());
  assert.equal(api.tokenReviews, start + 1);
  now += 10_001;
  await auth.check(req());
  assert.equal(api.tokenReviews, start + 2);
  const bad = await auth.check(request("/healthz", { headers: { authorization: "Bearer wrong" } }));
  assert.deepEqual(bad, { allowed: false, status: 401, body: UNAUTHORIZED });
  await auth.check(request("/healthz", { headers: { authorization: "Bearer wrong" } }));
  assert.equal(api.tokenReviews, start + 3, "rejections are cached too");
});

test("SubjectAccessReview answers are cached per TTL; API errors are a 500 and not cached", async (t) => {
  captureLogs(t);
  let now = 5_000_000;
  let allowed = false;
  api.sar = () => ({ allowed, reason: allowed ? "" : "no RBAC rule" });
  const auth = await startAuth(
    t,
    {
      authenticationSkipLookup: true,
      authorizationWebhookCacheAuthorizedTtlMs: 60_000,
      authorizationWebhookCacheUnauthorizedTtlMs: 1_000,
    },
    () => now,
  );
  const calls = () => api.sarCalls.length;
  const start = calls();
  const denied = await auth.check(request("/apis/metrics.k8s.io/v1beta1/nodes/n1"));
  assert.match(
    !denied.allowed ? denied.body : "",
    /nodes.metrics.k8s.io \\"n1\\" is forbidden: .*: no RBAC rule/,
  );
  allowed = true;
  assert.equal(
    (await auth.check(request("/apis/metrics.k8s.io/v1beta1/nodes/n1"))).allowed,
    false,
    "denial cached",
  );
  now += 1_001;
  assert.equal((await auth.check(request("/apis/metrics.k8s.io/v1beta1/nodes/n1"))).allowed, true);
  api.sar = () => "fail";
  assert.equal(
    (await auth.check(request("/apis/metrics.k8s.io/v1beta1/nodes/n1"))).allowed,
    true,
    "allow cached",
  );
  assert.equal(calls(), start + 2);
  const failed = await auth.check(request("/apis/metrics.k8s.io/v1beta1/nodes/n2"));
  assert.equal(!failed.allowed && failed.status, 500);
  assert.equal(!failed.allowed && failed.contentType, "text/plain; charset=utf-8");
  await auth.check(request("/apis/metrics.k8s.io/v1beta1/nodes/n2"));
  assert.equal(calls(), start + 4, "errors are not cached");
});

test("a failed ConfigMap lookup stops the start unless tolerated", async (t) => {
  const lines = captureLogs(t);
  api.configMapStatus = 403;
  t.after(() => {
    api.configMapStatus = 200;
  });
  await assert.rejects(
    DelegatedAuth.start(options(), api.client(), api.client()),
    /unable to load configmap based request-header-client-ca-file: .*403/,
  );
  assert.ok(lines.some((l) => l.includes("extension-apiserver-authentication-reader")));
  const auth = await startAuth(t, { authenticationTolerateLookupFailure: true });
  const r = await auth.check(request("/healthz", { headers: { "x-remote-user": "admin" } }));
  assert.deepEqual(r.allowed && r.user.name, "system:anonymous");
});

test("an API server that cannot answer the lookup (5xx, 429) does not stop the start; the watch loads it later", async (t) => {
  for (const status of [500, 503, 429]) {
    const lines = captureLogs(t);
    api.configMapStatus = status;
    t.after(() => {
      api.configMapStatus = 200;
    });
    const auth = await startAuth(t);
    assert.ok(
      lines.some((l) => l.startsWith("W") && l.includes("Cannot reach the API server")),
      lines.join(""),
    );
    // Once the API server answers, the ConfigMap watch loads what the lookup could not.
    api.configMapStatus = 200;
    await waitFor(
      () => lines.some((l) => l.includes('"Loaded authentication configuration"')),
      `the configuration after ${status}`,
    );
    await auth.stop();
  }
});
