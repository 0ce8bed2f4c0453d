// A bounded, open-loop HTTP/2 load client for ONE call kind. Each call kind has a fixed send
// schedule (rate per second, evenly spaced) and its own keep-alive connection, as separate API
// clients would. Latency is measured from the *scheduled* send time, so a request that had to wait
// — for a free slot under the concurrency bound or for a stalled event loop — carries that wait (no
// coordinated omission). The bench runs each call kind in its own worker thread (load-threads.ts),
// so a 64 MiB list being received cannot stall the schedule of a small call; this file is what runs
// inside one such thread. Bodies are never kept whole: bytes are counted as they arrive, and only
// one successful body is kept, to count its items after the schedule has ended.
import http2 from "node:http2";
import { performance } from "node:perf_hooks";

export interface LoadTarget {
  /** A short key for the report, e.g. "listPods". */
  name: string;
  /** Request path (with query). */
  path: string;
  ratePerSecond: number;
  /** The Accept header (default application/json). */
  accept?: string;
  /** Where in its interval the schedule starts, as a fraction in [0, 1) (default 0). */
  phase?: number;
}

export interface LoadOptions {
  /** "host:port" of the HTTPS server. */
  authority: string;
  /** Client certificate and key (PEM). */
  cert: Buffer | string;
  key: Buffer | string;
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
  /** Latency of every completed request (ms, from its scheduled send time), in completion order. */
  latenciesMs: number[];
  /** Mean response body size of the 200 answers. */
  meanResponseBytes: number;
  /** The first few error causes, for the report. */
  errorSamples: string[];
  /** Items in the first 200 answer (1 for a single object): what the call actually returns. */
  items: number;
}

/** A response read as a stream: its size always, its body only when asked for. */
export interface StreamedResponse {
  /** HTTP status; 0 when the request failed below HTTP (transport error, timeout). */
  status: number;
  /** Body bytes received. */
  bytes: number;
  /** The body's chunks, when keepBody was set (empty otherwise). */
  chunks: Buffer[];
  /** The start of a non-200 body (≤ 200 bytes, UTF-8), for error messages. */
  errorBody: string;
  /** Why the request failed below HTTP. */
  error?: string;
}

const ERROR_BODY_BYTES = 200;

/**
 * One GET over an HTTP/2 session, read as a stream: bytes are counted as they arrive and the body
 * is only kept with keepBody. Resolves, never rejects.
 */
