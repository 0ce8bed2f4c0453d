import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { adminUser, bearerToken, randomToken, TokenTable } from "./tokens.ts";

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
