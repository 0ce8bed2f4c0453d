// A pod as the API server answers a GET (core/v1 Pod JSON), read into what explanations need.
// Any field may be absent or of the wrong type: nothing here throws.

import type { LiveContainer, LivePod } from "./types.ts";

type Rec = Record<string, unknown>;

function rec(v: unknown): Rec {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Rec) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function time(v: unknown): number | undefined {
  const ms = typeof v === "string" ? Date.parse(v) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function container(v: unknown): LiveContainer | undefined {
  const c = rec(v);
  const name = str(c.name);
  if (name === undefined) return undefined;
  const state = rec(c.state);
  const last = rec(rec(c.lastState).terminated);
  const restartCount = typeof c.restartCount === "number" && c.restartCount >= 0 ? c.restartCount : 0;
  const out: LiveContainer = { name, restartCount };
  const running = time(rec(state.running).startedAt);
  if (running !== undefined) out.runningSinceMs = running;
  const why = str(rec(state.waiting).reason) ?? str(rec(state.terminated).reason);
  if (why !== undefined) out.notRunningReason = why;
  if (Object.keys(last).length > 0) {
    out.lastTerminated = {
      reason: str(last.reason),
      exitCode: typeof last.exitCode === "number" ? last.exitCode : undefined,
      finishedAtMs: time(last.finishedAt),
    };
  }
  return out;
}

/** The fields of a Pod object an explanation reads. */
export function livePod(obj: unknown): LivePod {
  const o = rec(obj);
  const status = rec(o.status);
  const statuses = Array.isArray(status.containerStatuses) ? status.containerStatuses : [];
  const pod: LivePod = {
    phase: str(status.phase) ?? "",
    nodeName: str(rec(o.spec).nodeName) ?? "",
    deleting: rec(o.metadata).deletionTimestamp !== undefined,
    containers: statuses.map(container).filter((c): c is LiveContainer => c !== undefined),
  };
  const start = time(status.startTime);
  if (start !== undefined) pod.startMs = start;
  return pod;
}
