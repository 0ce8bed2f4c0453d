// How an explanation says when: RFC 3339 (to the second, UTC) and a rounded "Ns ago" / "in Ns".
import { formatTimestamp } from "../go/index.ts";

/** Unix ms as RFC 3339 to the second, as metav1.Time writes it. */
export function rfc3339(ms: number): string {
  return formatTimestamp(ms) ?? "an unknown time";
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}

/** "14s ago (at 2026-12-08T03:20:11Z)". */
export function agoAt(ms: number, nowMs: number): string {
  return `${seconds(nowMs - ms)}s ago (at ${rfc3339(ms)})`;
}

/** "14s ago". */
export function ago(ms: number, nowMs: number): string {
  return `${seconds(nowMs - ms)}s ago`;
}

/** "in 9s (at 2026-12-08T03:20:11Z)"; "now" when the time has passed. */
export function inAt(ms: number, nowMs: number): string {
  if (ms <= nowMs) return `about now (due at ${rfc3339(ms)})`;
  return `in about ${seconds(ms - nowMs)}s (at ${rfc3339(ms)})`;
}
