// Response bodies without per-request garbage: a reusable byte buffer the renderers write into, and
// one gzip compressor reused for every response. At 5,000 kubelets a fresh zlib stream and a fresh
// body Buffer per request were most of the simulator's CPU: each allocates off-heap memory, and that
// memory pressure kept triggering full garbage collections of a heap holding 150,000 pods. send()
// writes a body out, gzipped when the client asks for it.

import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, createGzip, type Gzip, gunzipSync, gzipSync } from "node:zlib";

/**
 * A growable byte buffer. Callers render into it synchronously and take the bytes (copy, or
 * compress) before the next render: it is shared, not owned.
 */
export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  reset(): void {
    this.length = 0;
  }

  private reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Appends src[start..end). */
  range(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.reserve(n);
    const buf = this.buf;
    // A byte loop beats a native copy call for the short pieces bodies are made of.
    if (n < 256) {
      let at = this.length;
      for (let i = start; i < end; i++) buf[at++] = src[i];
    } else {
      buf.set(src.subarray(start, end), this.length);
    }
    this.length += n;
  }

  /** Appends a string of code points below 128 (numbers, ASCII text) one byte per character. */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.length = at;
  }

  /** The bytes written so far: a view valid until the next write. */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** The bytes written so far, copied. */
  copy(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.buf.copy(out, 0, 0, this.length);
    return out;
  }

  toString(): string {
    return this.buf.toString("utf8", 0, this.length);
  }
}

// The parts of a zlib stream's native handle its own synchronous helpers drive. Not public API:
// GzipEncoder checks them (and a round trip) once and falls back to gzipSync if anything differs.
interface NativeDeflate {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    output: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
}

interface ReusableEngine {
  stream: Gzip;
  handle: NativeDeflate;
  /** [output bytes left, input bytes left] after each writeSync. */
  state: Uint32Array;
  error: Error | undefined;
}

const OPTIONS = { level: constants.Z_BEST_SPEED };
const OUTPUT_BYTES = 64 * 1024;

/**
 * gzip at the fastest level that still really compresses (the reader pays a realistic inflate),
 * synchronously (no threadpool round trip, callback or copy) and with ONE zlib engine reset between
 * bodies: zlib's one-shot helpers build a new engine (~300 KiB of native state) per call, and at
 * thousands of bodies a second that churn kept forcing full garbage collections. Same bytes as
 * gzipSync(body, { level: 1 }).
 */
export class GzipEncoder {
  private engine: ReusableEngine | undefined;
  /** false once the engine could not be used: every body then goes through gzipSync. */
  private reusable = true;
  private readonly output = Buffer.allocUnsafe(OUTPUT_BYTES);

  encode(input: Uint8Array): Buffer {
    const engine = this.reusable ? (this.engine ?? this.open()) : undefined;
    if (!engine) return gzipSync(input, OPTIONS);
    try {
      return this.deflate(engine, input);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private deflate(engine: ReusableEngine, input: Uint8Array): Buffer {
    const { handle, state } = engine;
    const out = this.output;
    const chunks: Buffer[] = [];
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      handle.writeSync(constants.Z_FINISH, input, inOff, inLen, out, 0, out.length);
      if (engine.error) throw engine.error;
      const outLeft = state[0];
      const inLeft = state[1];
      chunks.push(Buffer.from(out.subarray(0, out.length - outLeft)));
      // Output space left over means the stream is finished; a full buffer means call again.
      if (outLeft !== 0) break;
      inOff += inLen - inLeft;
      inLen = inLeft;
    }
    handle.reset();
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  }

  private open(): ReusableEngine | undefined {
    const stream = createGzip(OPTIONS);
    const internals = stream as unknown as { _handle?: Partial<NativeDeflate>; _writeState?: unknown };
    const handle = internals._handle;
    const state = internals._writeState;
    if (
      typeof handle?.writeSync !== "function" ||
      typeof handle.reset !== "function" ||
      !(state instanceof Uint32Array) ||
      state.length !== 2
    ) {
      stream.close();
      this.reusable = false;
      return undefined;
    }
    const engine: ReusableEngine = { stream, handle: handle as NativeDeflate, state, error: undefined };
    // The stream reports native errors as 'error' events; keep them for deflate() to throw.
    stream.on("error", (err: Error) => {
      engine.error = err;
    });
    // One check that the engine round-trips and matches zlib's own gzip before trusting it.
    const probe = Buffer.from("container_cpu_usage_seconds_total 1.5 1700000000000\n".repeat(50));
    let ok = false;
    try {
      const twice = [this.deflate(engine, probe), this.deflate(engine, probe)];
      ok = twice.every((z) => z.equals(gzipSync(probe, OPTIONS)) && gunzipSync(z).equals(probe));
    } catch {
      ok = false;
    }
    if (!ok) {
      stream.close();
      this.reusable = false;
      return undefined;
    }
    this.engine = engine;
    return engine;
  }

  /** Frees the engine (a later encode opens a new one). */
  close(): void {
    this.engine?.stream.close();
    this.engine = undefined;
  }
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers["accept-encoding"];
  if (typeof header !== "string") return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return coding.trim().toLowerCase() === "gzip" && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * Answers with `body` (gzipped when a 200 and asked for). A Buffer body may be shared scratch: it is
 * compressed or copied before this returns.
 */
export function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  gzip: GzipEncoder,
): void {
  res.statusCode = status;
  res.setHeader("Content-Type", contentType);
  let payload: Buffer;
  if (status === 200 && acceptsGzip(req)) {
    // The fastest level: the bytes after decompression are the same, and compressing at the
    // default level cost the simulator more CPU than rendering the body.
    payload = gzip.encode(typeof body === "string" ? Buffer.from(body) : body);
    res.setHeader("Content-Encoding", "gzip");
  } else {
    // A copy for a Buffer: the caller's scratch is reused by the next response.
    payload = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  }
  res.setHeader("Content-Length", payload.length);
  res.end(payload);
}
