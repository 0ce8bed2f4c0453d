// scripts/release.ts --dry-run against small repositories made for each case: it releases only a
// clean main whose version is the same everywhere, and plans the steps docs/release.md describes.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type TestContext, test } from "node:test";
import { root, tempDir } from "./support/paths.ts";
import { run } from "./support/processes.ts";

const GIT = [
  "-c",
  "user.name=Release Test",
  "-c",
  "user.email=release@example.com",
  "-c",
  "commit.gpgsign=false",
];

async function git(repo: string, args: string[]): Promise<string> {
  const r = await run("git", ["-C", repo, ...GIT, ...args]);
  assert.equal(r.code, 0, `git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function write(repo: string, path: string, text: string): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), text);
}

/** A repository on main with version `version` in package.json, Chart.yaml and deploy/, committed. */
async function fixture(t: TestContext, version: string, overlayTag = version): Promise<string> {
  const repo = tempDir(t, "ms-release-");
  await git(repo, ["init", "--quiet", "--initial-branch=main"]);
  write(repo, "package.json", `${JSON.stringify({ name: "metrics-server-ts", version }, null, 2)}\n`);
  write(
    repo,
    "charts/metrics-server/Chart.yaml",
    `apiVersion: v2\nname: metrics-server\nversion: ${version}\nappVersion: ${version}\n`,
  );
  write(
    repo,
    "deploy/base/deployment.yaml",
    `spec:\n  template:\n    spec:\n      containers:\n        - name: metrics-server\n          image: registry.example.com/metrics-server-ts:v${version}\n`,
  );
  write(
    repo,
    "deploy/overlays/release/kustomization.yaml",
    `resources: [../../base]\nimages:\n  - name: registry.example.com/metrics-server-ts\n    newTag: v${overlayTag}\n`,
  );
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "--quiet", "-m", "fixture"]);
  return repo;
}

function release(args: string[]) {
  return run(process.execPath, [join(root, "scripts/release.ts"), ...args], { timeoutMs: 30_000 });
}

test("a clean main with one version everywhere: the dry run plans the four steps and runs none", async (t) => {
  const repo = await fixture(t, "0.2.0");
  const r = await release(["v0.2.0", "--dry-run", "--repo", repo, "--registry", "ghcr.io/example"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /CI must be green on [0-9a-f]{12}/);
  const planned = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("  "))
    .map((l) => l.trim().split("    # ")[0]);
  assert.deepEqual(planned, [
    "npm run manifests -- --out dist/ --image ghcr.io/example/metrics-server-ts:v0.2.0",
    "npm run image",
    "helm package charts/metrics-server --destination dist/",
    "git tag -a v0.2.0 -m metrics-server-ts v0.2.0",
  ]);
  assert.equal((await git(repo, ["tag", "--list"])).trim(), "", "no tag was created");
  assert.ok(!existsSync(join(repo, "dist")), "nothing was rendered");
});

test("a version that differs anywhere is refused, naming each place", async (t) => {
  const repo = await fixture(t, "0.2.0");
  const r = await release(["0.3.0", "--dry-run", "--repo", repo]);
  assert.equal(r.code, 1);
  for (const line of [
    "package.json: version is 0.2.0, not 0.3.0",
    "charts/metrics-server/Chart.yaml: appVersion is 0.2.0, not 0.3.0",
    "deploy/base/deployment.yaml: image tag is 0.2.0, not 0.3.0",
    "deploy/overlays/release/kustomization.yaml: images newTag is 0.2.0, not 0.3.0",
  ]) {
    assert.ok(r.stderr.includes(line), `${line} in:\n${r.stderr}`);
  }

  const stale = await fixture(t, "0.2.0", "0.1.0");
  const one = await release(["0.2.0", "--dry-run", "--repo", stale]);
  assert.equal(one.code, 1);
  assert.match(
    one.stderr,
    /deploy\/overlays\/release\/kustomization\.yaml: images newTag is 0\.1\.0, not 0\.2\.0/,
  );
  assert.doesNotMatch(one.stderr, /package\.json|Chart\.yaml/);
});

test("a dirty tree, another branch or an existing tag is refused", async (t) => {
  const dirty = await fixture(t, "0.2.0");
  write(dirty, "notes.txt", "uncommitted\n");
  const d = await release(["0.2.0", "--dry-run", "--repo", dirty]);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /the working tree is not clean[\s\S]*\?\? notes\.txt/);

  const branch = await fixture(t, "0.2.0");
  await git(branch, ["checkout", "--quiet", "-b", "feature"]);
  const b = await release(["0.2.0", "--dry-run", "--repo", branch]);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /on branch "feature": releases are cut from main/);

  const tagged = await fixture(t, "0.2.0");
  await git(tagged, ["tag", "-a", "v0.2.0", "-m", "earlier"]);
  const tg = await release(["0.2.0", "--dry-run", "--repo", tagged]);
  assert.equal(tg.code, 1);
  assert.match(tg.stderr, /tag v0\.2\.0 exists already/);
});

test("the version must be SemVer, and there must be exactly one", async () => {
  for (const args of [["1.2"], ["01.2.3"], ["1.2.3", "1.2.4"], []]) {
    const r = await release([...args, "--dry-run"]);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, /^release: (invalid version|want exactly one version)/);
  }
  const pre = await release(["1.2.3-rc.1+build.5", "--dry-run", "--repo", "/nonexistent-repo"]);
  assert.doesNotMatch(pre.stderr, /invalid version/);
});
