// `npm run image`: builds the container image without a Docker engine, with buildah (Debian package
// buildah, as root), into an OCI archive under .cache/image/, the way `kind load` and `podman load`
// take it: FROM scratch plus what scripts/image-contents.ts lists, with USER, WORKDIR, ENV,
// ENTRYPOINT and LABEL from the Dockerfile's final stage (their one home). A build whose inputs
// (files, modes, config, these scripts) hash the same as the archive's is skipped; a lock file lets
// concurrent builds (two test files, a user) wait for each other. docs/image.md.
import { createHash, randomUUID } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags, UsageError } from "./flags.ts";
import { dockerfileConfig, type Entry, exec, type ImageConfig, imageContents } from "./image-contents.ts";
import { imageRef, packageVersion } from "./image-ref.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const imageCacheDir = join(root, ".cache", "image");

/** A needed tool is missing or the build cannot run here (not root): tests skip on it outside CI. */
export class ImageToolMissing extends Error {}

/** The image reference and archive path for package.json's version. */
export function imageNames(): { version: string; ref: string; archive: string } {
  const version = packageVersion(root);
  return {
    version,
    ref: imageRef(version),
    archive: join(imageCacheDir, `metrics-server-ts-${version}.oci.tar`),
  };
}

/** The hash of everything the archive is made from: config, each entry's path, mode and bytes, the scripts. */
function inputsHash(config: ImageConfig, ref: string, entries: readonly Entry[]): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ config, ref }));
  for (const script of ["image.ts", "image-contents.ts", "compile-cache.ts"])
    h.update(readFileSync(join(root, "scripts", script)));
  for (const e of entries) {
    h.update(`\0${e.path}\0${e.mode}\0`);
    if (e.source !== undefined) h.update(createHash("sha256").update(readFileSync(e.source)).digest("hex"));
    if (e.text !== undefined) h.update(e.text);
  }
  return h.digest("hex");
}

/** Directories made on the way get 0755 whatever the umask, so the image does not depend on it. */
function mkdirs(dir: string): void {
  if (existsSync(dir)) return;
  mkdirs(dirname(dir));
  mkdirSync(dir);
  chmodSync(dir, 0o755);
}

function stage(entries: readonly Entry[], rootfs: string): number {
  rmSync(rootfs, { recursive: true, force: true });
  mkdirs(rootfs);
  let bytes = 0;
  for (const e of entries) {
    const target = join(rootfs, e.path);
    if (e.source === undefined && e.text === undefined) {
      mkdirs(target);
    } else {
      mkdirs(dirname(target));
      if (e.source !== undefined) copyFileSync(e.source, target);
      else writeFileSync(target, e.text!);
      bytes += lstatSync(target).size;
    }
    chmodSync(target, e.mode);
  }
  return bytes;
}

/**
 * The users the Dockerfile fills the compile cache for (its `compile-cache.ts … <uid>...` line, their
 * one home): the image's USER and the manifests' runAsUser.
 */
export function compileCacheUids(dockerfile: string): string[] {
  const m = /compile-cache\.ts \/app \S+ ([\d ]+)$/m.exec(dockerfile);
  if (!m) throw new Error("the Dockerfile does not run compile-cache.ts with the users to fill it for");
  return m[1]!.trim().split(/ +/);
}

/**
 * Fills /app/.compile-cache in the staged root filesystem as the Dockerfile's build stage does: the
 * image's own node runs scripts/compile-cache.ts in a chroot, so the cached paths are /app/... .
 * Returns the bytes added.
 */
async function fillCompileCache(rootfs: string, uids: readonly string[]): Promise<number> {
  const script = join(rootfs, "compile-cache.ts");
  const cache = join(rootfs, "app", ".compile-cache");
  copyFileSync(join(root, "scripts", "compile-cache.ts"), script);
  mkdirs(cache);
  try {
    await exec("chroot", [
      rootfs,
      "/usr/local/bin/node",
      "/compile-cache.ts",
      "/app",
      "/app/.compile-cache",
      ...uids,
    ]);
  } finally {
    rmSync(script, { force: true });
  }
  let bytes = 0;
  for (const dir of readdirSync(cache)) {
    chmodSync(join(cache, dir), 0o755);
    for (const entry of readdirSync(join(cache, dir))) {
      chmodSync(join(cache, dir, entry), 0o644);
      bytes += lstatSync(join(cache, dir, entry)).size;
    }
  }
  return bytes;
}

export interface BuiltImage {
  archive: string;
  ref: string;
  /** Bytes of the archive (gzip-compressed layer). */
  compressedBytes: number;
  /** Bytes of the files in the root filesystem. */
  uncompressedBytes: number;
  /** False when a cached archive with the same inputs was reused. */
  built: boolean;
  seconds: number;
}

interface ArchiveRecord {
  inputs: string;
  ref: string;
  compressedBytes: number;
  uncompressedBytes: number;
}

/**
 * Runs fn holding the lock file (it names the holder's pid), waiting while a live process holds it;
 * a lock whose holder is gone (a killed build) is taken over. The pid is written before the lock
 * appears (a hard link of a complete file), so a waiter never reads a half-made lock.
 */
