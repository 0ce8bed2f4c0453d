import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { adminUser, bearerToken, randomToken, ServiceAccountTokens, TokenTable } from "./tokens.ts";

test("bearerToken reads the token of a Bearer Authorization header only", () => {
  assert.equal(bearerToken("Bearer abc.def"), "abc.def");
  assert.equal(bearerToken("bearer  abc "), "abc");
  assert.equal(bearerToken(undefined), undefined);
  assert.equal(bearerToken("Basic dXNlcjpwYXNz"), undefined);
  assert.equal(bearerToken("Bearer"), undefined);
  assert.equal(bearerToken("Bearer a b"), undefined);
});

test("TokenTable authenticates known tokens as their user, and only those", () => {
  const table = new TokenTable();
  const admin = randomToken();
  table.add(admin, adminUser());
  table.add("viewer-token", { name: "viewer", groups: ["system:authenticated"] });
  assert.equal(table.size, 2);
  assert.deepEqual(table.authenticate(admin), {
    name: "kubernetes-admin",
    groups: ["system:masters", "system:authenticated"],
  });
  assert.equal(table.authenticate("viewer-token")?.name, "viewer");
  assert.equal(table.authenticate("nope"), undefined);
  assert.equal(table.authenticate(""), undefined);
  // Callers get copies: changing one does not change the table.
  table.authenticate(admin)!.groups.push("hacked");
  assert.deepEqual(table.authenticate(admin)!.groups, ["system:masters", "system:authenticated"]);
  assert.equal(table.remove("viewer-token"), true);
  assert.equal(table.authenticate("viewer-token"), undefined);
  assert.equal(table.remove("viewer-token"), false);
});

test("TokenTable rejects tokens that cannot travel in a header", () => {
  const table = new TokenTable();
  for (const bad of ["", "has space", "new\nline", "ünïcode"]) {
    assert.throws(() => table.add(bad, adminUser()), /token68/, JSON.stringify(bad));
  }
  assert.throws(() => table.add("ok", { name: "", groups: [] }), /needs a name/);
});

test("property: random tokens are distinct, header-safe and round-trip through bearerToken", () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(fc.constant(null), () => {
      const t = randomToken();
      assert.ok(!seen.has(t));
      seen.add(t);
      assert.match(t, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(bearerToken(`Bearer ${t}`), t);
    }),
    { numRuns: 200 },
  );
});

test("service account tokens are valid only while the service account and the pod exist", () => {
  const objects = { sa: "sa-uid" as string | undefined, pod: "pod-uid" as string | undefined };
  const tokens = new TokenTable();
  const issuer = new ServiceAccountTokens(tokens, {
    serviceAccountUid: (ns, name) => (ns === "kube-system" && name === "ms" ? objects.sa : undefined),
    podUid: (ns, name) => (ns === "kube-system" && name === "p" ? objects.pod : undefined),
  });
  assert.throws(
    () => issuer.issueServiceAccountToken("kube-system", "other", { name: "p", uid: "pod-uid" }),
    /serviceaccounts "other" not found/,
  );
  assert.throws(
    () => issuer.issueServiceAccountToken("kube-system", "ms", { name: "p", uid: "stale" }),
    /pods "p"/,
  );
  const token = issuer.issueServiceAccountToken("kube-system", "ms", { name: "p", uid: "pod-uid" });
  const user = tokens.authenticate(token);
  assert.equal(user?.name, "system:serviceaccount:kube-system:ms");
  assert.deepEqual(user?.groups, [
    "system:serviceaccounts",
    "system:serviceaccounts:kube-system",
    "system:authenticated",
  ]);
  assert.deepEqual(user?.extra?.["authentication.kubernetes.io/pod-uid"], ["pod-uid"]);
  objects.pod = "recreated-uid";
  assert.equal(
    tokens.authenticate(token),
    undefined,
    "a new pod of the same name does not inherit the token",
  );
  const second = issuer.issueServiceAccountToken("kube-system", "ms", { name: "p", uid: "recreated-uid" });
  objects.sa = undefined;
  assert.equal(tokens.authenticate(second), undefined, "a deleted service account's tokens stop working");
  objects.sa = "sa-uid";
  const expired = issuer.issueServiceAccountToken(
    "kube-system",
    "ms",
    { name: "p", uid: "recreated-uid" },
    Date.now() - 1,
  );
  assert.equal(tokens.authenticate(expired), undefined);
});
