import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CLIENT_AUTH, issue, makeCA, request, SERVER_AUTH } from "../../../test/support/auth.ts";
import type { RequestHeaderConfig } from "./config.ts";
import { authenticateRequestHeader } from "./request-header.ts";
import { bearerToken } from "./token-review.ts";
import { withAuthenticatedGroup } from "./user.ts";
import { authenticateClientCert, VerifiedChainCache, verifyClientChain } from "./x509.ts";

const ca = await makeCA("cluster-ca");
const otherCA = await makeCA("cluster-ca"); // same name, different key: a rotated or forged CA

test("a chain verifies only against the CA that signed it", async () => {
  const leaf = await issue(ca, "alice", { eku: [CLIENT_AUTH] });
  assert.equal(verifyClientChain([leaf.cert], [ca.cert]), undefined);
  assert.equal(verifyClientChain([leaf.cert], [otherCA.cert, ca.cert]), undefined);
  assert.match(verifyClientChain([leaf.cert], [otherCA.cert]) ?? "", /signed by unknown authority/);
});

test("validity period and extended key usage are enforced", async () => {
  const expired = await issue(ca, "old", { notAfter: new Date(Date.now() - 1000) });
  assert.match(verifyClientChain([expired.cert], [ca.cert]) ?? "", /expired or is not yet valid/);
  const serverOnly = await issue(ca, "srv", { eku: [SERVER_AUTH] });
  assert.match(verifyClientChain([serverOnly.cert], [ca.cert]) ?? "", /incompatible key usage/);
  const noEku = await issue(ca, "any");
  assert.equal(verifyClientChain([noEku.cert], [ca.cert]), undefined);
});

test("intermediates presented by the client are walked; a non-CA cannot sign", async () => {
  const inter = await issue(ca, "intermediate", { ca: true });
  const leaf = await issue(inter, "bob", { eku: [CLIENT_AUTH] });
  assert.equal(verifyClientChain([leaf.cert, inter.cert], [ca.cert]), undefined);
  assert.match(verifyClientChain([leaf.cert], [ca.cert]) ?? "", /unknown authority/);
  const notCA = await issue(ca, "not-a-ca");
  const underNotCA = await issue(notCA, "mallory");
  assert.match(verifyClientChain([underNotCA.cert, notCA.cert], [ca.cert]) ?? "", /unknown authority/);
});

test("x509: user is the CN, groups the O values", async () => {
  const admin = await issue(ca, "kubernetes-admin", { organizations: ["system:masters", "ops"] });
  const r = authenticateClientCert(request("/x", { certs: [admin.cert] }), [ca.cert]);
  assert.deepEqual(r, {
    kind: "user",
    user: { name: "kubernetes-admin", groups: ["system:masters", "ops"], extra: {} },
  });
  assert.equal(authenticateClientCert(request("/x", { certs: [admin.cert] }), [otherCA.cert]).kind, "error");
  assert.equal(authenticateClientCert(request("/x"), [ca.cert]).kind, "none");
  assert.equal(authenticateClientCert(request("/x", { certs: [admin.cert] }), undefined).kind, "none");
});

const proxyCA = await makeCA("front-proxy-ca");
const proxy = await issue(proxyCA, "front-proxy-client", { eku: [CLIENT_AUTH] });
const rh: RequestHeaderConfig = {
  cas: [proxyCA.cert],
  allowedNames: ["front-proxy-client"],
  usernameHeaders: ["x-remote-user"],
  groupHeaders: ["x-remote-group"],
  extraHeaderPrefixes: ["x-remote-extra-"],
  uidHeaders: [],
};

test("request-header: user, every group value, extras with lower-cased unescaped keys", () => {
  const r = authenticateRequestHeader(
    request("/x", {
      certs: [proxy.cert],
      headers: {
        "x-remote-user": "viewer",
        "x-remote-group": ["g1", "", "g2"],
        "x-remote-extra-scopes": ["a", "b"],
        "x-remote-extra-example.com%2fkey": "v",
      },
    }),
    rh,
  );
  assert.deepEqual(r, {
    kind: "user",
    user: { name: "viewer", groups: ["g1", "g2"], extra: { scopes: ["a", "b"], "example.com/key": ["v"] } },
  });
});

test("request-header: no user header is not this authenticator; wrong CN or CA is an error", async () => {
  assert.equal(authenticateRequestHeader(request("/x", { certs: [proxy.cert] }), rh).kind, "none");
  const other = await issue(proxyCA, "someone-else");
  const wrongName = authenticateRequestHeader(
    request("/x", { certs: [other.cert], headers: { "x-remote-user": "admin" } }),
    rh,
  );
  assert.deepEqual(wrongName, {
    kind: "error",
    error: "x509: subject with cn=someone-else is not in the allowed list",
  });
  assert.equal(
    authenticateRequestHeader(request("/x", { certs: [other.cert], headers: { "x-remote-user": "a" } }), {
      ...rh,
      allowedNames: [],
    }).kind,
    "user",
  );
  const forged = await issue(ca, "front-proxy-client");
  const r = authenticateRequestHeader(
    request("/x", { certs: [forged.cert], headers: { "x-remote-user": "a" } }),
    rh,
  );
  assert.equal(r.kind, "error");
  // Without any certificate the headers mean nothing.
  assert.equal(
    authenticateRequestHeader(request("/x", { headers: { "x-remote-user": "admin" } }), rh).kind,
    "none",
  );
});

