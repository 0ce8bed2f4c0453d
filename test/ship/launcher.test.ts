// bin/metrics-server as users get it from a production install (`npm ci --omit=dev`): the bundled
// Node 24 runs the server; without it, a Node 24 on PATH is used and named; anything else is refused
// with a message saying what is missing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { root, tempDir } from "../support/paths.ts";
import { run } from "../support/processes.ts";

const version = `v${(JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version}`;

/** A directory holding only the tools the launcher itself needs (dirname, readlink), as links. */
function toolsDir(dir: string): string {
  const tools = join(dir, "tools");
  mkdirSync(tools);
  for (const tool of ["dirname", "readlink"]) {
    const path = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    symlinkSync(path, join(tools, tool));
  }
  return tools;
}

test("a production install runs the server with its bundled Node, or a Node 24 on PATH", async (t) => {
  const dir = tempDir(t, "ms-prod-install-");
  for (const f of ["package.json", "package-lock.json"]) cpSync(join(root, f), join(dir, f));
  for (const d of ["bin", "src"]) cpSync(join(root, d), join(dir, d), { recursive: true });
  // This Node runs npm and node@24's install script; the npm cache (filled by the CI's `npm ci`)
  // serves the packages, the registry only what it lacks.
  const nodeDir = dirname(process.execPath);
  const env = { ...process.env, PATH: `${nodeDir}:${process.env.PATH}` };
  const install = await run(
    "npm",
    ["ci", "--prefix", dir, "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund"],
    { env, timeoutMs: 180_000 },
  );
  assert.equal(install.code, 0, `npm ci --omit=dev failed:\n${install.stdout}\n${install.stderr}`);
  assert.ok(!existsSync(join(dir, "node_modules", "typescript")), "a dev dependency was installed");

  const launcher = join(dir, "bin", "metrics-server");
  const tools = toolsDir(dir);

  await t.test("bundled Node, quietly", async () => {
    const r = await run(launcher, ["--version"], { env: { PATH: tools } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
    assert.equal(r.stderr, "");
    const help = await run(launcher, ["--help"], { env: { PATH: tools } });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout.split("\n")[0]!, /metrics-server/);
  });

  // From here on the install has no bundled Node.
  renameSync(join(dir, "node_modules", "node"), join(dir, "node_modules", "node.off"));

  await t.test("no bundled Node: a Node 24 on PATH, named on stderr", async () => {
    const r = await run(launcher, ["--version"], { env: { PATH: `${tools}:${nodeDir}` } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
    assert.equal(r.stderr.trim(), `metrics-server: using Node ${process.version} from ${process.execPath}`);
  });

  await t.test("no bundled Node: an older Node on PATH is refused", async () => {
    const old = join(dir, "old-node");
    mkdirSync(old);
    writeFileSync(join(old, "node"), "#!/bin/sh\necho v20.19.0\n", { mode: 0o755 });
    const r = await run(launcher, ["--version"], { env: { PATH: `${tools}:${old}` } });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /metrics-server: .*old-node\/node is Node v20\.19\.0, needs 24 or later/);
  });

  await t.test("no bundled Node and none on PATH: a clear error", async () => {
    const r = await run(launcher, ["--version"], { env: { PATH: tools } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /metrics-server: no Node\.js: .*node_modules\/node is missing .* no node on PATH/);
  });
});
