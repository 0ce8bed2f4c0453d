// shutdownServer on the real listener: a body far larger than the kernel's socket buffers is in flight
// (the client paused after its first bytes, so the server is blocked writing it) when the shutdown
// starts. It must arrive whole, over HTTP/1.1 (whose kept-alive connection is then closed) and over
// HTTP/2 (whose client gets GOAWAY); new connections are refused; a client that never reads is cut at
// the deadline.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { type TestContext, test } from "node:test";
import { startLoopbackServer } from "../../test/support/serve.ts";
import { shutdownServer } from "./shutdown.ts";

// 32 MiB: several times what loopback sockets buffer, so the response is still being written.
const CHUNK_BYTES = 64 * 1024;
const CHUNK_COUNT = 512;
const BODY_BYTES = 1 + CHUNK_BYTES * CHUNK_COUNT;

function* bigChunks(): Generator<string> {
  for (let i = 0; i < CHUNK_COUNT; i++) yield String.fromCharCode(97 + (i % 26)).repeat(CHUNK_BYTES);
}

async function listening(t: TestContext): Promise<{ server: http2.Http2SecureServer; port: number }> {
  const { server, port } = await startLoopbackServer({
    api: { handle: () => ({ status: 200, contentType: "application/json", body: "[", chunks: bigChunks() }) },
  });
  t.after(() => server.close());
  return { server, port };
}

/** Reads a body: the first bytes, then nothing until resume() is called. */
function pausedReader(stream: NodeJS.ReadableStream & { pause(): void; resume(): void }) {
  let bytes = 0;
  let first: () => void = () => {};
  const started = new Promise<void>((r) => {
    first = r;
  });
  const ended = new Promise<number>((resolve, reject) => {
    stream.on("data", (d: Buffer) => {
      if (bytes === 0) {
        stream.pause();
        first();
      }
      bytes += d.length;
    });
    stream.on("end", () => resolve(bytes));
    stream.on("error", reject);
    stream.on("close", () => reject(new Error(`body cut after ${bytes} bytes`)));
  });
  ended.catch(() => {});
  return { started, ended, resume: () => stream.resume() };
}

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = https.get({
      host: "127.0.0.1",
      port,
      path: "/readyz",
      rejectUnauthorized: false,
      agent: false,
    });
    req.on("response", (res) => resolve(`answered ${res.statusCode}`));
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
}

test("HTTP/1.1: a body in flight finishes, then the kept-alive connection is closed", async (t) => {
  const { server, port } = await listening(t);
  const agent = new https.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port, path: "/apis/big", agent, rejectUnauthorized: false }, resolve)
      .on("error", reject);
  });
  assert.equal(res.headers.connection, "keep-alive");
  const socketClosed = new Promise<void>((r) => res.socket.once("close", () => r()));
  const reader = pausedReader(res);
  await reader.started;

  const shutdown = shutdownServer(server, 60_000);
  assert.equal(await refused(port), "ECONNREFUSED");
  reader.resume();
  assert.equal(await reader.ended, BODY_BYTES);
  // The next request on the kept-alive connection (or, once the client saw it close, on a new one)
  // is not served: the server ended the connection after the body instead of waiting for it.
  const next = await new Promise<string>((resolve) => {
    const req = https.get({ host: "127.0.0.1", port, path: "/readyz", agent, rejectUnauthorized: false });
    req.on("response", (r) => resolve(`answered ${r.statusCode}`));
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
  assert.match(next, /^(ECONNRESET|ECONNREFUSED|EPIPE)$/);
  await socketClosed;
  assert.equal(await shutdown, 0, "no connection had to be cut");
});

test("HTTP/2: a stream in flight finishes after GOAWAY, and no new stream is accepted", async (t) => {
  const { server, port } = await listening(t);
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  t.after(() => session.destroy());
  session.on("error", () => {});
  const goaway = new Promise<number>((r) => session.once("goaway", (code: number) => r(code)));
  const stream = session.request({ ":path": "/apis/big" });
  const reader = pausedReader(stream);
  await reader.started;

  const shutdown = shutdownServer(server, 60_000);
  assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
  assert.equal(await refused(port), "ECONNREFUSED");
  const late = session.request({ ":path": "/apis/big" });
  const lateOutcome = await new Promise<string>((resolve) => {
    late.on("response", (h) => resolve(`answered ${h[":status"]}`));
    late.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
  assert.notEqual(lateOutcome, "answered 200");
  reader.resume();
  assert.equal(await reader.ended, BODY_BYTES);
  assert.equal(await shutdown, 0, "no connection had to be cut");
});

test("a client that stops reading is cut at the deadline", async (t) => {
  const { server, port } = await listening(t);
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  t.after(() => session.destroy());
  session.on("error", () => {});
  const stream = session.request({ ":path": "/apis/big" });
  const reader = pausedReader(stream);
  await reader.started;
  // Also a connection that never finishes its TLS handshake.
  const silent = await new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
  });
  t.after(() => silent.destroy());
  const cut = await shutdownServer(server, 300);
  assert.equal(cut, 2);
  await assert.rejects(reader.ended, /body cut|stream|closed|ECONNRESET/i);
});
