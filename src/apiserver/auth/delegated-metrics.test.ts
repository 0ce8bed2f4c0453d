// What DelegatedAuth records in the generic API server's authentication and authorization families,
// against a fake API server that answers TokenReviews and SubjectAccessReviews for real.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Registry } from "prom-client";
import { FakeAuthApiServer, issue, makeCA, request } from "../../../test/support/auth.ts";
import { sampleSum } from "../../../test/support/exposition.ts";
import { captureLogs } from "../../../test/support/logs.ts";
import { registerApiServerMetrics } from "../monitoring.ts";
import { type AuthOptions, DelegatedAuth } from "./delegated.ts";

const clusterCA = await makeCA("cluster-ca");
const admin = await issue(clusterCA, "kubernetes-admin", { organizations: ["system:masters"] });
const api = new FakeAuthApiServer();
const registry = new Registry();
registerApiServerMetrics(registry);
let auth: DelegatedAuth;
let clients: ReturnType<FakeAuthApiServer["client"]>[] = [];

before(async () => {
  await api.start();
  clients = [api.client(), api.client()];
  api.updateConfigMap({ "client-ca-file": clusterCA.pem });
  const options: AuthOptions = {
    clientCaFile: "",
    requestheaderClientCaFile: "",
    requestheaderAllowedNames: [],
    requestheaderUsernameHeaders: [],
    requestheaderGroupHeaders: [],
    requestheaderExtraHeadersPrefix: [],
    authenticationSkipLookup: false,
    authenticationTolerateLookupFailure: false,
    // No caching: every check below asks the fake API server.
    authenticationTokenWebhookCacheTtlMs: 0,
    authorizationAlwaysAllowPaths: ["/healthz", "/readyz", "/livez"],
    authorizationWebhookCacheAuthorizedTtlMs: 0,
    authorizationWebhookCacheUnauthorizedTtlMs: 0,
  };
  auth = await DelegatedAuth.start(options, clients[0]!, clients[1]!);
});
after(async () => {
  await auth.stop();
  for (const c of clients) await c.close();
  await api.close();
});

/** How much each of the given series grew while `fn` ran. */
async function growth(
  fn: () => Promise<unknown>,
  series: [string, Record<string, string>][],
): Promise<number[]> {
  const before = await registry.metrics();
  await fn();
  const now = await registry.metrics();
  return series.map(([name, labels]) => sampleSum(now, name, labels) - sampleSum(before, name, labels));
}

const NODES = "/apis/metrics.k8s.io/v1beta1/nodes";
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

test("a rejected token (401): an authentication error, one TokenReview, no authorization", async (t) => {
  captureLogs(t);
  const [errors, reviews, authz] = await growth(
    async () => assert.equal((await auth.check(request(NODES, bearer("bad")))).allowed, false),
    [
      ["authentication_attempts", { result: "error" }],
      ["apiserver_delegated_authn_request_total", { code: "201" }],
      ["authorization_attempts_total", {}],
    ],
  );
  assert.deepEqual([errors, reviews, authz], [1, 1, 0]);
});

test("a token user the SubjectAccessReview does not allow (403): success, then no-opinion", async () => {
  api.tokens.set("alice-token", { username: "alice@example.com" });
  api.sar = () => ({ allowed: false });
  const [success, user, noOpinion, sars, latency] = await growth(async () => {
    const d = await auth.check(request(NODES, bearer("alice-token")));
    assert.equal(d.allowed === false && d.status, 403);
  }, [
    ["authentication_attempts", { result: "success" }],
    ["authenticated_user_requests", { username: "email_id" }],
    ["authorization_attempts_total", { result: "no-opinion" }],
    ["apiserver_delegated_authz_request_total", { code: "201" }],
    ["authorization_duration_seconds_count", { result: "no-opinion" }],
  ]);
  assert.deepEqual([success, user, noOpinion, sars, latency], [1, 1, 1, 1, 1]);
});

test("an explicit deny is denied; an allow is allowed", async () => {
  api.sar = () => ({ allowed: false, denied: true });
  const [denied] = await growth(
    () => auth.check(request(NODES)),
    [["authorization_attempts_total", { result: "denied" }]],
  );
  assert.equal(denied, 1);
  api.sar = () => ({ allowed: true });
  const [allowed, anonymous] = await growth(
    async () => assert.equal((await auth.check(request(NODES))).allowed, true),
    [
      ["authorization_attempts_total", { result: "allowed" }],
      ["authenticated_user_requests", { username: "other" }],
    ],
  );
  assert.deepEqual([allowed, anonymous], [1, 1], "anonymous is an authenticated user named other");
});

test("a SubjectAccessReview the API server fails (500): an authorization error, code 500", async (t) => {
  captureLogs(t);
  api.sar = () => "fail";
  const [errors, failed] = await growth(async () => {
    const d = await auth.check(request(NODES));
    assert.equal(d.allowed === false && d.status, 500);
  }, [
    ["authorization_attempts_total", { result: "error" }],
    ["apiserver_delegated_authz_request_total", { code: "500" }],
  ]);
  assert.deepEqual([errors, failed], [1, 1]);
});

test("always-allowed paths and system:masters are allowed without a SubjectAccessReview", async () => {
  const [allowed, sars] = await growth(async () => {
    assert.equal((await auth.check(request("/healthz"))).allowed, true);
    const d = await auth.check(request(NODES, { certs: [admin.cert] }));
    assert.equal(d.allowed, true, JSON.stringify(d));
  }, [
    ["authorization_attempts_total", { result: "allowed" }],
    ["apiserver_delegated_authz_request_total", {}],
  ]);
  assert.deepEqual([allowed, sars], [2, 0]);
});
