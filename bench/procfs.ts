// What the operating system says a process costs: CPU time from /proc/<pid>/stat and memory from
// /proc/<pid>/status. Both cover every thread of the process (worker threads included).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clockTicks: number | undefined;

/** USER_HZ, the unit of utime/stime (almost always 100). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * utime + stime of a process in seconds, from the text of /proc/<pid>/stat. The command name
 * (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
 */
export function parseCpuSeconds(statText: string, ticksPerSecond: number): number {
  const close = statText.lastIndexOf(")");
  if (close < 0) throw new Error("malformed /proc stat: no ')' after the command name");
  // After ") " come fields 3.. (state, ppid, ...); utime and stime are fields 14 and 15.
  const fields = statText
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error("malformed /proc stat: utime/stime are not numbers");
  }
  return (utime + stime) / ticksPerSecond;
}

export function readCpuSeconds(pid: number): number {
  return parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, "utf8"), clockTicksPerSecond());
}

/**
 * CPU seconds per thread name (/proc/<pid>/task/<tid>/comm), threads of the same name summed: for a
 * Node process "MainThread", "WorkerThread" (worker_threads), "V8Worker" (V8's GC and compiler
 * helpers, shared by every isolate) and "libuv-worker". Threads that ended earlier are not counted.
 */
export function readThreadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  const ticks = clockTicksPerSecond();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const seconds = parseCpuSeconds(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"), ticks);
      out[name] = (out[name] ?? 0) + seconds;
    } catch {
      // The thread ended while we read it.
    }
  }
  return out;
}

export interface MemoryKiB {
  /** Resident set size now. */
  rss: number;
  /** Peak resident set size over the process's life ("high water mark"). */
  hwm: number;
  /** Resident anonymous memory (heaps, malloc) and resident file-backed pages (the binary, libraries). */
  anon: number;
  file: number;
}

/** VmRSS and VmHWM (kB) from the text of /proc/<pid>/status. */
export function parseMemory(statusText: string): MemoryKiB {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(statusText);
    if (!m) throw new Error(`/proc status has no ${name} line`);
    return Number(m[1]);
  };
  return { rss: field("VmRSS"), hwm: field("VmHWM"), anon: field("RssAnon"), file: field("RssFile") };
}

export function readMemory(pid: number): MemoryKiB {
  return parseMemory(readFileSync(`/proc/${pid}/status`, "utf8"));
}
