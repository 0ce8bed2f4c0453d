// `npm run image`: builds the container image without a Docker engine, with buildah (Debian package
// buildah, as root), into an OCI archive under .cache/image/, the way `kind load` and `podman load`
// take it. The image is `FROM scratch` plus exactly what the server runs on: the Node 24 binary of
// the npm package node@24, the shared libraries it links (with the dynamic loader), the app (its
// sources without tests, its production packages) and a passwd/group naming nobody (65534).
// USER, WORKDIR, ENV, ENTRYPOINT and LABEL come from the Dockerfile's final stage, their one home.
// A build whose inputs (files, config, this script) hash the same as the archive's is skipped; a
// lock file lets concurrent builds (two test files, a user) wait for each other. docs/image.md.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags, UsageError } from "./flags.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const imageCacheDir = join(root, ".cache", "image");

/** What the image runs as and with, from the Dockerfile's final stage. */
export interface ImageConfig {
  user: string;
  workdir: string;
  /** KEY=value, in order. */
  env: string[];
  entrypoint: string[];
  labels: Record<string, string>;
}

/** A needed tool is missing or the build cannot run here (not root): tests skip on it outside CI. */
export class ImageToolMissing extends Error {}

/**
 * The config instructions of a Dockerfile's last stage. Only the forms this project writes are
 * accepted (ENV/LABEL as key=value pairs, ENTRYPOINT as a JSON array); anything else is an error
 * naming the line, rather than a silently different image.
 */
export function dockerfileConfig(text: string): ImageConfig {
  const lines = text.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  let config: Partial<ImageConfig> | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile: cannot read line: ${line}`);
    const instruction = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (instruction === "FROM") {
      config = { env: [], labels: {} };
      continue;
    }
    if (config === undefined) continue; // ARG before the first FROM
    if (instruction === "USER") config.user = args;
    else if (instruction === "WORKDIR") config.workdir = args;
    else if (instruction === "ENV") config.env!.push(...keyValues(args, line).map(([k, v]) => `${k}=${v}`));
    else if (instruction === "LABEL") for (const [k, v] of keyValues(args, line)) config.labels![k] = v;
    else if (instruction === "ENTRYPOINT") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(args);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
        throw new Error(`Dockerfile: ENTRYPOINT must be a JSON array of strings (exec form): ${line}`);
      }
      config.entrypoint = parsed;
    }
  }
  if (config === undefined) throw new Error("Dockerfile: no FROM");
  for (const key of ["user", "workdir", "entrypoint"] as const) {
    if (config[key] === undefined) throw new Error(`Dockerfile: the final stage has no ${key.toUpperCase()}`);
  }
  return config as ImageConfig;
}

/** `a=1 b="two words"` as pairs; a value in double quotes may hold spaces and \" escapes. */
function keyValues(args: string, line: string): [string, string][] {
  const pairs: [string, string][] = [];
  const re = /\s*([^\s=]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)\s*/y;
  while (re.lastIndex < args.length) {
    const m = re.exec(args);
    if (!m) throw new Error(`Dockerfile: expected key=value pairs: ${line}`);
    const v = m[2]!;
    pairs.push([m[1]!, v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v]);
  }
  return pairs;
}

/** One thing in the image's root filesystem: a copy of a host file, a text, or a directory. */
interface Entry {
  path: string;
  mode: number;
  source?: string;
  text?: string;
}

/** The image reference and archive path for package.json's version. */
export function imageNames(): { version: string; ref: string; archive: string } {
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string })
    .version;
  return {
    version,
    ref: `registry.example.com/metrics-server-ts:v${version}`,
    archive: join(imageCacheDir, `metrics-server-ts-${version}.oci.tar`),
  };
}

async function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolveExec, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${String(stderr).trim() || err.message}`));
      else resolveExec(String(stdout));
    });
  });
}

/** The libraries an ELF file links, as ldd resolves them here, the dynamic loader included. */
async function linkedLibraries(binary: string): Promise<string[]> {
  const out = await exec("ldd", [binary]);
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m) libs.push(m[1]!);
    else if (line.includes("not found")) throw new Error(`ldd ${binary}: ${line.trim()}`);
  }
  if (libs.length === 0) throw new Error(`ldd ${binary}: no libraries found in:\n${out}`);
  return libs;
}

/** Files of the app's sources that are shipped: no tests, test fixtures or test-only helpers. */
function isShippedSource(rel: string): boolean {
  const parts = rel.split("/");
  const name = parts.at(-1)!;
  return !parts.includes("testdata") && !name.endsWith(".test.ts") && !/(^|-)testing\.ts$/.test(name);
}

/** Files a package needs at run time: not its type declarations, sources for them, source maps, docs. */
function isRuntimePackageFile(rel: string): boolean {
  return !/\.(ts|mts|cts|map|md)$/.test(rel) && !rel.split("/").includes("node_modules");
}

function walk(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const r = rel === "" ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else if (e.isFile() || e.isSymbolicLink()) out.push(r);
  }
  return out;
}

interface LockPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  dev?: boolean;
}

/**
 * The installed folders (node_modules/…) of the production dependencies, by package-lock.json:
 * everything reachable from package.json's dependencies, resolved as Node resolves them (nearest
 * node_modules first), except node@24, whose binary is /usr/local/bin/node.
 */
