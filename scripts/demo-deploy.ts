// `npm start -- --deploy`: the steps that differ from the plain demo. Instead of starting the
// metrics-server itself, the demo installs what we ship, as a cluster admin would: the image (built
// with `npm run image`, loaded into the simulator like `kind load`), then `kubectl apply -k
// deploy/overlays/test`, and waits until the Deployment is Available.
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { buildImage } from "./image.ts";
import { ROOT } from "./image-ref.ts";

/** The overlay the simulator runs: the test component (node selector, -v=2, imagePullPolicy Never). */
export const TEST_OVERLAY = "deploy/overlays/test";

/** Where the Google Cloud SDK installs its versioned kubectl binaries (kubectl.1.NN). */
const CLOUD_SDK_BIN = "/usr/lib/google-cloud-sdk/bin";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * The kubectl to run: `--kubectl`, else $KUBECTL, else `kubectl` on PATH, else the newest versioned
 * kubectl of the Google Cloud SDK.
 */
export function findKubectl(explicit?: string): string {
  if (explicit !== undefined) {
    if (!executable(explicit)) throw new Error(`--kubectl ${explicit}: not an executable file`);
    return explicit;
  }
  if (process.env.KUBECTL && executable(process.env.KUBECTL)) return process.env.KUBECTL;
  const found = onPath("kubectl");
  if (found) return found;
  const versioned = existsSync(CLOUD_SDK_BIN)
    ? readdirSync(CLOUD_SDK_BIN)
        .map((f) => /^kubectl\.1\.(\d+)$/.exec(f))
        .filter((m) => m !== null)
        .sort((a, b) => Number(b[1]) - Number(a[1]))
    : [];
  if (versioned.length > 0) return join(CLOUD_SDK_BIN, versioned[0][0]);
  throw new Error("no kubectl found: pass --kubectl PATH (kubectl 1.27 or newer)");
}

/**
 * Why this machine cannot build and run the image (buildah and umoci build it, the simulator's
 * runtime needs root), or undefined when it can.
 */
export function imageUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return "the simulator runs images only as root";
  for (const tool of ["buildah", "umoci"]) {
    if (!onPath(tool)) return `${tool} is not installed (Debian package ${tool})`;
  }
  return undefined;
}

/** Runs a command, echoing its lines with a `[name]` prefix; resolves with its stdout. */
export function runEchoed(name: string, command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  createInterface({ input: child.stdout }).on("line", (line) => {
    stdout += `${line}\n`;
    process.stdout.write(`[${name}] ${line}\n`);
  });
  createInterface({ input: child.stderr }).on("line", (line) => process.stderr.write(`[${name}] ${line}\n`));
  return new Promise((resolveRun, reject) => {
    child.on("error", (err) => reject(new Error(`${name}: ${err.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolveRun(stdout);
      else reject(new Error(`${name} ${args.join(" ")} failed (code ${code}, signal ${signal})`));
    });
  });
}

/**
 * The simulator's flags that give it the image: the archive (`--image ref=archive`), or, where
 * images cannot run, the host fallback that runs bin/metrics-server for the image's pods.
 */
export async function imageFlags(ref: string): Promise<{ flags: string[]; note: string }> {
  const why = imageUnsupported();
  if (why !== undefined) {
    return {
      flags: ["--image-command", `${ref}=${join(ROOT, "bin/metrics-server")}`],
      note: `${why}: the pods of ${ref} run bin/metrics-server on the host instead of the image`,
    };
  }
  const { archive } = await buildImage({ log: (line) => process.stdout.write(`${line}\n`) });
  return { flags: ["--image", `${ref}=${archive}`], note: `the pods run ${ref} from ${archive}` };
}

/** `kubectl apply -k` the test overlay, then wait for the Deployment to be Available. */
export async function applyAndWait(kubectl: string, kubeconfig: string, cacheDir: string): Promise<void> {
  const base = ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir];
  await runEchoed("kubectl", kubectl, [...base, "apply", "-k", join(ROOT, TEST_OVERLAY)]);
  await runEchoed("kubectl", kubectl, [
    ...base,
    "wait",
    "--namespace=kube-system",
    "--for=condition=Available",
    "--timeout=180s",
    "deployment/metrics-server",
  ]);
}
