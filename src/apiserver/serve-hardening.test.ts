// Over 400 lines: one listener and the raw HTTP/1.1 and HTTP/2 clients below serve every case.
// Bad and hostile clients against the listener: each case gets its status (or a closed connection),
// the server keeps serving, and nothing it holds grows with what the client sends.
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import tls from "node:tls";
import { Registry } from "prom-client";
import { type TestCert, testCert } from "../../test/support/certs.ts";
import { healthy } from "../../test/support/serve.ts";
import type { RequestAuth } from "./auth/index.ts";
import { startServer } from "./serve.ts";

let server: http2.Http2SecureServer;
let port: number;
let serving: TestCert;
const MiB = 1 << 20;

const allowAll: RequestAuth = {
  check: async () => ({ allowed: true, user: { name: "test", groups: [], extra: {} } }),
};

before(async () => {
  serving = await testCert("metrics-server", { ip: ["127.0.0.1"] });
  server = await startServer({
    bindAddress: "127.0.0.1",
    port: 0,
    cert: Buffer.from(serving.certPem),
    key: Buffer.from(serving.keyPem),
    auth: allowAll,
    health: healthy(),
    api: {
      handle: (req) =>
        req.path.startsWith("/apis")
          ? { status: 200, contentType: "application/json", body: JSON.stringify({ method: req.method }) }
          : undefined,
    },
    registry: new Registry(),
    version: { gitVersion: "v0.0.0-test" },
    limits: { readTimeoutMs: 1000, idleTimeoutMs: 1500, http2MaxConcurrentStreams: 8 },
  });
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
});

// ---- helpers ----------------------------------------------------------------------------------------

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

async function tlsConnect(alpn: string): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: "127.0.0.1", port, ca: serving.certPem, ALPNProtocols: [alpn] });
  socket.on("error", () => {}); // resets are expected in these tests; "close" is what they wait for
  await within(new Promise((r) => socket.once("secureConnect", r)), 10_000, "TLS handshake");
  return socket;
}

/** Writes raw HTTP/1.1, returns everything read until the server closes the connection. */
async function raw1(write: (s: tls.TLSSocket) => void): Promise<string> {
  const s = await tlsConnect("http/1.1");
  let text = "";
  s.on("data", (d: Buffer) => {
    if (text.length < 64 * 1024) text += d.toString("latin1");
  });
  const closed = new Promise((r) => s.once("close", r));
  write(s);
  await within(closed, 20_000, "server closing the connection");
  return text;
}

async function get2(path: string, headers: http2.OutgoingHttpHeaders = {}, body?: Buffer) {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serving.certPem });
  session.on("error", () => {});
  try {
    const stream = session.request({ ":path": path, ...headers }, { endStream: body === undefined });
    if (body) stream.end(body);
    let status = 0;
    let text = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (d: Buffer) => {
      text += d.toString();
    });
    const rstCode = await within(
      new Promise<number>((resolve) => {
        stream.on("close", () => resolve(stream.rstCode));
        stream.on("error", () => {});
      }),
      20_000,
      "HTTP/2 stream",
    );
    return { status, text, rstCode };
  } finally {
    session.destroy();
  }
}

/** The server still answers a plain request afterwards. */
async function stillServing(): Promise<void> {
  const r = await get2("/healthz");
  assert.equal(r.status, 200);
  assert.equal(r.text, "ok");
}

// A minimal raw HTTP/2 client: enough framing and HPACK (literal fields, no Huffman) to send what the
// node:http2 client refuses to (too many streams, resets in bulk, trickled CONTINUATION frames).
const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, CONTINUATION: 9 } as const;

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

function hpackInt(value: number, prefixBits: number, high = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [high | value];
  const out = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function hpack(headers: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    parts.push(Buffer.from([0x00, ...hpackInt(name.length, 7)]), Buffer.from(name));
    parts.push(Buffer.from(hpackInt(Buffer.byteLength(value), 7)), Buffer.from(value));
  }
  return Buffer.concat(parts);
}

