// A bounded, open-loop HTTP/2 load client. Each target has a fixed send schedule (rate per second,
// evenly spaced) and its own keep-alive connection, as separate API clients would. Latency is
// measured from the *scheduled* send time, so a request that had to wait — for a free slot under
// the concurrency bound or for a stalled event loop — carries that wait (no coordinated omission).
import http2 from "node:http2";
import { performance } from "node:perf_hooks";

export interface LoadTarget {
  /** A short key for the report, e.g. "listPods". */
  name: string;
  /** Request path (with query). */
  path: string;
  ratePerSecond: number;
}

export interface LoadOptions {
  /** "host:port" of the HTTPS server. */
  authority: string;
  /** Client certificate and key (PEM). */
  cert: Buffer;
  key: Buffer;
  /** Most requests in flight per target; later ones queue (and their wait counts as latency). */
  concurrency: number;
  durationMs: number;
  /** A request that takes longer is abandoned and counted as an error. */
  requestTimeoutMs?: number;
  /** How long to wait for queued and in-flight requests after the schedule ends. */
  drainTimeoutMs?: number;
}

export interface TargetResult {
  name: string;
  path: string;
  ratePerSecond: number;
  scheduled: number;
  completed: number;
  /** Non-200 answers, transport errors and timeouts. */
  errors: number;
  /** Requests still queued or in flight when the drain timeout passed. */
  unfinished: number;
  statuses: Record<string, number>;
  /** Latency of every completed request (ms, from its scheduled send time), in schedule order. */
  latenciesMs: number[];
  /** Mean response body size of the 200 answers. */
  meanResponseBytes: number;
  /** The first few error causes, for the report. */
  errorSamples: string[];
  /** Items in the first 200 answer (1 for a single object): what the call actually returns. */
  items: number;
}

interface Slot {
  scheduledAt: number;
}

/** One GET over an HTTP/2 session; resolves with status and body size, never rejects. */
export function h2Get(
  session: http2.ClientHttp2Session,
  path: string,
  timeoutMs: number,
): Promise<{ status: number; bytes: number; body: Buffer; error?: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: { status: number; bytes: number; body: Buffer; error?: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish({ status: 0, bytes: 0, body: Buffer.alloc(0), error: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ":method": "GET", ":path": path, accept: "application/json" });
    } catch (err) {
      clearTimeout(timer);
      resolve({ status: 0, bytes: 0, body: Buffer.alloc(0), error: (err as Error).message });
      return;
    }
    let status = 0;
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on("response", (headers) => {
      status = Number(headers[":status"] ?? 0);
    });
    stream.on("data", (c: Buffer) => {
      bytes += c.length;
      chunks.push(c);
    });
    stream.on("end", () => finish({ status, bytes, body: Buffer.concat(chunks) }));
    stream.on("error", (err) => finish({ status: 0, bytes: 0, body: Buffer.alloc(0), error: err.message }));
    stream.on("close", () =>
      finish({ status, bytes, body: Buffer.concat(chunks), error: status ? undefined : "stream closed" }),
    );
  });
}

/** An HTTP/2 client session with the given client cert; the server's cert is not verified (like
 * the APIService's insecureSkipTLSVerify in upstream's manifests). */
export function connect(authority: string, cert: Buffer, key: Buffer): http2.ClientHttp2Session {
  const session = http2.connect(`https://${authority}`, { cert, key, rejectUnauthorized: false });
  session.on("error", () => {
    // Reported through the requests that fail; a new session is made for the next one.
  });
  return session;
}

/** Items of a list response, 1 for any other JSON object, 0 if the body is not JSON. Parsed once
 * per target only, so the client's CPU stays small. */
function countItems(body: Buffer): number {
  try {
    const v = JSON.parse(body.toString("utf8")) as { items?: unknown };
    return Array.isArray(v.items) ? v.items.length : 1;
  } catch {
    return 0;
  }
}

class TargetRunner {
  readonly result: TargetResult;
  readonly #opts: LoadOptions;
  readonly #queue: Slot[] = [];
  #session: http2.ClientHttp2Session | undefined;
  #inFlight = 0;
  #bytes = 0;
  #okCount = 0;
  #idle: (() => void) | undefined;

