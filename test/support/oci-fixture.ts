// A small OCI image archive for tests of the simulator's container runtime, built with umoci from
// Debian: this Node binary and the libraries it links, plus one script as the entrypoint, running as
// 65534:65534. Built once per content (cached under .cache/runtime-fixture/).

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { root } from "./paths.ts";

const run = promisify(execFile);

/** The runtime's prerequisites: root and umoci. Undefined when present, else why not. */
export async function runtimeUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root (mount namespaces, overlay mounts)";
  try {
    await run("umoci", ["--version"]);
  } catch {
    return "needs umoci (Debian package umoci)";
  }
  return undefined;
}

/** Skips the test locally (or fails it under CI=true) when the runtime cannot work here. */
export async function requireRuntime(t: TestContext): Promise<boolean> {
  const why = await runtimeUnavailable();
  if (!why) return true;
  if (process.env.CI === "true") throw new Error(`the container runtime test ${why}`);
  t.skip(why);
  return false;
}

/** The shared libraries `binary` links, the dynamic loader included (from ldd). */
async function linkedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run("ldd", [binary]);
  const libs: string[] = [];
  for (const line of stdout.split("\n")) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/**
 * Builds (or reuses) an OCI archive holding /usr/local/bin/node and /app/<basename of script>, with
 * ENTRYPOINT node /app/<script>, USER 65534:65534, WORKDIR /app. Returns its path.
 */
export async function buildFixtureImage(script: string, tag: string): Promise<string> {
  const node = process.execPath;
  const libs = await linkedLibraries(node);
  const hash = createHash("sha256")
    .update(readFileSync(script))
    .update(`${node}:${statSync(node).mtimeMs}:${libs.join(",")}:${tag}`)
    .digest("hex")
    .slice(0, 16);
  const cache = join(root, ".cache", "runtime-fixture");
  const archive = join(cache, `fixture-${hash}.oci.tar`);
  if (existsSync(archive)) return archive;
  const work = join(cache, `build-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const layout = join(work, "layout");
  const bundle = join(work, "bundle");
  const image = `${layout}:${tag}`;
  await run("umoci", ["init", "--layout", layout]);
  await run("umoci", ["new", "--image", image]);
  await run("umoci", ["unpack", "--image", image, bundle]);
  const rootfs = join(bundle, "rootfs");
  const put = (from: string, to: string) => {
    mkdirSync(dirname(join(rootfs, to)), { recursive: true });
    copyFileSync(from, join(rootfs, to));
  };
  put(node, "/usr/local/bin/node");
  for (const lib of libs) put(lib, lib);
  put(script, `/app/${script.slice(script.lastIndexOf("/") + 1)}`);
  mkdirSync(join(rootfs, "tmp"), { recursive: true, mode: 0o1777 });
  await run("umoci", ["repack", "--image", image, bundle], { maxBuffer: 16 << 20 });
  await run("umoci", [
    "config",
    "--image",
    image,
    "--config.entrypoint",
    "/usr/local/bin/node",
    "--config.entrypoint",
    `/app/${script.slice(script.lastIndexOf("/") + 1)}`,
    "--config.user",
    "65534:65534",
    "--config.workingdir",
    "/app",
    "--config.env",
    "PATH=/usr/local/bin:/usr/bin:/bin",
  ]);
  await run("tar", ["-cf", `${archive}.tmp`, "-C", layout, "."]);
  renameSync(`${archive}.tmp`, archive);
  rmSync(work, { recursive: true, force: true });
  return archive;
}
