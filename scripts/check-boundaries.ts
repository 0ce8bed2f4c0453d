// `node scripts/check-boundaries.ts`: the project's layout rules, checked on every static import and
// re-export of the .ts files under src/, sim/, test/, bench/ and scripts/. Prints one line per
// violation (file, import, rule) and exits 1 if there is any. The rules:
//   - no import cycle between files, type-only imports included;
//   - shipped code (src/, not *.test.ts) imports nothing from test/ or bench/ and no testing.ts or
//     *-testing.ts file;
//   - sim/ and src/ never import each other: they meet only on the wire;
//   - a folder's index.ts is its face: a file may import files in its own directory and in its
//     ancestor directories (within src/ or sim/); any other directory only through its index.ts.
//     Precisely: with L the deepest directory holding both files, an import of a file below L must
//     name the index.ts of the first directory on the way that has one, so src/api cannot reach
//     src/scraper/client/index.ts past src/scraper/index.ts, while src/cmd/ (no index.ts: a
//     namespace) leaves src/cmd/metrics-server/options/index.ts as the options' face. A unit test (*.test.ts) may also import anything below its own
//     directory. Files under test/, bench/ and scripts/ reach into src/ and sim/ only through
//     src/<dir>/index.ts or sim/<dir>/index.ts (the processes they spawn are paths, not imports).
import { type Dirent, readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The top-level folders whose .ts files are checked. */
export const AREAS = ["src", "sim", "test", "bench", "scripts"] as const;

export interface Violation {
  /** The importing file, relative to the repository root with `/` separators. */
  file: string;
  /** The import's module specifier as written. */
  specifier: string;
  /** What rule it breaks, with what to do instead where that helps. */
  rule: string;
}

/**
 * The module specifiers of a file's static imports and re-exports (`import type` included) and of
 * `import("…")` calls with a literal, in source order. TypeScript's scanner skips comments and strings.
 */
export function importSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, false).importedFiles.map((f) => f.fileName);
}

const isUnitTest = (file: string): boolean => file.endsWith(".test.ts");
const isTestingFile = (file: string): boolean => /(^|\/|-)testing\.ts$/.test(file);
const areaOf = (file: string): string => file.split("/")[0]!;
const walled = (area: string): boolean => area === "src" || area === "sim";

/** True when dir is `ancestor` or lies below it. */
function within(dir: string, ancestor: string): boolean {
  return dir === ancestor || dir.startsWith(`${ancestor}/`);
}

/** The deepest directory holding both. */
function commonDir(a: string, b: string): string {
  const as = a.split("/");
  const bs = b.split("/");
  let i = 0;
  while (i < as.length && i < bs.length && as[i] === bs[i]) i++;
  return as.slice(0, i).join("/");
}

/**
 * The index.ts an import from `file` to `target` (both in src/ or sim/) must name, or undefined when
 * the import is allowed as it is. The face is the index.ts of the first directory with one on the
 * way down from the deepest directory holding both: a directory without an index.ts (src/cmd/) is a
 * namespace, not a module, so its children are each their own module.
 */
function requiredFace(file: string, target: string, files: ReadonlyMap<string, string>): string | undefined {
  const targetDir = posix.dirname(target);
  const fromDir = areaOf(file) === areaOf(target) ? posix.dirname(file) : areaOf(target);
  if (areaOf(file) === areaOf(target)) {
    if (within(fromDir, targetDir)) return undefined; // own or ancestor directory
    if (isUnitTest(file) && within(targetDir, fromDir)) return undefined;
  }
  const base = commonDir(fromDir, targetDir);
  // An outsider's way into a file at the top of src/ or sim/ is that area's index.ts.
  if (targetDir === base) return target === `${base}/index.ts` ? undefined : `${base}/index.ts`;
  let dir = base;
  for (const part of targetDir.slice(base.length + 1).split("/")) {
    dir = `${dir}/${part}`;
    if (files.has(`${dir}/index.ts`)) return target === `${dir}/index.ts` ? undefined : `${dir}/index.ts`;
  }
  return `${targetDir}/index.ts`; // no face on the way: the target's folder needs one
}

