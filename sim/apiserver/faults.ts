// Injected API-server faults: what a flapping or overloaded kube-apiserver does to list and watch
// requests of nodes and pods (the resources metrics-server's informers read), on the wire exactly as
// kube-apiserver answers them. A spec is a comma-separated list of `KIND[:ARG][@FRACTION]`; several
// kinds may be active at once, each on a random FRACTION of the requests it applies to (default all).

import type { ServerResponse } from "node:http";
import { parseDuration } from "../duration.ts";
import { ApiError, type Resource } from "../state/index.ts";
import { statusBody, writeJson } from "./http.ts";

export type ApiFaultKind = "drop-watches" | "gone" | "status" | "throttle" | "slow-list" | "down";

export interface ApiFault {
  kind: ApiFaultKind;
  /** Milliseconds for the duration kinds, the HTTP code for `status`; 0 when the kind takes none. */
  arg: number;
  /** The share of matching requests the fault applies to, in (0, 1]. */
  fraction: number;
}

/** One --help line per kind (the text after the kind's name). */
export const API_FAULT_HELP: Readonly<Record<ApiFaultKind, string>> = {
  "drop-watches": "drop-watches:DUR  every open watch stream ends (EOF) every DUR",
  gone: "gone              watches from a resourceVersion get 410 Expired",
  status: "status:CODE       fail with a Status, CODE 500 | 503 | 504",
  throttle: "throttle:DUR      429 with Retry-After: DUR (whole seconds)",
  "slow-list": "slow-list:DUR     lists are answered after DUR",
  down: "down:DUR          listener closed (connections refused) for DUR",
};

const DURATION_KINDS = new Set<ApiFaultKind>(["drop-watches", "throttle", "slow-list", "down"]);
const STATUS_CODES: Readonly<Record<number, { reason: string; message: string }>> = {
  500: { reason: "InternalError", message: "Internal error occurred: injected fault" },
  503: { reason: "ServiceUnavailable", message: "the server is currently unable to handle the request" },
  504: {
    reason: "Timeout",
    message:
      "the server was unable to return a response in the time allotted, but may still be processing the request",
  },
};
/** The resources faults apply to: what metrics-server lists and watches. */
const FAULTED: ReadonlySet<Resource> = new Set<Resource>(["nodes", "pods"]);

function parseDurationMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** Parses a spec ("" = no faults); throws an Error whose message says what is wrong. */
export function parseApiFaultSpec(spec: string): ApiFault[] {
  const faults: ApiFault[] = [];
  for (const part of spec.split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const m = /^([a-z-]+)(?::([^@]+))?(?:@(.+))?$/.exec(part);
    const kind = m?.[1] as ApiFaultKind | undefined;
    if (!m || kind === undefined || !(kind in API_FAULT_HELP)) {
      throw new Error(
        `unknown API server fault ${JSON.stringify(part)}: want ${Object.keys(API_FAULT_HELP).join(" | ")}`,
      );
    }
    const fraction = m[3] === undefined ? 1 : Number(m[3]);
    if (!(fraction > 0 && fraction <= 1)) {
      throw new Error(`API server fault ${JSON.stringify(part)}: the fraction after @ must be in (0, 1]`);
    }
    let arg = 0;
    if (DURATION_KINDS.has(kind)) {
      const ms = m[2] === undefined ? undefined : parseDurationMs(m[2]);
      if (ms === undefined || ms <= 0) {
        throw new Error(`API server fault ${JSON.stringify(part)}: want ${kind}:DUR, e.g. ${kind}:5s`);
      }
      arg = ms;
    } else if (kind === "status") {
      arg = Number(m[2]);
      if (!(arg in STATUS_CODES)) {
        throw new Error(
          `API server fault ${JSON.stringify(part)}: want status:${Object.keys(STATUS_CODES).join("|")}`,
        );
      }
    } else if (m[2] !== undefined) {
      throw new Error(`API server fault ${JSON.stringify(part)}: ${kind} takes no argument`);
    }
    faults.push({ kind, arg, fraction });
  }
  return faults;
}

export interface ApiFaultHooks {
  /** Ends every open watch stream. */
  dropWatches(): number;
  /** Closes the listener (cutting open connections) for `ms`, then listens again. */
  goDown(ms: number): void;
  /** Listens again at once if down. */
  comeBack(): void;
  /** The resourceVersion a watch cache would report as the oldest it still has. */
  currentResourceVersion(): number;
  log(line: string): void;
}

type Verb = "list" | "watch";

/** The faults in force, and counts of what the faulted resources were asked and answered. */
export class ApiServerFaults {
  private readonly hooks: ApiFaultHooks;
  private spec = "";
  private faults: ApiFault[] = [];
  private dropTimer: NodeJS.Timeout | undefined;
  private downUntil = 0;
  private readonly requests = new Map<string, number>();
  private readonly injected = new Map<string, number>();
  private readonly openWatches = new Map<string, number>();

