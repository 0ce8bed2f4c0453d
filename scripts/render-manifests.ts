// `npm run manifests -- --out dist/ [--image <ref>]`: the release files from deploy/, as upstream
// publishes them: components.yaml (overlays/release) and high-availability.yaml (overlays/release-ha).
// Rendered with kubectl's built-in kustomize. The output is generated, never committed.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseFlags, UsageError } from "./flags.ts";

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const deployDir = join(repoRoot, "deploy");

/** kubectl 1.33 from the Google Cloud SDK (its kustomize is v5); KUBECTL overrides. */
export const KUBECTL = process.env.KUBECTL ?? "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/** The image every manifest names; a release replaces the registry placeholder. */
export const IMAGE_NAME = "registry.example.com/metrics-server-ts";

/** The release files and the overlay each comes from. */
export const RELEASE_FILES = {
  "components.yaml": "release",
  "high-availability.yaml": "release-ha",
} as const;

export interface KustomizeInput {
  /** Directories (absolute) to build from: an overlay, or deploy/base. */
  resources: string[];
  /** Component directories (absolute) to add, e.g. deploy/components/autoscale. */
  components?: string[];
  /** Replace the image (name[:tag] or name@digest). */
  image?: string;
}

/**
 * Builds a kustomization made of `input` in a temporary directory (kustomize wants relative paths)
 * and returns the rendered multi-document YAML.
 */
export async function kustomize(input: KustomizeInput): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "kustomize-"));
  try {
    const rel = (p: string): string => relative(dir, p);
    const lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"];
    for (const r of input.resources) lines.push(`  - ${JSON.stringify(rel(r))}`);
    if (input.components?.length) {
      lines.push("components:");
      for (const c of input.components) lines.push(`  - ${JSON.stringify(rel(c))}`);
    }
    if (input.image !== undefined) lines.push("images:", ...imageEntry(input.image));
    writeFileSync(join(dir, "kustomization.yaml"), `${lines.join("\n")}\n`);
    const { stdout } = await run(KUBECTL, ["kustomize", dir], { maxBuffer: 64 << 20 }).catch(
      (err: Error & { stderr?: string }) => {
        throw new Error(`kubectl kustomize failed: ${(err.stderr ?? err.message).trim()}`);
      },
    );
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An `images:` entry replacing IMAGE_NAME with `ref`; a ref without a tag or digest is refused. */
export function imageEntry(ref: string): string[] {
  const digest = /^([^@\s]+)@(sha256:[0-9a-f]{64})$/.exec(ref);
  const tagged = /^((?:[^/:\s]+(?::\d+)?\/)?[^:@\s]+):([\w][\w.-]{0,127})$/.exec(ref);
  if (digest) return [`  - name: ${IMAGE_NAME}`, `    newName: ${digest[1]}`, `    digest: ${digest[2]}`];
  if (tagged) return [`  - name: ${IMAGE_NAME}`, `    newName: ${tagged[1]}`, `    newTag: ${tagged[2]}`];
  throw new UsageError(`--image ${JSON.stringify(ref)}: want <name>:<tag> or <name>@sha256:<digest>`);
}

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, {
    out: { type: "string" },
    image: { type: "string" },
    help: { type: "boolean" },
  });
  if (flags.help) {
    console.log("Usage: npm run manifests -- --out <dir> [--image <name>:<tag>|<name>@sha256:<digest>]");
    return;
  }
  if (!flags.out) throw new UsageError("--out <dir> is required");
  if (!existsSync(KUBECTL)) throw new Error(`${KUBECTL} not found: set KUBECTL to a kubectl 1.27 or newer`);
  const out = resolve(flags.out);
  mkdirSync(out, { recursive: true });
  for (const [file, overlay] of Object.entries(RELEASE_FILES)) {
    const yaml = await kustomize({ resources: [join(deployDir, "overlays", overlay)], image: flags.image });
    writeFileSync(join(out, file), yaml);
    console.log(`${join(out, file)} (${Buffer.byteLength(yaml)} bytes)`);
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(`Error: ${err.message}`);
    process.exitCode = 1;
  });
}
