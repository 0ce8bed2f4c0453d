// The real kubectl (1.27 and 1.33 from the Google Cloud SDK), run with a temporary --cache-dir so
// parallel tests never share discovery caches.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { tempDir } from "./paths.ts";
import { run } from "./processes.ts";

export const KUBECTL_DIR = "/usr/lib/google-cloud-sdk/bin";

/**
 * The path of kubectl 1.NN, or undefined with a skip message. Under CI=true a missing kubectl is a
 * failure, not a skip: CI must exercise the real client.
 */
export function kubectlPath(t: TestContext, minor: number): string | undefined {
  const path = join(KUBECTL_DIR, `kubectl.1.${minor}`);
  if (existsSync(path)) return path;
  if (process.env.CI === "true") throw new Error(`${path} is missing on the CI machine`);
  t.skip(`${path} not found (kubectl 1.${minor} from the Google Cloud SDK)`);
  return undefined;
}

export function kubectl(
  t: TestContext,
  path: string,
  kubeconfig: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cacheDir = tempDir(t, "kubectl-cache-");
  return run(path, ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, "--request-timeout=30s", ...args]);
}
