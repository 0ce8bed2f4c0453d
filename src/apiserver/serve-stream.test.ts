// Chunked API bodies (large lists at thousands of nodes): written with backpressure, other requests served in between, and an
// abandoned list stops being produced.
import assert from "node:assert/strict";
import http2 from "node:http2";
import https from "node:https";
import { after, before, test } from "node:test";
import type { TestCert } from "../../test/support/certs.ts";
import { startLoopbackServer } from "../../test/support/serve.ts";
import type { ApiResponse } from "./types.ts";

const CHUNK_COUNT = 200;
const CHUNK_BYTES = 64 * 1024;

let server: http2.Http2SecureServer;
let port: number;
let serving: TestCert;
/** Chunks produced so far by the latest big response, and whether its generator was closed. */
let produced = 0;
let released = false;
let bigRequests = 0;

function chunkText(i: number): string {
  return String.fromCharCode(97 + (i % 26)).repeat(CHUNK_BYTES);
}

function* bigChunks(): Generator<string> {
  try {
    for (let i = 0; i < CHUNK_COUNT; i++) {
      produced++;
      yield chunkText(i);
    }
  } finally {
    released = true;
  }
}

const EXPECTED_BIG = "[" + Array.from({ length: CHUNK_COUNT }, (_, i) => chunkText(i)).join("");

function handle(path: string): ApiResponse | undefined {
  if (path === "/apis/big") {
    produced = 0;
    released = false;
    bigRequests++;
    return { status: 200, contentType: "application/json", body: "[", chunks: bigChunks() };
  }
  if (path === "/apis/small") return { status: 200, contentType: "application/json", body: "{}\n" };
  return undefined;
}

before(async () => {
  ({
    server,
    port,
    cert: serving,
  } = await startLoopbackServer({ api: { handle: (req) => handle(req.path) } }));
});

after(() => server.close());

function connect(): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serving.certPem });
  session.on("error", () => {});
  return session;
}

function read(
  stream: http2.ClientHttp2Stream,
): Promise<{ headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    let headers: http2.IncomingHttpHeaders = {};
    const parts: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("data", (d: Buffer) => parts.push(d));
    stream.on("end", () => resolve({ headers, body: Buffer.concat(parts).toString() }));
    stream.on("error", reject);
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("HTTP/2: a chunked body arrives whole, without a content-length", async (t) => {
  const session = connect();
  t.after(() => session.close());
  const r = await read(session.request({ ":path": "/apis/big" }));
  assert.equal(r.headers[":status"], 200);
  assert.equal(r.headers["content-length"], undefined);
  assert.equal(r.headers["content-type"], "application/json");
  assert.equal(r.body.length, EXPECTED_BIG.length);
  assert.ok(r.body === EXPECTED_BIG, "body is the head followed by every chunk, in order");
  assert.equal(released, true);
});

test("HTTP/1.1: a chunked body uses chunked transfer encoding and arrives whole", async () => {
  const r = await new Promise<{ te: string | undefined; body: string }>((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port, path: "/apis/big", ca: serving.certPem, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () =>
          resolve({ te: res.headers["transfer-encoding"], body: Buffer.concat(parts).toString() }),
        );
      })
      .on("error", reject);
  });
  assert.equal(r.te, "chunked");
  assert.ok(r.body === EXPECTED_BIG);
});

test("a slow reader holds back production, and small requests are served meanwhile", async (t) => {
  const slow = connect();
  const other = connect();
  t.after(() => {
    slow.close();
    other.close();
  });
  const before = bigRequests;
  const big = slow.request({ ":path": "/apis/big" });
  big.pause(); // read nothing yet: flow control fills up and the server must wait for drain
  const parts: Buffer[] = [];
  await until(() => bigRequests > before && produced > 0, "the big response to start");
  const small = await read(other.request({ ":path": "/apis/small" }));
  assert.equal(small.body, "{}\n");
  assert.ok(produced < CHUNK_COUNT, `production waited for the reader (${produced} of ${CHUNK_COUNT})`);
  const done = new Promise<void>((resolve) => big.on("end", resolve));
  big.on("data", (d: Buffer) => parts.push(d));
  big.resume();
  await done;
  assert.ok(Buffer.concat(parts).toString() === EXPECTED_BIG);
});

test("a client that goes away stops the list being produced", async () => {
  const session = connect();
  const before = bigRequests;
  const big = session.request({ ":path": "/apis/big" });
  big.on("error", () => {});
  big.pause();
  await until(() => bigRequests > before && produced > 0, "the big response to start");
  session.destroy();
  await until(() => released, "the generator to be released");
  assert.ok(produced < CHUNK_COUNT);
});