test("bearer token parsing follows the apiserver", () => {
  assert.equal(bearerToken(request("/", { headers: { authorization: "Bearer abc" } })), "abc");
  assert.equal(bearerToken(request("/", { headers: { authorization: "bearer abc extra" } })), "abc");
  assert.equal(bearerToken(request("/", { headers: { authorization: "Basic abc" } })), undefined);
  assert.equal(bearerToken(request("/", { headers: { authorization: "Bearer" } })), undefined);
  assert.equal(bearerToken(request("/")), undefined);
});

test("authenticated users get system:authenticated once", () => {
  assert.deepEqual(withAuthenticatedGroup({ name: "a", groups: ["x"], extra: {} }).groups, [
    "x",
    "system:authenticated",
  ]);
  assert.deepEqual(
    withAuthenticatedGroup({ name: "a", groups: ["system:authenticated"], extra: {} }).groups,
    ["system:authenticated"],
  );
});

// --- the per-chain verification cache ---

const HOUR = 3_600_000;

test("a cached verdict is reused: one verification per chain, even for a new array per request", async () => {
  const cache = new VerifiedChainCache();
  const alice = await issue(ca, "alice", { organizations: ["devs"] });
  const now = Date.now();
  for (let i = 0; i < 5; i++) {
    const r = authenticateClientCert(request("/x", { certs: [alice.cert] }), [ca.cert], now + i, cache);
    assert.deepEqual(r, { kind: "user", user: { name: "alice", groups: ["devs"], extra: {} } });
  }
  assert.equal(cache.verifications, 1);
  // A handed-out user is the caller's to change; the cached identity is not.
  const first = authenticateClientCert(request("/x", { certs: [alice.cert] }), [ca.cert], now, cache);
  if (first.kind === "user") first.user.groups.push("system:masters");
  const again = authenticateClientCert(request("/x", { certs: [alice.cert] }), [ca.cert], now, cache);
  assert.deepEqual(again.kind === "user" && again.user.groups, ["devs"]);
  // Rejections are remembered too, with the same message every time.
  const stranger = await issue(otherCA, "eve");
  const e1 = authenticateClientCert(request("/x", { certs: [stranger.cert] }), [ca.cert], now, cache);
  const e2 = authenticateClientCert(request("/x", { certs: [stranger.cert] }), [ca.cert], now, cache);
  assert.deepEqual(e1, e2);
  assert.match(
    e1.kind === "error" ? e1.error : "",
    /^verifying certificate SN=\d+, CN="eve" failed: .*unknown authority$/,
  );
  assert.equal(cache.verifications, 2);
  assert.equal(cache.size, 2);
});

test("other CAs empty the cache: a chain cached as verified is rejected right after rotation", async () => {
  const cache = new VerifiedChainCache();
  const admin = await issue(ca, "admin", { organizations: ["system:masters"] });
  const now = Date.now();
  const req = () => request("/x", { certs: [admin.cert] });
  assert.equal(authenticateClientCert(req(), [ca.cert], now, cache).kind, "user");
  const rotated = authenticateClientCert(req(), [otherCA.cert], now, cache);
  assert.match(rotated.kind === "error" ? rotated.error : "", /unknown authority/);
  assert.equal(cache.verifications, 2);
  // The same CAs in a new array are the same trust: nothing is re-verified.
  assert.equal(authenticateClientCert(req(), [otherCA.cert], now, cache).kind, "error");
  assert.equal(cache.verifications, 2);
  assert.equal(authenticateClientCert(req(), [ca.cert], now, cache).kind, "user");
  assert.equal(cache.verifications, 3);
});

test("a cached success is never served outside the validity periods it was verified under", async () => {
  const cache = new VerifiedChainCache();
  // Certificates carry whole seconds: start on one so the bounds below are exact.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const shortLived = await issue(ca, "brief", {
    notBefore: new Date(now + HOUR),
    notAfter: new Date(now + 2 * HOUR),
  });
  const req = () => request("/x", { certs: [shortLived.cert] });
  const early = authenticateClientCert(req(), [ca.cert], now, cache);
  assert.match(early.kind === "error" ? early.error : "", /current time .* is before /);
  assert.equal(authenticateClientCert(req(), [ca.cert], now + HOUR, cache).kind, "user");
  assert.equal(authenticateClientCert(req(), [ca.cert], now + 2 * HOUR, cache).kind, "user");
  const late = now + 2 * HOUR + 1000;
  const expired = authenticateClientCert(req(), [ca.cert], late, cache);
  assert.deepEqual(expired, authenticateClientCert(req(), [ca.cert], late));
  assert.match(
    expired.kind === "error" ? expired.error : "",
    new RegExp(`current time ${new Date(late).toISOString()} is after `),
  );
  // An intermediate that expires before the leaf ends the cached success too.
  const inter = await issue(ca, "intermediate", { ca: true, notAfter: new Date(now + HOUR) });
  const leaf = await issue(inter, "bob");
  const chain = () => request("/x", { certs: [leaf.cert, inter.cert] });
  assert.equal(authenticateClientCert(chain(), [ca.cert], now, cache).kind, "user");
  const afterInter = authenticateClientCert(chain(), [ca.cert], now + HOUR + 1000, cache);
  assert.match(afterInter.kind === "error" ? afterInter.error : "", /unknown authority/);
});

