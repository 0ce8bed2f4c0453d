// klog-style structured logger: the text format kubernetes components write, so that log tooling and
// operators' habits carry over from upstream metrics-server.
//
//   E1125 00:50:30.901000   18190 scraper.ts:42] "Failed to scrape node" err="timeout" node="node-1"
//
// Header: severity letter, MMDD, wall clock with microseconds, pid (klog prints the thread id, right
// aligned to 7), file:line of the caller, then `]`. Body: the message as a Go-quoted string followed
// by key="value" pairs (ErrorS puts err first, as klog does).

import { goQuote } from "../go/index.ts";
import { wallClockMicros } from "./clock.ts";

type LogValue = string | number | boolean | bigint | null | undefined | Error | readonly unknown[] | object;
type KV = Record<string, LogValue>;

let verbosity = 0;
let sink: (line: string) => void = (line) => {
  process.stderr.write(line);
};

/** Sets the `-v` level: `V(n)` lines are written when n <= level. */
export function setVerbosity(level: number): void {
  verbosity = level;
}

export function getVerbosity(): number {
  return verbosity;
}

/** Redirects output (tests capture lines with this). Returns the previous sink. */
export function setSink(fn: (line: string) => void): (line: string) => void {
  const prev = sink;
  sink = fn;
  return prev;
}

function formatValue(v: LogValue): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "string") return goQuote(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v instanceof Error) return goQuote(v.message);
  if (Array.isArray(v)) return "[" + v.map((x) => formatValue(x as LogValue)).join(" ") + "]";
  try {
    return goQuote(JSON.stringify(v));
  } catch {
    return goQuote(String(v));
  }
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

// The caller's file:line, found from a stack trace only when a line is actually written.
function caller(depth: number): string {
  const stack = new Error().stack?.split("\n") ?? [];
  const frame = stack[depth + 1] ?? "";
  const m = /([^/\\(\s]+):(\d+):\d+\)?\s*$/.exec(frame);
  return m ? `${m[1]}:${m[2]}` : "???:0";
}

function header(severity: "I" | "W" | "E" | "F", depth: number): string {
  const us = wallClockMicros();
  const d = new Date(Math.floor(us / 1000));
  const micros = pad(us % 1_000_000, 6);
  return (
    `${severity}${pad(d.getMonth() + 1, 2)}${pad(d.getDate(), 2)} ` +
    `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${micros} ` +
    `${String(process.pid).padStart(7, " ")} ${caller(depth + 1)}] `
  );
}

function emit(severity: "I" | "W" | "E" | "F", msg: string, err: unknown, kv: KV | undefined): void {
  let line = header(severity, 3) + goQuote(msg);
  if (err !== undefined) line += " err=" + formatValue(err instanceof Error ? err : String(err));
  if (kv) for (const k in kv) line += ` ${k}=${formatValue(kv[k])}`;
  sink(line + "\n");
}

interface Verbose {
  readonly enabled: boolean;
  info(msg: string, kv?: KV): void;
}

const disabled: Verbose = { enabled: false, info() {} };
const enabled: Verbose = {
  enabled: true,
  info(msg, kv) {
    emit("I", msg, undefined, kv);
  },
};

/** `V(2).info(...)` logs only at `-v=2` or higher; check `.enabled` before building costly values. */
export function V(level: number): Verbose {
  return level <= verbosity ? enabled : disabled;
}

export function info(msg: string, kv?: KV): void {
  emit("I", msg, undefined, kv);
}

export function warning(msg: string, kv?: KV): void {
  emit("W", msg, undefined, kv);
}

/** klog.ErrorS(err, msg, kv...): pass `undefined` as err for an error line without a cause. */
export function error(err: unknown, msg: string, kv?: KV): void {
  emit("E", msg, err, kv);
}

export { REPEAT_LOG_INTERVAL_MS, RepeatLimiter } from "./repeat-limiter.ts";
