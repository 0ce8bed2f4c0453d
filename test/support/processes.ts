// Child processes of the end-to-end tests and the benchmark: each in its own process group, so the
// whole tree can be stopped (a test kills its groups in t.after, so nothing outlives it); output read
// line by line; waits for a line with a deadline.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { TestContext } from "node:test";
import { root } from "./paths.ts";

export type LineListener = (line: string) => void;

export interface SpawnOptions {
  /** The working directory, which `script` is relative to (default: the repository root). */
  cwd?: string;
  /** Copy each line to stderr as `[name] line`. */
  echo?: boolean;
  /** Extra Node.js flags (for a bin/ launcher, passed in METRICS_SERVER_NODE_FLAGS). */
  nodeArgs?: readonly string[];
  /** How many of the last lines to keep for lines() and output() (default: all). */
  keep?: number;
}

export class NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #keep: number;
  readonly #listeners = new Set<LineListener>();
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #exitListeners = new Set<() => void>();

  /** Starts `script` (a bin/ launcher, or a .ts run with this Node) in its own process group. */
  constructor(name: string, script: string, args: readonly string[], opts: SpawnOptions = {}) {
    this.name = name;
    this.#keep = opts.keep ?? Number.POSITIVE_INFINITY;
    const cwd = opts.cwd ?? root;
    const nodeArgs = opts.nodeArgs ?? [];
    // A bin/ launcher is run as users run it (bin/metrics-server sets the memory settings and takes
    // extra Node flags from METRICS_SERVER_NODE_FLAGS); a .ts script is run with this Node.
    const launcher = script.startsWith("bin/");
    const [command, argv] = launcher
      ? [join(cwd, script), [...args]]
      : [process.execPath, [...nodeArgs, join(cwd, script), ...args]];
    const env =
      launcher && nodeArgs.length > 0
        ? { ...process.env, METRICS_SERVER_NODE_FLAGS: nodeArgs.join(" ") }
        : process.env;
    this.child = spawn(command, argv, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const onLine = (line: string): void => {
      this.#lines.push(line);
      if (this.#lines.length > this.#keep) this.#lines.shift();
      if (opts.echo) process.stderr.write(`[${name}] ${line}\n`);
      for (const l of this.#listeners) l(line);
    };
    createInterface({ input: this.child.stdout! }).on("line", onLine);
    createInterface({ input: this.child.stderr! }).on("line", onLine);
    this.child.on("exit", (code, signal) => {
      this.#exit = { code, signal };
      for (const l of this.#exitListeners) l();
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name} did not start`);
    return pid;
  }

  get exited(): boolean {
    return this.#exit !== undefined;
  }

  /** The lines it printed so far (stdout and stderr interleaved by line). */
  lines(): string[] {
    return this.#lines;
  }

  output(): string {
    return this.#lines.join("\n");
  }

  tail(n = 40): string {
    return this.#lines.slice(-n).join("\n");
  }

  onLine(fn: LineListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Resolves with the first line for which `match` returns a value; rejects on exit or timeout. */
  waitFor<T>(what: string, match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        off();
        this.#exitListeners.delete(onExit);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no ${what} after ${timeoutMs} ms; last output:\n${this.tail()}`));
      }, timeoutMs);
      const off = this.onLine((line) => {
        const v = match(line);
        if (v !== undefined) {
          cleanup();
          resolve(v);
        }
      });
      const onExit = (): void => {
        cleanup();
        reject(
          new Error(
            `${this.name} exited (code ${this.#exit?.code}, signal ${this.#exit?.signal}) while waiting for ${what}; last output:\n${this.tail()}`,
          ),
        );
      };
      if (this.exited) onExit();
      else this.#exitListeners.add(onExit);
    });
  }

  /** SIGKILL to the group, at once. */
  kill(): void {
    killGroup(this.child);
  }

  /** SIGTERM to the group, SIGKILL after graceMs if anything is left. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.child.pid === undefined) return;
    if (!this.exited) {
      signalGroup(this.child, "SIGTERM");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        if (this.exited) done();
        else this.#exitListeners.add(done);
      });
    }
    killGroup(this.child);
  }
}

/**
 * Starts `node <script> ...args` for a test and resolves once a line containing `readyText`
 * appears. The group is killed in t.after. E2E_VERBOSE=1 echoes its output.
 */
export async function startNodeProcess(
  t: TestContext,
  script: string,
  args: string[],
  readyText: string,
  timeoutMs = 120_000,
): Promise<NodeProcess> {
  const proc = new NodeProcess(script, script, args, { echo: Boolean(process.env.E2E_VERBOSE) });
  t.after(() => proc.kill());
  await proc.waitFor(
    `line with ${JSON.stringify(readyText)}`,
    (line) => (line.includes(readyText) ? true : undefined),
    timeoutMs,
  );
  return proc;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export function killGroup(child: ChildProcess): void {
  signalGroup(child, "SIGKILL");
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
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
