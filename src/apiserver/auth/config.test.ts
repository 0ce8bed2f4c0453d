import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { makeCA } from "../../../test/support/auth.ts";
import { captureLogs } from "../../../test/support/logs.ts";
import { FileCABundle, parseAuthConfigMap, TtlCache } from "./config.ts";

test("a CA file is re-read when it changes; a broken rewrite keeps the previous bundle", async (t) => {
  captureLogs(t);
  const dir = mkdtempSync(join(tmpdir(), "auth-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [a, b] = [await makeCA("a"), await makeCA("b")];
  const file = join(dir, "ca.crt");
  writeFileSync(file, a.pem);
  const bundle = new FileCABundle(file, "--client-ca-file", 60_000);
  t.after(() => bundle.stop());
  assert.equal(bundle.current()[0]!.fingerprint256, a.cert.fingerprint256);
  writeFileSync(file, a.pem + b.pem + "\n");
  bundle.check();
  assert.deepEqual(
    bundle.current().map((c) => c.fingerprint256),
    [a.cert.fingerprint256, b.cert.fingerprint256],
  );
  writeFileSync(file, "garbage that is longer than before, so the stat changes............................");
  bundle.check();
  assert.equal(bundle.current().length, 2);
  assert.throws(
    () => new FileCABundle(join(dir, "missing"), "--client-ca-file"),
    /--client-ca-file: unable to read/,
  );
});

test("ConfigMap keys: CAs and JSON lists; malformed lists throw", async () => {
  const ca = await makeCA("x");
  const cfg = parseAuthConfigMap({
    "requestheader-client-ca-file": ca.pem,
    "requestheader-username-headers": '["X-Remote-User"]',
    "requestheader-allowed-names": "",
  });
  assert.equal(cfg.clientCAs, undefined);
  assert.deepEqual(cfg.requestHeader?.usernameHeaders, ["X-Remote-User"]);
  assert.deepEqual(cfg.requestHeader?.allowedNames, []);
  assert.throws(
    () =>
      parseAuthConfigMap({ "requestheader-client-ca-file": ca.pem, "requestheader-group-headers": "[1]" }),
    /not a JSON list of strings/,
  );
  assert.throws(() => parseAuthConfigMap({ "client-ca-file": "nope" }), /no PEM certificate/);
});

test("TtlCache expires entries and coalesces concurrent loads", async () => {
  let now = 0;
  const cache = new TtlCache<number>(2, () => now);
  let loads = 0;
  const load = async () => ++loads;
  const [x, y] = await Promise.all([
    cache.getOrLoad("k", load, () => 10),
    cache.getOrLoad("k", load, () => 10),
  ]);
  assert.deepEqual([x, y, loads], [1, 1, 1]);
  now = 10;
  assert.equal(await cache.getOrLoad("k", load, () => 10), 2);
  cache.set("a", 1, 10);
  cache.set("b", 1, 10);
  assert.equal(cache.size, 2);
});
