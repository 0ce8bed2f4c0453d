import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type FakeExecPlugin, fakeExecPlugin } from "../../test/support/kube-credentials.ts";
import { captureLogs } from "../../test/support/logs.ts";
import { Credentials } from "./credentials.ts";
import type { ExecConfig } from "./exec.ts";
import type { RestConfig } from "./kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "kube-credentials-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const V1 = "client.authentication.k8s.io/v1";
const plugin = (): FakeExecPlugin => fakeExecPlugin(dir);

const base: RestConfig = { server: "https://127.0.0.1:1", insecureSkipTLSVerify: false };

function clock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe("Credentials", () => {
  test("static token and certificate come straight from the config", async () => {
    const c = new Credentials({ ...base, bearerToken: "s", cert: Buffer.from("C"), key: Buffer.from("K") });
    assert.equal(await c.bearerToken(), "s");
    assert.deepEqual(await c.clientCertificate(), { cert: Buffer.from("C"), key: Buffer.from("K") });
    assert.equal(c.rotatable, false);
    assert.equal(await new Credentials(base).bearerToken(), undefined);
    assert.equal(await new Credentials(base).clientCertificate(), undefined);
  });

  test("token file is re-read once older than a minute, and at once after invalidate()", async (t) => {
    const logs = captureLogs(t);
    const file = join(dir, "token");
    writeFileSync(file, "first\n");
    const clk = clock();
    const c = new Credentials({ ...base, bearerToken: "first", bearerTokenFile: file }, { now: clk.now });
    assert.equal(c.rotatable, true);
    writeFileSync(file, "second\n");
    assert.equal(await c.bearerToken(), "first", "the token just loaded is fresh");
    clk.advance(59_000);
    assert.equal(await c.bearerToken(), "first");
    clk.advance(1_000);
    assert.equal(await c.bearerToken(), "second");
    writeFileSync(file, "third\n");
    c.invalidate();
    assert.equal(await c.bearerToken(), "third");
    rmSync(file);
    clk.advance(60_000);
    assert.equal(await c.bearerToken(), "third", "an unreadable file keeps the last good token");
    assert.match(logs.join(""), /Unable to re-read bearer token file/);
  });

  test("exec token is cached until shortly before it expires; concurrent callers share one run", async () => {
    const p = plugin();
    const clk = clock();
    const expires = (ms: number): string => new Date(clk.now() + ms).toISOString();
    p.answer({ token: "exec-1", expirationTimestamp: expires(3_600_000) });
    const c = new Credentials({ ...base, exec: p.exec }, { now: clk.now });
    assert.equal(c.rotatable, true);
    const tokens = await Promise.all([c.bearerToken(), c.bearerToken(), c.clientCertificate()]);
    assert.deepEqual(tokens, ["exec-1", "exec-1", undefined]);
    assert.equal(p.runs(), 1);

    p.answer({ token: "exec-2", expirationTimestamp: expires(7_200_000) });
    clk.advance(3_600_000 - 11_000);
    assert.equal(await c.bearerToken(), "exec-1", "still well before expiry");
    clk.advance(2_000);
    assert.equal(await c.bearerToken(), "exec-2", "refreshed a little before expiry");
    assert.equal(p.runs(), 2);
  });

  test("exec credential without expiration lives until invalidate()", async () => {
    const p = plugin();
    const clk = clock();
    p.answer({ token: "a" });
    const c = new Credentials({ ...base, exec: p.exec }, { now: clk.now });
    assert.equal(await c.bearerToken(), "a");
    clk.advance(365 * 86_400_000);
    p.answer({ token: "b" });
    assert.equal(await c.bearerToken(), "a");
    c.invalidate();
    assert.equal(await c.bearerToken(), "b");
    assert.equal(p.runs(), 2);
  });

  test("a failed refresh keeps a still-valid credential; a failed first run is an error, retried next call", async (t) => {
    const logs = captureLogs(t);
    const p = plugin();
    const clk = clock();
    p.answer({ token: "good", expirationTimestamp: new Date(clk.now() + 60_000).toISOString() });
    const c = new Credentials({ ...base, exec: p.exec }, { now: clk.now });
    assert.equal(await c.bearerToken(), "good");
    p.answer({});
    clk.advance(55_000);
    assert.equal(await c.bearerToken(), "good");
    assert.match(logs.join(""), /Exec credential refresh failed/);
    clk.advance(10_000);
    await assert.rejects(c.bearerToken(), /didn't return a token or cert\/key pair/);
    p.answer({ token: "new" });
    assert.equal(await c.bearerToken(), "new");
  });

  test("exec client certificate; a token in the config wins over the plugin's", async () => {
    const p = plugin();
    p.answer({ clientCertificateData: "CERT", clientKeyData: "KEY", token: "plugin-token" });
    const c = new Credentials({ ...base, bearerToken: "configured", exec: p.exec });
    assert.deepEqual(await c.clientCertificate(), { cert: Buffer.from("CERT"), key: Buffer.from("KEY") });
    assert.equal(await c.bearerToken(), "configured");
    const first = await c.clientCertificate();
    assert.equal(first?.cert, (await c.clientCertificate())?.cert, "the same Buffer while cached");
    assert.equal(p.runs(), 1);
  });

  test("exec timeout option is applied", async () => {
    const path = join(dir, "slow.sh");
    writeFileSync(path, "#!/bin/sh\nexec sleep 30\n");
    chmodSync(path, 0o755);
    const exec: ExecConfig = {
      apiVersion: V1,
      command: path,
      args: [],
      env: [],
      provideClusterInfo: false,
      interactiveMode: "Never",
    };
    const c = new Credentials({ ...base, exec }, { execTimeoutMs: 100 });
    await assert.rejects(c.bearerToken(), /did not finish within 0\.1s/);
  });
});