export function h2Stream(
  session: http2.ClientHttp2Session,
  path: string,
  timeoutMs: number,
  keepBody: boolean,
  accept = "application/json",
): Promise<StreamedResponse> {
  return new Promise((resolve) => {
    let status = 0;
    let bytes = 0;
    const chunks: Buffer[] = [];
    const errorChunks: Buffer[] = [];
    let errorBytes = 0;
    let done = false;
    const finish = (error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        status: error === undefined ? status : 0,
        bytes,
        chunks: error === undefined ? chunks : [],
        errorBody: Buffer.concat(errorChunks).toString("utf8", 0, ERROR_BODY_BYTES),
        ...(error === undefined ? {} : { error }),
      });
    };
    let stream: http2.ClientHttp2Stream;
    const timer = setTimeout(() => {
      stream?.close(http2.constants.NGHTTP2_CANCEL);
      finish(`timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    try {
      stream = session.request({ ":method": "GET", ":path": path, accept });
    } catch (err) {
      finish((err as Error).message);
      return;
    }
    stream.on("response", (headers) => {
      status = Number(headers[":status"] ?? 0);
    });
    stream.on("data", (c: Buffer) => {
      bytes += c.length;
      if (keepBody) chunks.push(c);
      if (status !== 200 && errorBytes < ERROR_BODY_BYTES) {
        errorChunks.push(c.subarray(0, ERROR_BODY_BYTES - errorBytes));
        errorBytes += Math.min(c.length, ERROR_BODY_BYTES - errorBytes);
      }
    });
    // Node ends the readable side of a reset stream too, so whether the body is whole is known
    // only at "close": a reset code other than NO_ERROR means it was cut off.
    let ended = false;
    stream.on("end", () => {
      ended = true;
    });
    stream.on("error", (err) => finish(err.message));
    stream.on("close", () => {
      const code = stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
      if (ended && code === http2.constants.NGHTTP2_NO_ERROR) finish();
      else finish(`stream closed (HTTP/2 code ${code}) before the ${status ? "body ended" : "response"}`);
    });
  });
}

/** One GET over an HTTP/2 session with the whole body (for small documents: /readyz, /metrics). */
export async function h2Get(
  session: http2.ClientHttp2Session,
  path: string,
  timeoutMs: number,
): Promise<{ status: number; bytes: number; body: Buffer; error?: string }> {
  const r = await h2Stream(session, path, timeoutMs, true);
  return {
    status: r.status,
    bytes: r.bytes,
    body: Buffer.concat(r.chunks),
    ...(r.error === undefined ? {} : { error: r.error }),
  };
}

const STREAM_WINDOW_BYTES = 4 << 20;
const CONNECTION_WINDOW_BYTES = 1 << 30;

/** An HTTP/2 client session with the given client cert; the server's cert is not verified (like
 * the APIService's insecureSkipTLSVerify in upstream's manifests). */
export function connect(
  authority: string,
  cert: Buffer | string,
  key: Buffer | string,
): http2.ClientHttp2Session {
  // Flow-control windows as Go's HTTP/2 transport opens them (kubectl, client-go: 4 MiB per stream,
  // 1 GiB per connection). With HTTP/2's default 64 KiB, a 64 MiB list needs ~1,000 WINDOW_UPDATE round
  // trips through this thread, which measures the client's scheduling on a busy machine, not the server.
  const session = http2.connect(`https://${authority}`, {
    cert,
    key,
    rejectUnauthorized: false,
    settings: { initialWindowSize: STREAM_WINDOW_BYTES },
  });
  session.on("connect", () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
  session.on("error", () => {
    // Reported through the requests that fail; a new session is made for the next one.
  });
  return session;
}

/** Items of a list response, 1 for any other JSON object, 0 if the body is not JSON. */
export function countItems(body: Buffer): number {
  if (body.subarray(0, 4).equals(PROTOBUF_MAGIC)) return countProtobufItems(body);
  try {
    const v = JSON.parse(body.toString("utf8")) as unknown;
    if (v === null || typeof v !== "object") return 0;
    const items = (v as { items?: unknown }).items;
    return Array.isArray(items) ? items.length : 1;
  } catch {
    return 0;
  }
}

// Kubernetes' protobuf envelope: "k8s\0", then runtime.Unknown { 1: typeMeta, 2: raw, ... }.
const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Reads a base-128 varint at `at`; returns [value, next offset], or undefined past the end. */
function varint(b: Buffer, at: number): [number, number] | undefined {
  let value = 0;
  for (let shift = 0, i = at; i < b.length && shift < 53; shift += 7, i++) {
    value += (b[i]! & 0x7f) * 2 ** shift;
    if (b[i]! < 0x80) return [value, i + 1];
  }
  return undefined;
}

/**
 * The top-level length-delimited fields of a protobuf message: field number → [start, end) of each
 * occurrence. Undefined when the bytes are not a well-formed message of such fields and varints.
 */
function protobufFields(b: Buffer, from: number, to: number): Map<number, [number, number][]> | undefined {
  const fields = new Map<number, [number, number][]>();
  let at = from;
  while (at < to) {
    const tag = varint(b, at);
    if (!tag) return undefined;
    at = tag[1];
    const wire = tag[0] % 8;
    const field = Math.floor(tag[0] / 8);
    if (wire === 0) {
      const v = varint(b, at);
      if (!v) return undefined;
      at = v[1];
    } else if (wire === 2) {
      const len = varint(b, at);
      if (!len || len[1] + len[0] > to) return undefined;
      const span: [number, number] = [len[1], len[1] + len[0]];
      const seen = fields.get(field);
      if (seen) seen.push(span);
      else fields.set(field, [span]);
      at = span[1];
    } else return undefined;
  }
  return fields;
}

/** Items of a Kubernetes protobuf list (field 2 of the object in Unknown.raw); 1 for another object. */
function countProtobufItems(body: Buffer): number {
  const unknown = protobufFields(body, 4, body.length);
  const raw = unknown?.get(2)?.[0];
  if (!raw) return 0;
  const object = protobufFields(body, raw[0], raw[1]);
  if (!object) return 0;
  // A list has ListMeta (1) and items (2); a single PodMetrics has ObjectMeta (1), timestamp (2), ...
  const items = object.get(2) ?? [];
  return object.has(3) ? 1 : items.length;
}

/** The send schedule of one target: request i is due at start + (i + phase) / rate. */
export function schedulePlan(
  ratePerSecond: number,
  durationMs: number,
  phase = 0,
): { intervalMs: number; total: number; offsetMs: number } {
  return {
    intervalMs: 1000 / ratePerSecond,
    // Two call kinds at the same rate with phases 0 and 0.5 take turns instead of colliding.
    offsetMs: (phase * 1000) / ratePerSecond,
    // At least one request, so every row of the report has a sample.
    total: Math.max(1, Math.floor((durationMs / 1000) * ratePerSecond)),
  };
}

/** Sends one target's requests under a concurrency bound and records what came back. */
export class TargetRunner {
  readonly result: TargetResult;
  readonly #opts: LoadOptions;
  readonly #accept: string | undefined;
  /** Scheduled send times waiting for a free slot. */
  readonly #queue: number[] = [];
  #queueHead = 0;
  #session: http2.ClientHttp2Session | undefined;
  #inFlight = 0;
  #bytes = 0;
  #okCount = 0;
  /** Requests whose body is being kept as the item-count sample (at most one is needed). */
  #sampling = 0;
  #sample: Buffer[] | undefined;
  #idle: (() => void) | undefined;

  constructor(target: LoadTarget, opts: LoadOptions) {
    this.#opts = opts;
    this.#accept = target.accept;
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

  get #queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  get busy(): boolean {
    return this.#inFlight > 0 || this.#queued > 0;
  }

  /**
   * Opens the connection ahead of the schedule, so the first request does not pay the TLS
   * handshake (a real API client keeps its connection). Resolves on connect, error or timeout:
   * a session that failed is replaced at the first request, whose failure is then counted.
   */
  warmUp(timeoutMs: number): Promise<void> {
    const session = this.#sessionFor();
    if (!session.connecting) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        session.off("connect", done);
        session.off("error", done);
        session.off("close", done);
        resolve();
      }
      session.once("connect", done);
      session.once("error", done);
      session.once("close", done);
    });
  }

  submit(scheduledAt: number): void {
    this.result.scheduled++;
    this.#queue.push(scheduledAt);
    this.#pump();
  }

  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((r) => {
      this.#idle = r;
    });
  }

  /** Stops: what is still queued or in flight counts as unfinished. */
  close(): void {
    this.result.unfinished = this.#queued + this.#inFlight;
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#session?.destroy();
    this.#session = undefined;
  }

  /** Counts the items of the kept sample body (a full JSON.parse: call it after the schedule). */
  countSampleItems(): void {
    if (this.#sample) this.result.items = countItems(Buffer.concat(this.#sample));
    this.#sample = undefined;
  }

  #sessionFor(): http2.ClientHttp2Session {
    if (!this.#session || this.#session.closed || this.#session.destroyed) {
      this.#session = connect(this.#opts.authority, this.#opts.cert, this.#opts.key);
    }
    return this.#session;
  }

  #pump(): void {
    while (this.#inFlight < this.#opts.concurrency && this.#queued > 0) {
      const scheduledAt = this.#queue[this.#queueHead++]!;
      if (this.#queueHead === this.#queue.length) {
        this.#queue.length = 0;
        this.#queueHead = 0;
      }
      this.#inFlight++;
      void this.#send(scheduledAt);
    }
  }

  async #send(scheduledAt: number): Promise<void> {
    // Keep this body unless another request is already keeping one; each kept body replaces the
    // last, so the item count comes from late in the window, not from a first answer that may have
    // raced the warm-up tick's store.
    const keep = this.#sampling === 0;
    if (keep) this.#sampling++;
    const r = await h2Stream(
      this.#sessionFor(),
      this.result.path,
      this.#opts.requestTimeoutMs ?? 30_000,
      keep,
      this.#accept,
    );
    const latency = performance.now() - scheduledAt;
    if (keep) this.#sampling--;
    this.#inFlight--;
    this.result.completed++;
    this.result.latenciesMs.push(latency);
    const key = r.status === 0 ? "transport" : String(r.status);
    this.result.statuses[key] = (this.result.statuses[key] ?? 0) + 1;
    if (r.status === 200) {
      this.#okCount++;
      if (keep) this.#sample = r.chunks;
      this.#bytes += r.bytes;
      this.result.meanResponseBytes = this.#bytes / this.#okCount;
    } else {
      this.result.errors++;
      if (this.result.errorSamples.length < 5) {
        this.result.errorSamples.push(r.error ?? `HTTP ${r.status}: ${r.errorBody}`);
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
 * Runs one target's schedule on this thread, starting at `start` (this thread's performance.now()
 * clock; a start in the past sends the overdue requests at once, each still timed from its slot),
 * then waits up to the drain timeout for the stragglers. Never rejects. Does not count items: call
 * runner.countSampleItems() afterwards.
 */
export async function runSchedule(
  runner: TargetRunner,
  opts: LoadOptions,
  scheduleStart: number,
  phase = 0,
): Promise<void> {
  const plan = schedulePlan(runner.result.ratePerSecond, opts.durationMs, phase);
  const start = scheduleStart + plan.offsetMs;
  let next = 0;
  await new Promise<void>((resolveSchedule) => {
    const tick = (): void => {
      const now = performance.now();
      while (next < plan.total && start + next * plan.intervalMs <= now) {
        runner.submit(start + next * plan.intervalMs);
        next++;
      }
      if (next >= plan.total) resolveSchedule();
      else setTimeout(tick, Math.max(0, start + next * plan.intervalMs - performance.now()));
    };
    tick();
  });
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    runner.whenIdle(),
    new Promise((r) => {
      drainTimer = setTimeout(r, opts.drainTimeoutMs ?? 60_000);
    }),
  ]);
  clearTimeout(drainTimer);
  runner.close();
}