  constructor(hooks: ApiFaultHooks) {
    this.hooks = hooks;
  }

  /**
   * Replaces the faults in force (null or "" = none). Throws on a bad spec, changing nothing.
   * `afterReply` runs the going-down step once the reply to the request that set it is sent.
   */
  set(spec: string | null, afterReply: (goDown: () => void) => void = (goDown) => goDown()): void {
    const faults = parseApiFaultSpec(spec ?? "");
    this.spec = spec ?? "";
    this.faults = faults;
    clearInterval(this.dropTimer);
    this.dropTimer = undefined;
    const drop = faults.find((f) => f.kind === "drop-watches");
    if (drop) {
      this.dropTimer = setInterval(() => {
        const n = this.hooks.dropWatches();
        this.count(this.injected, "drop-watches", n);
      }, drop.arg);
      this.dropTimer.unref();
    }
    const down = faults.find((f) => f.kind === "down");
    if (down) {
      this.downUntil = Date.now() + down.arg;
      this.count(this.injected, "down");
      afterReply(() => this.hooks.goDown(down.arg));
    } else if (this.downUntil > Date.now()) {
      this.downUntil = 0;
      this.hooks.comeBack();
    }
    this.hooks.log(`sim: API server faults set to ${this.spec === "" ? "none" : this.spec}`);
  }

  /** GET /sim/faults's "apiserver" part. */
  describe(): Record<string, unknown> {
    return {
      spec: this.spec === "" ? null : this.spec,
      ...(this.downUntil > Date.now() ? { downUntil: new Date(this.downUntil).toISOString() } : {}),
      requests: Object.fromEntries([...this.requests].sort()),
      openWatches: Object.fromEntries([...this.openWatches].sort()),
      injected: Object.fromEntries([...this.injected].sort()),
    };
  }

  /** Counts a watch stream of a faulted resource as open until its response closes. */
  watchServed(resource: Resource, res: ServerResponse): void {
    if (!FAULTED.has(resource) || res.writableEnded) return;
    this.count(this.openWatches, resource);
    res.once("close", () => this.count(this.openWatches, resource, -1));
  }

  close(): void {
    clearInterval(this.dropTimer);
  }

  private count(map: Map<string, number>, key: string, n = 1): void {
    map.set(key, (map.get(key) ?? 0) + n);
  }

  private active(kind: ApiFaultKind): ApiFault | undefined {
    const f = this.faults.find((x) => x.kind === kind);
    return f && (f.fraction >= 1 || Math.random() < f.fraction) ? f : undefined;
  }

  /**
   * Applies the faults to one list or watch before it is served: true when the fault answered it
   * (the caller serves nothing more), false to serve it normally (after a slow-list delay).
   */
  async intercept(verb: Verb, resource: Resource, url: URL, res: ServerResponse): Promise<boolean> {
    if (!FAULTED.has(resource)) return false;
    this.count(this.requests, `${resource} ${verb}`);
    if (this.faults.length === 0) return false;
    const throttle = this.active("throttle");
    if (throttle) {
      this.count(this.injected, "throttle");
      tooManyRequests(res, Math.ceil(throttle.arg / 1000));
      return true;
    }
    const status = this.active("status");
    if (status) {
      this.count(this.injected, "status");
      const s = STATUS_CODES[status.arg];
      writeJson(res, status.arg, statusBody(new ApiError(status.arg, s.reason, s.message, {})));
      return true;
    }
    const rv = url.searchParams.get("resourceVersion") ?? "";
    if (verb === "watch" && rv !== "" && rv !== "0" && this.active("gone")) {
      this.count(this.injected, "gone");
      // As the watch cache answers a resourceVersion it no longer has: a 200 stream with one ERROR event.
      // The oldest version the cache still has: past the one asked for, as after a compaction.
      const oldest = Math.max(Number(rv) + 1, this.hooks.currentResourceVersion());
      const err = new ApiError(410, "Expired", `too old resource version: ${rv} (${oldest})`);
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
      res.end(`${JSON.stringify({ type: "ERROR", object: statusBody(err) })}\n`);
      return true;
    }
    const slow = verb === "list" ? this.active("slow-list") : undefined;
    if (slow) {
      this.count(this.injected, "slow-list");
      await new Promise((r) => setTimeout(r, slow.arg));
    }
    return false;
  }
}

/**
 * kube-apiserver's 429 from its max-in-flight and priority-and-fairness filters (k8s.io/apiserver
 * pkg/server/filters/maxinflight.go tooManyRequests): Go's http.Error, plain text, with Retry-After.
 */
export function tooManyRequests(r: ServerResponse, seconds: number): void {
  const body = "Too many requests, please try again later.\n";
  r.writeHead(429, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Retry-After": String(Math.max(1, seconds)),
    "Content-Length": Buffer.byteLength(body),
  });
  r.end(body);
}
