// Child processes of the benchmark: each in its own process group (so the whole tree can be
// stopped), logs read line by line, and a loopback range reserved with the same lock files the
// end-to-end tests use, so a bench and a test run never share 127.R (kubelets all use :10250).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface IpReservation {
  /** "127.R" */
  ipBase: string;
  release(): void;
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

/** An exclusive 127.R (R in 2..254): a lock file naming our pid; stale locks are taken over. */
export function reserveIpBase(): IpReservation {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const r = 2 + Math.floor(Math.random() * 253);
    const lock = join(tmpdir(), `metrics-server-test-127.${r}.lock`);
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(lock, "utf8"));
      } catch {
        continue;
      }
      if (!isAlive(owner)) rmSync(lock, { force: true });
      continue;
    }
    return { ipBase: `127.${r}`, release: () => rmSync(lock, { force: true }) };
  }
  throw new Error("no free 127.R loopback range (every lock in the temp dir is held)");
}

export type LineListener = (line: string) => void;

export class NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last lines printed, for error messages. */
  readonly #tail: string[] = [];
  readonly #listeners = new Set<LineListener>();
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #exitListeners = new Set<() => void>();

  constructor(
    name: string,
    script: string,
    args: string[],
    cwd: string,
    echo: boolean,
    nodeArgs: readonly string[] = [],
  ) {
    this.name = name;
    // A bin/ launcher is run as users run it (bin/metrics-server sets the memory settings and takes
    // extra Node flags from METRICS_SERVER_NODE_FLAGS); a .ts script is run with this Node.
    const launcher = script.startsWith("bin/");
    const [command, argv] = launcher
      ? [join(cwd, script), args]
      : [process.execPath, [...nodeArgs, join(cwd, script), ...args]];
    const env =
      launcher && nodeArgs.length > 0
        ? { ...process.env, METRICS_SERVER_NODE_FLAGS: nodeArgs.join(" ") }
        : process.env;
    this.child = spawn(command, argv, {
      cwd,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const onLine = (line: string): void => {
      this.#tail.push(line);
      if (this.#tail.length > 200) this.#tail.shift();
      if (echo) process.stderr.write(`[${name}] ${line}\n`);
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

  tail(n = 40): string {
    return this.#tail.slice(-n).join("\n");
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

  /** SIGTERM to the group, SIGKILL after graceMs if anything is left. */
  async stop(graceMs = 5000): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const signalGroup = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    if (!this.exited) {
      signalGroup("SIGTERM");
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
    signalGroup("SIGKILL");
  }
}
