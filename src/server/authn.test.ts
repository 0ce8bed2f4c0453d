import assert from "node:assert/strict";
import { test } from "node:test";
import type { RequestHeaderConfig } from "./auth-config.ts";
import { CLIENT_AUTH, issue, makeCA, request, SERVER_AUTH } from "./auth-testing.ts";
import {
  authenticateClientCert,
  authenticateRequestHeader,
  bearerToken,
  verifyClientChain,
  withAuthenticatedGroup,
} from "./authn.ts";

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
