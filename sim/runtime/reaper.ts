// The last line of defence against orphans: containers run in their own process groups, so a
// simulator killed with SIGKILL (a test's clean-up, an OOM kill) would leave them running. A small
// detached watchdog, started with the first container, learns each container's process group over a
// pipe from the simulator; when the pipe closes (the simulator is gone, however it died) it kills
// every group still listed. Nothing on disk: a test may remove the simulator's directory first.

import { type ChildProcess, spawn } from "node:child_process";

// sh, not node: the watchdog lives as long as the simulator and should cost next to nothing.
// `read` returns non-zero at end of input, which ends the loop.
const WATCHDOG = [
  'groups=" "',
  "while read -r op g; do",
  '  case "$op" in',
  '    add) groups="$groups$g " ;;',
  '    del) groups=$(printf "%s" "$groups" | sed "s/ $g / /") ;;',
  "  esac",
  "done",
  'for g in $groups; do kill -TERM "-$g" 2>/dev/null; done',
  "sleep 2",
  'for g in $groups; do kill -KILL "-$g" 2>/dev/null; done',
].join("\n");

export class Reaper {
  private watchdog: ChildProcess | undefined;

  add(pgid: number): void {
    this.watchdog ??= this.start();
    this.watchdog.stdin?.write(`add ${pgid}\n`);
  }

  delete(pgid: number): void {
    this.watchdog?.stdin?.write(`del ${pgid}\n`);
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

  private start(): ChildProcess {
    const child = spawn("/bin/sh", ["-c", WATCHDOG], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
    // A watchdog that died early must not take the simulator with it (EPIPE on write).
    child.stdin?.on("error", () => {});
    child.unref();
    // The pipe must not keep the simulator's event loop alive either.
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return child;
  }
}
