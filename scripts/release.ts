// `npm run release -- <version> [--dry-run] [--registry HOST/PATH]`: cuts a release of the commit
// that is checked out (docs/release.md).
//
// It releases exactly what CI tested, so it changes no file: the version must already be the one in
// package.json, in charts/metrics-server/Chart.yaml (appVersion) and in every image tag under deploy/,
// set by an ordinary reviewed commit whose CI run is green. Then it renders dist/components.yaml and
// dist/high-availability.yaml, builds the image, packages the chart into dist/, and creates the
// annotated tag v<version>. It does not run the tests (that is CI's job on the same commit) and does
// not push anything. --dry-run makes every check and prints the steps without running them.
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { parseFlags, UsageError } from "./flags.ts";
import { helmBinary } from "./helm.ts";
import { IMAGE_NAME, PLACEHOLDER_REGISTRY, ROOT } from "./image-ref.ts";

const USAGE = `Usage: npm run release -- <version> [options]

Tags the checked-out commit of main as v<version> and builds the release files into dist/.

Options:
  --dry-run            check everything, print the steps, run none of them
  --registry REPO      the registry part of the image reference in dist/*.yaml
                       (default ${PLACEHOLDER_REGISTRY}, the placeholder users replace)
  --repo DIR           the repository to release (default: this one)
  -h, --help           this help
`;

/** SemVer 2.0.0 (semver.org's grammar), without a leading "v". */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** A precondition that does not hold; the message says what to do. */
export class ReleaseError extends Error {}

export interface ReleaseArgs {
  version: string;
  dryRun: boolean;
  registry: string;
  repo: string;
}

const FLAGS = {
  "dry-run": { type: "boolean" },
  registry: { type: "string" },
  repo: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function parseReleaseArgs(argv: readonly string[]): ReleaseArgs | "help" {
  // The version is the one argument that is neither a flag nor a flag's value.
  const flagArgs: string[] = [];
  const versions: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("-")) versions.push(a);
    else {
      flagArgs.push(a);
      if ((a === "--registry" || a === "--repo") && i + 1 < argv.length) flagArgs.push(argv[++i]);
    }
  }
  const flags = parseFlags(flagArgs, FLAGS);
  if (flags.help) return "help";
  if (versions.length !== 1) throw new UsageError("want exactly one version, e.g. 0.2.0");
  const version = versions[0].replace(/^v/, "");
  if (!SEMVER.test(version)) {
    throw new UsageError(
      `invalid version ${JSON.stringify(versions[0])}: want SemVer MAJOR.MINOR.PATCH, e.g. 0.2.0`,
    );
  }
  const registry = flags.registry ?? PLACEHOLDER_REGISTRY;
  if (!/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(registry)) {
    throw new UsageError(`invalid --registry ${JSON.stringify(registry)}: want HOST[:PORT][/PATH]`);
  }
  return { version, dryRun: flags["dry-run"] ?? false, registry, repo: resolve(flags.repo ?? ROOT) };
}

