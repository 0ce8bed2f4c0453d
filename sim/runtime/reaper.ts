// The last line of defence against orphans: containers run in their own process groups, so a
// simulator killed with SIGKILL (a test's clean-up, an OOM kill) would leave them running. A small
// detached watchdog, started with the first container, waits for the simulator's pid to go away and
// then kills every process group listed in a file the runtime keeps current.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export class Reaper {
  private readonly groups = new Set<number>();
  private readonly file: string;
  private watchdog: ChildProcess | undefined;

  constructor(file: string) {
    this.file = file;
  }

  add(pgid: number): void {
    this.groups.add(pgid);
    this.write();
    this.watchdog ??= this.start();
  }

  delete(pgid: number): void {
    if (this.groups.delete(pgid)) this.write();
  }

  /** Stops the watchdog (the runtime has stopped every container itself). */
  close(): void {
    if (this.watchdog?.pid !== undefined) {
      try {
        process.kill(-this.watchdog.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.watchdog = undefined;
  }

  private write(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, [...this.groups].join("\n"));
    renameSync(`${this.file}.tmp`, this.file);
  }

  private start(): ChildProcess {
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
      `for g in $(cat "$1" 2>/dev/null); do kill -TERM "-$g" 2>/dev/null; done`,
      "sleep 2",
      `for g in $(cat "$1" 2>/dev/null); do kill -KILL "-$g" 2>/dev/null; done`,
    ].join("\n");
    const child = spawn("/bin/sh", ["-c", script, "reaper", this.file], { detached: true, stdio: "ignore" });
    child.unref();
    return child;
  }
}