function requestBlock(path: string): Buffer {
  return hpack([
    [":method", "GET"],
    [":scheme", "https"],
    [":authority", "127.0.0.1"],
    [":path", path],
  ]);
}

interface RawH2 {
  socket: tls.TLSSocket;
  resets: Map<number, number>;
  responses: Set<number>;
  goaway: number | undefined;
  closed: Promise<unknown>;
  send(b: Buffer): void;
}

async function rawH2(): Promise<RawH2> {
  const socket = await tlsConnect("h2");
  assert.equal(socket.alpnProtocol, "h2");
  const conn: RawH2 = {
    socket,
    resets: new Map(),
    responses: new Set(),
    goaway: undefined,
    closed: new Promise((r) => socket.once("close", r)),
    send: (b) => {
      if (!socket.destroyed) socket.write(b);
    },
  };
  let settingsAcked: () => void = () => {};
  const settled = new Promise<void>((r) => {
    settingsAcked = r;
  });
  let buf = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const [type, flags] = [buf[3], buf[4]];
      const id = buf.readUInt32BE(5) & 0x7fffffff;
      const payload = buf.subarray(9, 9 + len);
      buf = buf.subarray(9 + len);
      if (type === FRAME.SETTINGS && !(flags! & 1)) {
        conn.send(frame(FRAME.SETTINGS, 1, 0));
        settingsAcked();
      } else if (type === FRAME.RST_STREAM) conn.resets.set(id, payload.readUInt32BE(0));
      else if (type === FRAME.HEADERS) conn.responses.add(id);
      else if (type === FRAME.GOAWAY) conn.goaway = payload.readUInt32BE(4);
    }
  });
  conn.send(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(FRAME.SETTINGS, 0, 0)]));
  // Our SETTINGS ack must not land between a HEADERS frame and its CONTINUATION frames.
  await within(settled, 10_000, "server SETTINGS");
  return conn;
}

