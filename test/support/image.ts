// The container image for tests that need it (test/ship/, the simulator's runtime tests): built by
// scripts/image.ts once per content hash (its lock makes concurrent test files wait for one build,
// and an archive with the same inputs is reused), or skipped where buildah or root is missing,
// except under CI=true, where that is a failure.
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";
import { buildImage, ImageToolMissing } from "../../scripts/image.ts";

export interface TestImage {
  /** The OCI archive (oci-archive: transport), as `--image <ref>=<archive>` and `podman load` take it. */
  archive: string;
  /** The reference the archive carries (org.opencontainers.image.ref.name). */
  ref: string;
}

let pending: Promise<TestImage> | undefined;

/** The image, or undefined after skipping `t` with a message naming what is missing. */
export async function ensureImage(t: TestContext): Promise<TestImage | undefined> {
  pending ??= buildImage({ log: (line) => process.stderr.write(`${line}\n`) }).then(({ archive, ref }) => ({
    archive,
    ref,
  }));
  try {
    return await pending;
  } catch (err) {
    pending = undefined;
    if (!(err instanceof ImageToolMissing) || process.env.CI === "true") throw err;
    t.skip(err.message);
    return undefined;
  }
}

/** Whether `tool` is on PATH; if not, skips `t` (fails under CI=true) naming its Debian package. */
export function requireTool(t: TestContext, tool: string, debianPackage: string): boolean {
  if (spawnSync("sh", ["-c", 'command -v "$0"', tool]).status === 0) return true;
  const message = `${tool} is missing: install the Debian package ${debianPackage}`;
  if (process.env.CI === "true") throw new Error(message);
  t.skip(message);
  return false;
}
