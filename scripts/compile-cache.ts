// Fills Node's compile cache with the server's sources with their types stripped, as the image ships
// it (docs/image.md): a server that finds every source there never loads Node's TypeScript stripper,
// ~25 MiB of RSS for the life of the process.
//
//   node scripts/compile-cache.ts <app dir> <cache dir> <uid>...
//
// A child process imports every module under <app>/src with NODE_COMPILE_CACHE set, then main.ts
// with --version (so it only prints the version); a module that throws when run as a script (the
// scrape thread's entry refuses the main thread) has been compiled by then. Node writes two kinds of
// entries: the stripped sources, which are the same bytes on every build, and V8 code caches, which
// are not; only the first are kept, so the same inputs still give the same image, and the second
// are cheap to do without. Node keeps one cache directory per user id, so the result is copied for
// each uid the image may run as (the image's USER, the manifests' runAsUser).
import { spawnSync } from "node:child_process";
import { closeSync, cpSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { flushCompileCache } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const IMPORT_ALL = "--import-all";

/** The shipped sources under <app>/src (not tests or testing helpers), main.ts last. */
function shippedSources(app: string): string[] {
  const main = join(app, "src", "cmd", "metrics-server", "main.ts");
  const sources = readdirSync(join(app, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !/(^|\/|-)testing\.ts$/.test(f))
    .map((f) => join(app, "src", f))
    .filter((f) => f !== main)
    .sort();
  return [...sources, main];
}

async function importAll(app: string): Promise<void> {
  const sources = shippedSources(app);
  const main = sources.pop()!;
  for (const file of sources) {
    try {
      await import(pathToFileURL(file).href);
    } catch {
      // compiled already; see above
    }
  }
  // Written now, and again as main.ts's --version exits: not left to the exit path alone, which
  // lost entries when the machine was busy.
  flushCompileCache();
  const exit = process.exit;
  process.exit = ((code?: number) => {
    flushCompileCache();
    return exit(code);
  }) as typeof process.exit;
  process.argv = [process.argv[0]!, main, "--version"];
  await import(pathToFileURL(main).href);
}

function fill(app: string, cacheDir: string, uids: readonly string[]): number {
  const scratch = mkdtempSync(join(cacheDir, ".fill-"));
  try {
    // Node's debug lines go straight to fd 2 from native code: into a pipe that is full they are
    // dropped (a busy machine lost most of them), into a file never.
    const logPath = join(scratch, "debug.log");
    const logFd = openSync(logPath, "w");
    let child: ReturnType<typeof spawnSync>;
    try {
      // Pipes, not "ignore": in the image's chroot there is no /dev/null to open.
      child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), IMPORT_ALL, app], {
        env: { ...process.env, NODE_COMPILE_CACHE: scratch, NODE_DEBUG_NATIVE: "COMPILE_CACHE" },
        stdio: ["pipe", "pipe", logFd],
      });
    } finally {
      closeSync(logFd);
    }
    const log = readFileSync(logPath, "utf8");
    rmSync(logPath);
    if (child.status !== 0) {
      throw new Error(
        `filling the compile cache failed: ${child.error ?? `exit ${child.status}`}\n${log.slice(-2000)}`,
      );
    }
    // "[compile cache] writing cache for StrippedTypeScript file:///… to temporary file <dir>/<entry>.<tmp> …"
    const stripped = new Set<string>();
    for (const m of log.matchAll(/writing cache for StrippedTypeScript \S+ to temporary file (\S+)/g)) {
      const path = m[1]!;
      stripped.add(path.slice(path.lastIndexOf("/") + 1, path.lastIndexOf(".")));
    }
    const [versionDir, ...others] = readdirSync(scratch);
    // One entry per shipped source (and one for this script): a missing one would load the stripper.
    const expected = shippedSources(app).length;
    if (stripped.size < expected) {
      throw new Error(`the compile cache holds ${stripped.size} stripped sources, want ${expected}`);
    }
    if (versionDir === undefined || others.length > 0) {
      throw new Error(`unexpected compile cache layout in ${scratch}: ${[versionDir, ...others].join(", ")}`);
    }
    for (const entry of readdirSync(join(scratch, versionDir))) {
      if (!stripped.has(entry)) rmSync(join(scratch, versionDir, entry));
    }
    // "<node version>-<arch>-<hash>-<uid>": the same entries serve each user under its own name.
    const prefix = versionDir.slice(0, versionDir.lastIndexOf("-"));
    for (const uid of uids)
      cpSync(join(scratch, versionDir), join(cacheDir, `${prefix}-${uid}`), { recursive: true });
    return stripped.size;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const [first, ...rest] = process.argv.slice(2);
if (first === IMPORT_ALL && rest.length === 1) {
  await importAll(rest[0]!);
} else if (first !== undefined && rest.length >= 2 && rest.slice(1).every((u) => /^\d+$/.test(u))) {
  const entries = fill(first, rest[0]!, rest.slice(1));
  process.stdout.write(
    `compile cache: ${entries} stripped sources in ${rest[0]} for uid ${rest.slice(1).join(", ")}\n`,
  );
} else {
  process.stderr.write("usage: node scripts/compile-cache.ts <app dir> <cache dir> <uid>...\n");
  process.exit(2);
}
