// What goes into the container image (scripts/image.ts builds it): the config of the Dockerfile's
// final stage, and the files: the Node 24 binary of node@24, the shared libraries it links (the
// dynamic loader included), the app's sources without tests, the production packages by
// package-lock.json, a passwd/group naming nobody, /tmp and the service account's mount point.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";

/** What the image runs as and with, from the Dockerfile's final stage. */
export interface ImageConfig {
  user: string;
  workdir: string;
  /** KEY=value, in order. */
  env: string[];
  entrypoint: string[];
  labels: Record<string, string>;
}

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
export interface Entry {
  path: string;
  mode: number;
  source?: string;
  text?: string;
}

export async function exec(cmd: string, args: string[]): Promise<string> {
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

/** Everything that goes into the root filesystem, from the repository at `root` (after `npm ci`). */
export async function imageContents(root: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  const bundled = join(root, "node_modules", "node", "bin", "node");
  if (!existsSync(bundled)) throw new Error(`${bundled} is missing: run 'npm ci' first`);
  const node = realpathSync(bundled);
  entries.push({ path: "/usr/local/bin/node", mode: 0o755, source: node });
  for (const lib of await linkedLibraries(node)) {
    const source = realpathSync(lib);
    entries.push({ path: lib, mode: statSync(source).mode & 0o755, source });
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