test("the cache is bounded and drops the least recently used chain first", async () => {
  const cache = new VerifiedChainCache(3);
  const now = Date.now();
  const users = await Promise.all(["u0", "u1", "u2", "u3"].map((cn) => issue(ca, cn)));
  const check = (i: number) =>
    authenticateClientCert(request("/x", { certs: [users[i]!.cert] }), [ca.cert], now, cache);
  for (const i of [0, 1, 2]) check(i);
  check(0); // u0 is now the most recently used
  assert.equal(cache.verifications, 3);
  check(3); // evicts u1
  assert.equal(cache.size, 3);
  check(0);
  check(2);
  assert.equal(cache.verifications, 4);
  check(1);
  assert.equal(cache.verifications, 5);
  assert.equal(cache.size, 3);
});

test("a chain array reused with other certificates is not mistaken for the first chain", async () => {
  const cache = new VerifiedChainCache();
  const good = await issue(ca, "good");
  const bad = await issue(otherCA, "bad");
  const chain = [good.cert];
  const req = request("/x", { certs: chain });
  assert.equal(authenticateClientCert(req, [ca.cert], Date.now(), cache).kind, "user");
  chain[0] = bad.cert;
  assert.equal(authenticateClientCert(req, [ca.cert], Date.now(), cache).kind, "error");
});

test("request-header through the cache: same answers, the CN read once", async () => {
  const cache = new VerifiedChainCache();
  const other = await issue(proxyCA, "someone-else");
  const headers = { "x-remote-user": "viewer" };
  for (let i = 0; i < 3; i++) {
    assert.equal(
      authenticateRequestHeader(request("/x", { certs: [proxy.cert], headers }), rh, Date.now(), cache).kind,
      "user",
    );
    assert.deepEqual(
      authenticateRequestHeader(request("/x", { certs: [other.cert], headers }), rh, Date.now(), cache),
      {
        kind: "error",
        error: "x509: subject with cn=someone-else is not in the allowed list",
      },
    );
  }
  assert.equal(cache.verifications, 2);
});

test("property: cached answers equal uncached ones for any sequence of chains, CAs and times", async () => {
  const now = Date.now();
  const shortInter = await issue(ca, "short-intermediate", { ca: true, notAfter: new Date(now + 2 * HOUR) });
  const serverInter = await issue(ca, "server-intermediate", { ca: true, eku: ["1.3.6.1.5.5.7.3.1"] });
  const chains = [
    [(await issue(ca, "plain", { organizations: ["a", "b"] })).cert],
    [(await issue(ca, "expiring", { notAfter: new Date(now + HOUR) })).cert],
    [(await issue(ca, "future", { notBefore: new Date(now + HOUR) })).cert],
    [(await issue(ca, "server", { eku: [SERVER_AUTH] })).cert],
    [(await issue(otherCA, "stranger")).cert],
    [(await issue(shortInter, "via-short")).cert, shortInter.cert],
    [(await issue(serverInter, "via-server")).cert, serverInter.cert],
    [ca.cert],
  ];
  const rootSets = [[ca.cert], [otherCA.cert], [otherCA.cert, ca.cert]];
  const offsets = [-2 * HOUR, 0, HOUR - 1, HOUR, HOUR + 1, 2 * HOUR, 2 * HOUR + 1000, 25 * HOUR];
  await fc.assert(
    fc.property(
      fc.array(
        fc.record({
          chain: fc.nat(chains.length - 1),
          roots: fc.nat(rootSets.length - 1),
          at: fc.oneof(fc.constantFrom(...offsets), fc.integer({ min: -3 * HOUR, max: 26 * HOUR })),
        }),
        { maxLength: 40 },
      ),
      fc.integer({ min: 1, max: 4 }),
      (steps, size) => {
        const cache = new VerifiedChainCache(size);
        for (const s of steps) {
          const req = request("/x", { certs: chains[s.chain]! });
          const t = now + s.at;
          assert.deepEqual(
            authenticateClientCert(req, rootSets[s.roots]!, t, cache),
            authenticateClientCert(req, rootSets[s.roots]!, t),
          );
        }
      },
    ),
    { numRuns: 60 },
  );
});