export async function withFileLock<T>(
  lock: string,
  fn: () => Promise<T>,
  timeoutMs = 20 * 60_000,
): Promise<T> {
  mkdirs(dirname(lock));
  const mine = `${lock}.${process.pid}.${randomUUID()}`;
  writeFileSync(mine, String(process.pid));
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        linkSync(mine, lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      let owner: number;
      try {
        owner = Number(readFileSync(lock, "utf8"));
      } catch {
        continue; // released meanwhile
      }
      if (!alive(owner)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`lock ${lock} still held by pid ${owner} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
    try {
      return await fn();
    } finally {
      if (existsSync(lock) && lstatSync(lock).ino === lstatSync(mine).ino) rmSync(lock, { force: true });
    }
  } finally {
    rmSync(mine, { force: true });
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function requireTools(): Promise<void> {
  if (process.platform !== "linux") throw new ImageToolMissing("the image build needs Linux (buildah)");
  if (process.getuid?.() !== 0) throw new ImageToolMissing("the image build runs buildah as root; not root");
  for (const [tool, pkg] of [
    ["buildah", "buildah"],
    ["ldd", "libc-bin"],
  ]) {
    try {
      await exec(tool, ["--version"]);
    } catch {
      throw new ImageToolMissing(`${tool} is missing: install the Debian package ${pkg}`);
    }
  }
}

/** Builds the image archive, or reuses the cached one when its inputs are unchanged. */
export async function buildImage(
  opts: { force?: boolean; log?: (line: string) => void } = {},
): Promise<BuiltImage> {
  const log = opts.log ?? (() => {});
  await requireTools();
  return withFileLock(join(imageCacheDir, "build.lock"), async () => {
    const started = Date.now();
    const { ref, archive } = imageNames();
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
    const config = dockerfileConfig(dockerfile);
    const entries = await imageContents(root);
    const inputs = inputsHash(config, ref, entries);
    const recordPath = `${archive}.json`;
    const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
    if (!opts.force && existsSync(archive) && existsSync(recordPath)) {
      const record = JSON.parse(readFileSync(recordPath, "utf8")) as ArchiveRecord;
      if (
        record.inputs === inputs &&
        record.ref === ref &&
        statSync(archive).size === record.compressedBytes
      ) {
        log(`image: unchanged inputs, reusing ${archive}`);
        return {
          archive,
          ref,
          compressedBytes: record.compressedBytes,
          uncompressedBytes: record.uncompressedBytes,
          built: false,
          seconds: seconds(),
        };
      }
    }
    rmSync(recordPath, { force: true });
    const rootfs = join(imageCacheDir, "rootfs");
    log(`image: staging ${entries.length} files and directories in ${rootfs}`);
    log("image: filling the compile cache");
    const uncompressedBytes =
      stage(entries, rootfs) + (await fillCompileCache(rootfs, compileCacheUids(dockerfile)));
    const buildah = (...args: string[]): Promise<string> =>
      exec("buildah", [
        "--root",
        join(imageCacheDir, "storage"),
        "--runroot",
        join(imageCacheDir, "runroot"),
        "--storage-driver",
        "vfs",
        ...args,
      ]);
    await buildah("rm", "--all"); // leftovers of an interrupted build in this private storage
    const container = (await buildah("from", "--isolation", "chroot", "scratch")).trim();
    await buildah("copy", "--quiet", container, `${rootfs}/`, "/");
    const settings: [flag: string, value: string][] = [
      ["--os", "linux"],
      ["--arch", process.arch === "x64" ? "amd64" : process.arch],
      ["--user", config.user],
      ["--workingdir", config.workdir],
      ["--entrypoint", JSON.stringify(config.entrypoint)],
      ["--cmd", ""], // the container's args are the server's flags
      ["--created-by", "npm run image (scripts/image.ts)"],
      ...config.env.map((e): [string, string] => ["--env", e]),
      ...Object.entries(config.labels).map(([k, v]): [string, string] => ["--label", `${k}=${v}`]),
    ];
    await buildah("config", ...settings.flat(), container);
    const partial = `${archive}.partial`;
    rmSync(partial, { force: true });
    log("image: committing (compressing the layer)");
    // Epoch timestamps and no builder label: the same inputs give the same image digest.
    await buildah(
      "commit",
      "--rm",
      "--quiet",
      "--format=oci",
      "--timestamp=0",
      "--identity-label=false",
      "--disable-compression=false",
      container,
      `oci-archive:${partial}:${ref}`,
    );
    renameSync(partial, archive);
    rmSync(rootfs, { recursive: true, force: true });
    const compressedBytes = statSync(archive).size;
    const record: ArchiveRecord = { inputs, ref, compressedBytes, uncompressedBytes };
    writeFileSync(recordPath, `${JSON.stringify(record, null, 2)}\n`);
    return { archive, ref, compressedBytes, uncompressedBytes, built: true, seconds: seconds() };
  });
}

const MiB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

const USAGE = `Usage: npm run image [-- --force]

Builds the container image ${"registry.example.com/metrics-server-ts:v<version>"} with buildah (as
root) into .cache/image/metrics-server-ts-<version>.oci.tar, and prints its path and sizes.
  --force   build even when the cached archive has the same inputs
  --help    this text`;

async function main(): Promise<void> {
  let flags: { force?: boolean; help?: boolean };
  try {
    flags = parseFlags(process.argv.slice(2), { force: { type: "boolean" }, help: { type: "boolean" } });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`image: ${err.message}\n${USAGE}\n`);
    process.exit(1);
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const image = await buildImage({ force: flags.force, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(
    `${image.archive}\n` +
      `  ref ${image.ref}\n` +
      `  compressed ${MiB(image.compressedBytes)}, uncompressed ${MiB(image.uncompressedBytes)}\n` +
      `  ${image.built ? "built" : "cached"} in ${image.seconds} s\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`image: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