  constructor(target: LoadTarget, opts: LoadOptions) {
    this.#opts = opts;
    this.result = {
      name: target.name,
      path: target.path,
      ratePerSecond: target.ratePerSecond,
      scheduled: 0,
      completed: 0,
      errors: 0,
      unfinished: 0,
      statuses: {},
      latenciesMs: [],
      meanResponseBytes: 0,
      errorSamples: [],
      items: 0,
    };
  }

  get busy(): boolean {
    return this.#inFlight > 0 || this.#queue.length > 0;
  }

  submit(scheduledAt: number): void {
    this.result.scheduled++;
    this.#queue.push({ scheduledAt });
    this.#pump();
  }

  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((r) => {
      this.#idle = r;
    });
  }

  close(): void {
    this.result.unfinished = this.#queue.length + this.#inFlight;
    this.#queue.length = 0;
    this.#session?.destroy();
    this.#session = undefined;
  }

  #sessionFor(): http2.ClientHttp2Session {
    if (!this.#session || this.#session.closed || this.#session.destroyed) {
      this.#session = connect(this.#opts.authority, this.#opts.cert, this.#opts.key);
    }
    return this.#session;
  }

  #pump(): void {
    while (this.#inFlight < this.#opts.concurrency && this.#queue.length > 0) {
      const slot = this.#queue.shift()!;
      this.#inFlight++;
      void this.#send(slot);
    }
  }

  async #send(slot: Slot): Promise<void> {
    const r = await h2Get(this.#sessionFor(), this.result.path, this.#opts.requestTimeoutMs ?? 30_000);
    const latency = performance.now() - slot.scheduledAt;
    this.#inFlight--;
    this.result.completed++;
    this.result.latenciesMs.push(latency);
    const key = r.status === 0 ? "transport" : String(r.status);
    this.result.statuses[key] = (this.result.statuses[key] ?? 0) + 1;
    if (r.status === 200) {
      this.#okCount++;
      if (this.#okCount === 1) this.result.items = countItems(r.body);
      this.#bytes += r.bytes;
      this.result.meanResponseBytes = this.#bytes / this.#okCount;
    } else {
      this.result.errors++;
      if (this.result.errorSamples.length < 5) {
        this.result.errorSamples.push(r.error ?? `HTTP ${r.status}: ${r.body.toString("utf8", 0, 200)}`);
      }
      if (r.status === 0) {
        // The session may be broken: the next request opens a fresh one.
        this.#session?.destroy();
        this.#session = undefined;
      }
    }
    this.#pump();
    if (!this.busy && this.#idle) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }
}

/**
 * Runs every target's schedule for durationMs (request i of a target is due at
 * start + i / rate), then waits for the stragglers. Never rejects.
 */
export async function runLoad(targets: readonly LoadTarget[], opts: LoadOptions): Promise<TargetResult[]> {
  const runners = targets.map((t) => new TargetRunner(t, opts));
  const start = performance.now();
  const plans = targets.map((t) => ({
    intervalMs: 1000 / t.ratePerSecond,
    // At least one request per target, so every row of the report has a sample.
    total: Math.max(1, Math.floor((opts.durationMs / 1000) * t.ratePerSecond)),
    next: 0,
  }));
  await new Promise<void>((resolveSchedule) => {
    const tick = (): void => {
      const now = performance.now();
      let nextDue = Number.POSITIVE_INFINITY;
      let remaining = false;
      plans.forEach((plan, i) => {
        while (plan.next < plan.total && start + plan.next * plan.intervalMs <= now) {
          runners[i]!.submit(start + plan.next * plan.intervalMs);
          plan.next++;
        }
        if (plan.next < plan.total) {
          remaining = true;
          nextDue = Math.min(nextDue, start + plan.next * plan.intervalMs);
        }
      });
      if (!remaining) resolveSchedule();
      else setTimeout(tick, Math.max(0, nextDue - performance.now()));
    };
    tick();
  });
  const drain = opts.drainTimeoutMs ?? 60_000;
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(runners.map((r) => r.whenIdle())),
    new Promise((r) => {
      drainTimer = setTimeout(r, drain);
    }),
  ]);
  clearTimeout(drainTimer);
  for (const r of runners) r.close();
  return runners.map((r) => r.result);
}