async function waitUntil(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- header limits ----------------------------------------------------------------------------------

test("HTTP/1.1: headers over 1 MiB get 431 and the connection is closed", async () => {
  const text = await raw1((s) =>
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(MiB + 1024)}\r\n\r\n`),
  );
  assert.match(text, /^HTTP\/1\.1 431 /);
  assert.match(text, /"kind":"Status"/);
  await stillServing();
});

test("HTTP/1.1: headers just under the limit (Go's 1 MiB, not Node's 16 KiB) are served", async () => {
  const text = await raw1((s) =>
    s.write(
      `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ${"a".repeat(512 * 1024)}\r\n\r\n`,
    ),
  );
  assert.match(text, /^HTTP\/1\.1 200 /);
});

test("HTTP/2: a header list over 1 MiB is refused (REFUSED_STREAM, or 431) and the server carries on", async () => {
  const r = await get2("/healthz", { "x-big": "a".repeat(MiB + 1024) }).catch((err: Error) => ({
    status: 0,
    text: "",
    rstCode: -1,
    err,
  }));
  assert.notEqual(r.status, 200);
  assert.ok(r.status === 431 || r.rstCode !== 0 || "err" in r, JSON.stringify(r));
  await stillServing();
});

// ---- bodies -----------------------------------------------------------------------------------------

test("a declared body over 1 MiB gets 413 RequestEntityTooLarge without being read", async () => {
  const text = await raw1((s) =>
    s.write(
      `POST /apis/metrics.k8s.io/v1beta1/nodes HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * MiB}\r\n\r\n`,
    ),
  );
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.match(text, /"reason":"RequestEntityTooLarge"/);
});

test("HTTP/2: a streamed body over 1 MiB gets 413 and memory stays bounded", async (t) => {
  global.gc?.();
  const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serving.certPem });
  session.on("error", () => {});
  t.after(() => session.destroy());
  const stream = session.request({ ":path": "/healthz", ":method": "GET" }, { endStream: false });
  stream.on("error", () => {});
  let status = 0;
  stream.on("response", (h) => {
    status = Number(h[":status"]);
  });
  let body = "";
  stream.on("data", (d: Buffer) => {
    body += d.toString();
  });
  const closed = new Promise((r) => stream.once("close", r));
  const chunk = Buffer.alloc(64 * 1024, 1);
  let sent = 0;
  // Keep writing (respecting back-pressure) until the server stops the stream, or 64 MiB went out.
  while (!stream.closed && !stream.destroyed && sent < 64 * MiB) {
    if (!stream.write(chunk)) {
      const drained = new Promise((r) => stream.once("drain", r));
      await within(Promise.race([drained, closed]), 20_000, "drain or close");
    }
    sent += chunk.length;
  }
  await within(closed, 20_000, "stream close");
  session.destroy();
  assert.equal(status, 413);
  assert.match(body, /"reason":"RequestEntityTooLarge"/);
  assert.ok(sent < 64 * MiB, `the server kept reading: ${sent} bytes accepted`);
  const grown = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 48 * MiB, `memory grew by ${grown} bytes`);
  await stillServing();
});

test("a small body on GET is read and dropped; the request is served", async () => {
  const r = await get2("/healthz", { ":method": "GET" }, Buffer.from("hello"));
  assert.equal(r.status, 200);
  assert.equal(r.text, "ok");
});

// ---- timeouts ---------------------------------------------------------------------------------------

test("slowloris on HTTP/1.1: trickled header lines are cut off by the read timeout", async () => {
  const s = await tlsConnect("http/1.1");
  s.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  const trickle = setInterval(() => {
    if (!s.destroyed) s.write("X-Slow: 1\r\n");
  }, 100);
  let answered = "";
  s.on("data", (d: Buffer) => {
    answered += d.toString();
  });
  try {
    await within(new Promise((r) => s.once("close", r)), 20_000, "slowloris connection closed");
  } finally {
    clearInterval(trickle);
  }
  assert.equal(answered, "", "no request was ever completed");
  await stillServing();
});

test("slowloris on HTTP/2: a header block left unfinished ends the session after the read timeout", async () => {
  const c = await rawH2();
  c.send(frame(FRAME.HEADERS, 0x1 /* END_STREAM, no END_HEADERS */, 1, requestBlock("/healthz")));
  // A couple of CONTINUATION frames, then silence. (Trickling many is stopped by nghttp2 itself: more
  // than 8 CONTINUATION frames per block end the session with GOAWAY INTERNAL_ERROR, as observed.)
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 200));
    c.send(frame(FRAME.CONTINUATION, 0, 1, hpack([["x-slow", String(i)]])));
  }
  await within(c.closed, 20_000, "HTTP/2 slowloris session closed");
  assert.equal(c.responses.size, 0);
  // session.destroy() says GOAWAY NO_ERROR; a protocol error would carry another code.
  assert.ok(c.goaway === undefined || c.goaway === http2.constants.NGHTTP2_NO_ERROR, `GOAWAY ${c.goaway}`);
  await stillServing();
});

test("HTTP/2: more than 8 CONTINUATION frames in one block get GOAWAY (nghttp2's flood limit)", async () => {
  const c = await rawH2();
  c.send(frame(FRAME.HEADERS, 0x1, 1, requestBlock("/healthz")));
  for (let i = 0; i < 20 && !c.socket.destroyed; i++)
    c.send(frame(FRAME.CONTINUATION, 0, 1, hpack([["x-f", "1"]])));
  await within(c.closed, 20_000, "session closed");
  assert.ok(c.goaway !== undefined && c.goaway !== http2.constants.NGHTTP2_NO_ERROR, `GOAWAY ${c.goaway}`);
  await stillServing();
});

test("an idle HTTP/1.1 keep-alive connection is closed after the idle timeout", async () => {
  const text = await raw1((s) => s.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.match(text, /^HTTP\/1\.1 200 /, "served first, then closed while idle");
});

test("a body that never finishes gets 408 after the read timeout", async () => {
  const text = await raw1((s) =>
    s.write("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"),
  );
  assert.match(text, /^HTTP\/1\.1 408 /);
});

// ---- HTTP/2 stream limits -----------------------------------------------------------------------------

test("HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS is advertised and enforced", async () => {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serving.certPem });
  session.on("error", () => {});
  await within(new Promise((r) => session.once("remoteSettings", r)), 10_000, "settings");
  assert.equal(session.remoteSettings.maxConcurrentStreams, 8);
  session.destroy();

  // Twelve streams whose bodies never end stay open; the ones past the limit are refused.
  const c = await rawH2();
  for (let i = 0; i < 12; i++)
    c.send(frame(FRAME.HEADERS, 0x4 /* END_HEADERS only */, 1 + 2 * i, requestBlock("/healthz")));
  await waitUntil(() => c.resets.size >= 4 || c.goaway !== undefined, "refused streams");
  const refused = [...c.resets.values()];
  assert.ok(
    refused.every(
      (code) =>
        code === http2.constants.NGHTTP2_REFUSED_STREAM || code === http2.constants.NGHTTP2_PROTOCOL_ERROR,
    ),
    `reset codes ${refused}`,
  );
  c.socket.destroy();
  await stillServing();
});

test("HTTP/2 rapid reset: thousands of opened-and-cancelled streams end in GOAWAY, the server stays up", async () => {
  const c = await rawH2();
  const block = requestBlock("/healthz");
  let sent = 0;
  for (let batch = 0; batch < 50 && !c.socket.destroyed && c.goaway === undefined; batch++) {
    const frames: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const id = 1 + 2 * sent++;
      frames.push(
        frame(FRAME.HEADERS, 0x5, id, block),
        frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])),
      );
    }
    c.send(Buffer.concat(frames));
    await new Promise((r) => setImmediate(r));
  }
  // Node (nghttp2's stream reset rate limit, 1000 burst / 33 per second) answers with GOAWAY
  // ENHANCE_YOUR_CALM or closes the connection outright.
  await within(c.closed, 20_000, "rapid-reset connection closed");
  assert.ok(
    c.goaway === undefined || c.goaway !== http2.constants.NGHTTP2_NO_ERROR,
    `GOAWAY code ${c.goaway}`,
  );
  assert.ok(sent < 10_000, `all ${sent} streams were accepted`);
  await stillServing();
});

// ---- URLs and methods --------------------------------------------------------------------------------

test("a URL over 32 KiB gets 414 with a Status on both protocols", async () => {
  const path = `/apis/metrics.k8s.io/v1beta1/pods?labelSelector=${"a".repeat(40 * 1024)}`;
  const r2 = await get2(path);
  assert.equal(r2.status, 414);
  assert.equal(JSON.parse(r2.text).code, 414);
  const text = await raw1((s) => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
  assert.match(text, /^HTTP\/1\.1 414 /);
  await stillServing();
});

test("unknown and non-GET methods on the non-API endpoints get 405 MethodNotAllowed", async () => {
  for (const [method, path] of [
    ["PROPFIND", "/healthz"],
    ["POST", "/metrics"],
    ["DELETE", "/version"],
    ["OPTIONS", "/readyz"],
  ] as const) {
    const r = await get2(path, { ":method": method });
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(JSON.parse(r.text).reason, "MethodNotAllowed");
  }
  const text = await raw1((s) => s.write("PROPFIND /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  assert.match(text, /^HTTP\/1\.1 405 /);
  // The API decides for its own paths (it answers 405 for anything but GET).
  assert.deepEqual(JSON.parse((await get2("/apis", { ":method": "PROPFIND" })).text), { method: "PROPFIND" });
});

// ---- not TLS at all ----------------------------------------------------------------------------------

test("plain HTTP and garbage on the TLS port: connection closed, server fine", async () => {
  const net = await import("node:net");
  for (const junk of [
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "\x16\x03\x01\x00\x05hello-not-a-handshake",
    "\0".repeat(5000),
  ]) {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    s.on("data", () => {});
    s.write(junk);
    await within(new Promise((r) => s.once("close", r)), 20_000, "server closing a non-TLS connection");
  }
  // A client that connects and says nothing is dropped by the handshake timeout.
  const silent = net.connect(port, "127.0.0.1");
  silent.on("error", () => {});
  await within(new Promise((r) => silent.once("close", r)), 20_000, "silent client dropped");
  await stillServing();
});
