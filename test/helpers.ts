// Shared by the end-to-end tests: processes in their own process group (killed in t.after), a
// random loopback range per run, ready-line waits and polling with deadlines, real kubectl with a
// temporary --cache-dir. No timing assertions: deadlines only bound how long we wait.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * A loopback range of this test's own: 127.R (R in 2..254; the demo picks from 1..254 for people).
 * Tests run concurrently and kubelets always listen on port 10250, so two tests must never share R:
 * each reservation is an exclusive lock file naming its owner's pid (stale ones are taken over), and
 * is released in t.after.
 */
export function randomIpBase(t: TestContext): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const r = 2 + Math.floor(Math.random() * 253);
    const lock = join(tmpdir(), `metrics-server-test-127.${r}.lock`);
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
    } catch {
      const owner = Number(readFileSync(lock, "utf8"));
      if (owner === process.pid || isAlive(owner)) continue;
      rmSync(lock, { force: true }); // left by a killed run
      continue;
    }
    t.after(() => rmSync(lock, { force: true }));
    return `127.${r}`;
  }
  throw new Error("no free 127.R loopback range for this test");
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Proc {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr interleaved by line). */
  output(): string;
  lines(): string[];
}

/**
 * Starts `node <script> ...args` in its own process group and resolves once a line containing
 * `readyText` appears. The group is killed in t.after, so nothing outlives the test.
 */
export function startNodeProcess(
  t: TestContext,
  script: string,
  args: string[],
  readyText: string,
  timeoutMs = 120_000,
): Promise<Proc> {
  const child = spawn(process.execPath, [join(root, script), ...args], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => killGroup(child));
  const lines: string[] = [];
  const proc: Proc = { child, output: () => lines.join("\n"), lines: () => lines };
  return new Promise((resolveReady, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      reject(new Error(`${script} not ready after ${timeoutMs} ms; output:\n${proc.output().slice(-4000)}`));
    }, timeoutMs);
    const feed = (buf: Buffer, carry: { s: string }) => {
      carry.s += buf.toString("utf8");
      let nl = carry.s.indexOf("\n");
      while (nl >= 0) {
        const line = carry.s.slice(0, nl);
        carry.s = carry.s.slice(nl + 1);
        lines.push(line);
        if (process.env.E2E_VERBOSE) process.stderr.write(`[${script}] ${line}\n`);
        if (!done && line.includes(readyText)) {
          done = true;
          clearTimeout(timer);
          resolveReady(proc);
        }
        nl = carry.s.indexOf("\n");
      }
    };
    const out = { s: "" };
    const err = { s: "" };
    child.stdout!.on("data", (b: Buffer) => feed(b, out));
    child.stderr!.on("data", (b: Buffer) => feed(b, err));
    child.on("exit", (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(
        new Error(
          `${script} exited (code ${code}, signal ${signal}) before ready:\n${proc.output().slice(-4000)}`,
        ),
      );
    });
  });
}

export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Runs a command to completion; never rejects (the result carries the exit code). */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 60_000, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

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

/** Calls fn until it returns a value (not undefined) or the deadline passes; then throws lastError. */
export async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  intervalMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