/** Every violation in a set of files (path relative to the repository root → source text). */
export function checkBoundaries(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  const edges = new Map<string, { target: string; specifier: string }[]>();
  for (const [file, source] of files) {
    const out: { target: string; specifier: string }[] = [];
    edges.set(file, out);
    for (const specifier of importSpecifiers(source)) {
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue; // node: and packages
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      if (target.startsWith("../")) continue;
      if (files.has(target)) out.push({ target, specifier });
      const from = areaOf(file);
      const to = areaOf(target);
      const report = (rule: string): void => {
        violations.push({ file, specifier, rule });
      };
      if (from === "src" && !isUnitTest(file) && (to === "test" || to === "bench" || isTestingFile(target))) {
        report("shipped code (src/, not a *.test.ts) must not import test code");
      }
      if ((from === "sim" && to === "src") || (from === "src" && to === "sim")) {
        report("sim/ and src/ meet only on the wire, never by import");
        continue;
      }
      if (!walled(to)) continue;
      const face = requiredFace(file, target, files);
      if (face !== undefined) report(`reaches into ${posix.dirname(target)}/ past its face: import ${face}`);
    }
  }
  for (const cycle of importCycles(edges)) {
    const [first, second] = cycle;
    const specifier = edges.get(first!)!.find((e) => e.target === second)!.specifier;
    violations.push({ file: first!, specifier, rule: `import cycle: ${cycle.join(" → ")}` });
  }
  // The same import written twice (a type import and a value import) is one violation.
  const unique = new Map(violations.map((v) => [formatViolation(v), v]));
  return [...unique.values()].sort(
    (a, b) => compare(a.file, b.file) || compare(a.specifier, b.specifier) || compare(a.rule, b.rule),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * One cycle per strongly connected component of the import graph (Tarjan's algorithm), each the
 * shortest way from the component's first file (by name) back to itself, that file repeated at the end.
 */
function importCycles(edges: ReadonlyMap<string, { target: string }[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const { target: w } of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...edges.keys()].sort(compare)) if (!index.has(v)) visit(v);

  const cycles: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = component.sort(compare)[0]!;
    if (members.size === 1 && !(edges.get(start) ?? []).some((e) => e.target === start)) continue;
    // Breadth-first from start, within the component, until an edge leads back to start.
    const previous = new Map<string, string>();
    const queue = [start];
    let last: string | undefined;
    for (let i = 0; i < queue.length && last === undefined; i++) {
      const v = queue[i]!;
      for (const { target: w } of edges.get(v) ?? []) {
        if (w === start) {
          last = v;
          break;
        }
        if (members.has(w) && !previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = last!; v !== start; v = previous.get(v)!) path.splice(1, 0, v);
    cycles.push([...path, start]);
  }
  return cycles;
}

export function formatViolation(v: Violation): string {
  return `${v.file}: import ${JSON.stringify(v.specifier)}: ${v.rule}`;
}

/** The .ts files of the checked areas under root, keyed by their path relative to root. */
export function readTree(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // an area this checkout does not have
    }
    for (const e of entries) {
      if (e.name === "node_modules" || e.name.startsWith(".")) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile() && e.name.endsWith(".ts")) {
        files.set(relative(root, path).split("\\").join("/"), readFileSync(path, "utf8"));
      }
    }
  };
  for (const area of AREAS) walk(join(root, area));
  return files;
}

if (import.meta.main) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const files = readTree(root);
  const violations = checkBoundaries(files);
  for (const v of violations) process.stdout.write(`${formatViolation(v)}\n`);
  if (violations.length > 0) {
    process.stderr.write(`check-boundaries: ${violations.length} violation(s) in ${files.size} files\n`);
    process.exit(1);
  }
}