export function productionPackages(lockText: string): string[] {
  const packages = (JSON.parse(lockText) as { packages: Record<string, LockPackage> }).packages;
  const top = packages[""];
  if (!top) throw new Error("package-lock.json: no root package");
  const found = new Set<string>();
  const visit = (from: string, deps: Record<string, string> | undefined, optional: boolean): void => {
    for (const name of Object.keys(deps ?? {})) {
      if (from === "" && name === "node") continue;
      let dir = from;
      let key: string | undefined;
      for (;;) {
        const candidate = `${dir === "" ? "" : `${dir}/`}node_modules/${name}`;
        if (packages[candidate]) {
          key = candidate;
          break;
        }
        if (dir === "") break;
        const i = dir.lastIndexOf("/node_modules/");
        dir = i < 0 ? "" : dir.slice(0, i);
      }
      if (key === undefined) {
        if (optional) continue;
        throw new Error(
          `package-lock.json: ${from || "the project"} needs ${name}, which is not in the lock file`,
        );
      }
      if (found.has(key)) continue;
      found.add(key);
      const p = packages[key]!;
      visit(key, p.dependencies, false);
      visit(key, p.optionalDependencies, true);
      visit(key, p.peerDependencies, true);
    }
  };
  visit("", top.dependencies, false);
  return [...found].sort();
}

const PASSWD =
  "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n";
const GROUP = "root:x:0:\nnogroup:x:65534:\n";

/** Everything that goes into the root filesystem. */
async function plan(): Promise<Entry[]> {
  const entries: Entry[] = [];
  const bundled = join(root, "node_modules", "node", "bin", "node");
  if (!existsSync(bundled)) throw new Error(`${bundled} is missing: run 'npm ci' first`);
  const node = realpathSync(bundled);
  entries.push({ path: "/usr/local/bin/node", mode: 0o755, source: node });
  for (const lib of await linkedLibraries(node)) {
    const source = realpathSync(lib);
    entries.push({ path: lib, mode: statSync(source).mode & 0o777, source });
  }
  const app = (rel: string, source = join(root, rel)): void => {
    entries.push({ path: `/app/${rel}`, mode: statSync(source).mode & 0o755, source });
  };
  app("package.json");
  app("bin/metrics-server");
  for (const rel of walk(join(root, "src")).filter(isShippedSource)) app(`src/${rel}`);
  for (const pkg of productionPackages(readFileSync(join(root, "package-lock.json"), "utf8"))) {
    const dir = join(root, pkg);
    if (!existsSync(join(dir, "package.json"))) throw new Error(`${dir} is missing: run 'npm ci' first`);
    for (const rel of walk(dir).filter(isRuntimePackageFile))
      app(`${pkg}/${rel}`, realpathSync(join(dir, rel)));
  }
  entries.push({ path: "/etc/passwd", mode: 0o644, text: PASSWD });
  entries.push({ path: "/etc/group", mode: 0o644, text: GROUP });
  // /tmp: the only writable place (--cert-dir); the mount point the service account token lands on.
  entries.push({ path: "/tmp", mode: 0o1777 });
  entries.push({ path: "/var/run/secrets/kubernetes.io/serviceaccount", mode: 0o755 });
  return entries.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The hash of everything the archive is made from: config, each entry's path, mode and bytes, this script. */
function inputsHash(config: ImageConfig, ref: string, entries: readonly Entry[]): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ config, ref }));
  h.update(readFileSync(fileURLToPath(import.meta.url)));
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

interface Record_ {
  inputs: string;
  ref: string;
  compressedBytes: number;
  uncompressedBytes: number;
}

/** Takes the build lock (a file holding the owner's pid); waits while a live process holds it. */
async function withLock<T>(fn: () => Promise<T>, timeoutMs = 20 * 60_000): Promise<T> {
  mkdirs(imageCacheDir);
  const lock = join(imageCacheDir, "build.lock");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = Number(readFileSync(lock, "utf8").trim() || "0");
    if (!alive(owner)) {
      rmSync(lock, { force: true }); // its builder died: a new build starts over
      continue;
    }
    if (Date.now() > deadline) throw new Error(`image build lock ${lock} still held by pid ${owner}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
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
  return withLock(async () => {
    const started = Date.now();
    const { ref, archive } = imageNames();
    const config = dockerfileConfig(readFileSync(join(root, "Dockerfile"), "utf8"));
    const entries = await plan();
    const inputs = inputsHash(config, ref, entries);
    const recordPath = `${archive}.json`;
    const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
    if (!opts.force && existsSync(archive) && existsSync(recordPath)) {
      const record = JSON.parse(readFileSync(recordPath, "utf8")) as Record_;
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
    const uncompressedBytes = stage(entries, rootfs);
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
    await buildah(
      "config",
      "--os",
      "linux",
      "--arch",
      process.arch === "x64" ? "amd64" : process.arch,
      "--user",
      config.user,
      "--workingdir",
      config.workdir,
      "--entrypoint",
      JSON.stringify(config.entrypoint),
      "--cmd",
      "",
      "--created-by",
      "npm run image (scripts/image.ts)",
      ...config.env.flatMap((e) => ["--env", e]),
      ...Object.entries(config.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
      container,
    );
    const partial = `${archive}.partial`;
    rmSync(partial, { force: true });
    log("image: committing (compressing the layer)");
    // Epoch timestamps and no builder label: the same inputs give the same image digest.
    await buildah(
      "commit",
      "--rm",
      "--quiet",
      "--format",
      "oci",
      "--timestamp",
      "0",
      "--identity-label=false",
      "--disable-compression=false",
      container,
      `oci-archive:${partial}:${ref}`,
    );
    renameSync(partial, archive);
    rmSync(rootfs, { recursive: true, force: true });
    const compressedBytes = statSync(archive).size;
    const record: Record_ = { inputs, ref, compressedBytes, uncompressedBytes };
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