function git(repo: string, args: string[]): Promise<string> {
  return new Promise((resolveGit, reject) => {
    execFile("git", ["-C", repo, ...args], (err, stdout, stderr) => {
      if (err) reject(new ReleaseError(`git ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolveGit(String(stdout));
    });
  });
}

/** The YAML files under deploy/, recursively. */
function deployFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Every place that names the version, with what it says: package.json's version, the chart's
 * appVersion, and each image tag of ours under deploy/ (an image reference, or a kustomize
 * `images:` entry for our image).
 */
export function versionSites(repo: string): { file: string; what: string; version: string }[] {
  const sites: { file: string; what: string; version: string }[] = [];
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version?: string };
  sites.push({ file: "package.json", what: "version", version: String(pkg.version) });
  const chartFile = join(repo, "charts/metrics-server/Chart.yaml");
  if (existsSync(chartFile)) {
    const chart = parseYaml(readFileSync(chartFile, "utf8")) as { appVersion?: unknown };
    sites.push({ file: relative(repo, chartFile), what: "appVersion", version: String(chart.appVersion) });
  }
  const refPattern = new RegExp(`/${IMAGE_NAME}:v([^\\s"']+)`, "g");
  for (const file of deployFiles(join(repo, "deploy"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(refPattern)) {
      sites.push({ file: relative(repo, file), what: "image tag", version: m[1] });
    }
    // kustomize's images transformer: `- name: …/metrics-server-ts` … `newTag: v0.1.0`
    const doc = text.includes("newTag") ? (parseYaml(text) as { images?: unknown }) : undefined;
    for (const image of Array.isArray(doc?.images) ? doc.images : []) {
      const { name, newTag } = image as { name?: string; newTag?: string };
      if (name?.endsWith(`/${IMAGE_NAME}`) && typeof newTag === "string") {
        sites.push({ file: relative(repo, file), what: "images newTag", version: newTag.replace(/^v/, "") });
      }
    }
  }
  return sites;
}

/** The checks; throws ReleaseError with every problem found. Returns the commit to tag. */
export async function checkRelease(args: ReleaseArgs): Promise<string> {
  const problems: string[] = [];
  const branch = (await git(args.repo, ["rev-parse", "--abbrev-ref", "HEAD"])).trim();
  if (branch !== "main") problems.push(`on branch ${JSON.stringify(branch)}: releases are cut from main`);
  const status = (await git(args.repo, ["status", "--porcelain", "--untracked-files=normal"])).trim();
  if (status !== "") {
    problems.push(`the working tree is not clean (commit or stash first):\n${status.replace(/^/gm, "    ")}`);
  }
  const tag = `v${args.version}`;
  const existing = (await git(args.repo, ["tag", "--list", tag])).trim();
  if (existing !== "") problems.push(`tag ${tag} exists already`);
  const sites = versionSites(args.repo);
  if (!sites.some((s) => s.file.startsWith("charts/"))) {
    problems.push("charts/metrics-server/Chart.yaml is missing");
  }
  if (!sites.some((s) => s.file.startsWith("deploy/"))) {
    problems.push(`no ${IMAGE_NAME} image tag found under deploy/`);
  }
  for (const s of sites) {
    if (s.version !== args.version) {
      problems.push(`${s.file}: ${s.what} is ${s.version}, not ${args.version}`);
    }
  }
  if (sites.some((s) => s.version !== args.version)) {
    problems.push(
      `set version ${args.version} everywhere above in one commit, let CI pass on it, then run this again`,
    );
  }
  if (problems.length > 0) throw new ReleaseError(problems.map((p) => `  - ${p}`).join("\n"));
  return (await git(args.repo, ["rev-parse", "HEAD"])).trim();
}

interface Step {
  what: string;
  command: string[];
}

/** The steps after the checks, in order. */
export function releaseSteps(args: ReleaseArgs, helm: string): Step[] {
  const image = `${args.registry}/${IMAGE_NAME}:v${args.version}`;
  return [
    {
      what: "render dist/components.yaml and dist/high-availability.yaml",
      command: ["npm", "run", "manifests", "--", "--out", "dist/", "--image", image],
    },
    { what: "build the image (OCI archive under .cache/image/)", command: ["npm", "run", "image"] },
    {
      what: "package the chart into dist/",
      command: [helm, "package", "charts/metrics-server", "--destination", "dist/"],
    },
    {
      what: `tag the commit`,
      command: ["git", "tag", "-a", `v${args.version}`, "-m", `metrics-server-ts v${args.version}`],
    },
  ];
}

function runStep(repo: string, step: Step): Promise<void> {
  process.stdout.write(`release: ${step.what}: ${step.command.join(" ")}\n`);
  const child = spawn(step.command[0], step.command.slice(1), { cwd: repo, stdio: "inherit" });
  return new Promise((resolveStep, reject) => {
    child.on("error", (err) => reject(new ReleaseError(`${step.command[0]}: ${err.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolveStep();
      else reject(new ReleaseError(`${step.what} failed (exit ${code}): ${step.command.join(" ")}`));
    });
  });
}

async function main(): Promise<void> {
  let args: ReleaseArgs | "help";
  try {
    args = parseReleaseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`release: ${err.message}\n\n${USAGE}`);
    process.exit(1);
  }
  if (args === "help") {
    process.stdout.write(USAGE);
    return;
  }
  const commit = await checkRelease(args);
  process.stdout.write(
    `release: v${args.version} from ${commit.slice(0, 12)} on main; the checks passed.\n` +
      `release: CI must be green on ${commit.slice(0, 12)}: this script does not run the tests.\n`,
  );
  const steps = releaseSteps(args, args.dryRun ? "helm" : await helmBinary());
  if (args.dryRun) {
    process.stdout.write(`release: --dry-run: would run, in ${args.repo}:\n`);
    for (const step of steps) process.stdout.write(`  ${step.command.join(" ")}    # ${step.what}\n`);
    return;
  }
  for (const step of steps) await runStep(args.repo, step);
  process.stdout.write(`
release: v${args.version} is tagged and built. Next (docs/release.md):
  git push origin v${args.version}
  push the image from the archive under .cache/image/ to ${args.registry}/${IMAGE_NAME}:v${args.version}
  attach dist/components.yaml, dist/high-availability.yaml and the chart package to the release
`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(
      err instanceof ReleaseError
        ? `release: cannot release:\n${err.message}\n`
        : `release: ${(err as Error).message}\n`,
    );
    process.exit(1);
  });
}
