// --max-requests-inflight, --max-mutating-requests-inflight and --request-timeout on a real
// listener: held requests fill the limit, the next gets upstream's 429; a request still running at
// the timeout gets upstream's 504, or its stream reset once it has started writing.
import assert from "node:assert/strict";
import http2 from "node:http2";
import https from "node:https";
import { test } from "node:test";
import { Registry } from "prom-client";
import { sampleSum } from "../../test/support/exposition.ts";
import { poll } from "../../test/support/poll.ts";
import { startLoopbackServer } from "../../test/support/serve.ts";
import { InflightLimiter, isLongRunning, TIMEOUT_BODY } from "./inflight.ts";
import type { ServeLimits } from "./limits.ts";
import { registerApiServerMetrics } from "./monitoring.ts";
import type { ApiResponse } from "./types.ts";

test("InflightLimiter: a limit per kind, each slot released once, 0 means no limit", () => {
  const l = new InflightLimiter(2, 0);
  const a = l.tryAcquire("readOnly");
  const b = l.tryAcquire("readOnly");
  assert.ok(a && b);
  assert.equal(l.tryAcquire("readOnly"), undefined);
  a();
  a();
  assert.equal(l.inflight("readOnly"), 1);
  assert.ok(l.tryAcquire("readOnly"));
  for (let i = 0; i < 1000; i++) assert.ok(l.tryAcquire("mutating"));
});

test("isLongRunning: resource watches only (the generic server's default LongRunningFunc)", () => {
  const q = (s: string) => new URLSearchParams(s);
  assert.equal(isLongRunning("GET", "/apis/metrics.k8s.io/v1beta1/pods", q("watch=true")), true);
  assert.equal(isLongRunning("GET", "/apis/metrics.k8s.io/v1beta1/pods", q("watch=1")), true);
  assert.equal(isLongRunning("GET", "/apis/metrics.k8s.io/v1beta1/watch/pods", q("")), true);
  assert.equal(isLongRunning("GET", "/apis/metrics.k8s.io/v1beta1/pods", q("watch=false")), false);
  assert.equal(isLongRunning("GET", "/apis/metrics.k8s.io/v1beta1/pods", q("")), false);
  assert.equal(isLongRunning("POST", "/apis/metrics.k8s.io/v1beta1/pods", q("watch=true")), false);
  assert.equal(isLongRunning("GET", "/healthz", q("watch=true")), false);
  assert.equal(isLongRunning("GET", "/metrics", q("")), false);
});

interface Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** A server whose /apis/hold requests wait until released; /apis/big is a 16 MiB list. */
async function holdingServer(t: import("node:test").TestContext, limits: Partial<ServeLimits>) {
  const waiting: Array<() => void> = [];
  let started = 0;
  const hold = (): ApiResponse => ({
    status: 200,
    contentType: "application/json",
    body: "{}\n",
    refine: () => {
      started++;
      return new Promise((resolve) =>
        waiting.push(() => resolve({ status: 200, contentType: "application/json", body: "{}\n" })),
      );
    },
  });
  // A large list is written in chunks at the pace the client reads (response.ts sendChunked).
  const chunk = "a".repeat(64 << 10);
  function* bigChunks(): Generator<string> {
    for (let i = 0; i < 256; i++) yield chunk;
  }
  const registry = new Registry();
  registerApiServerMetrics(registry);
  const { server, port, cert } = await startLoopbackServer({
    registry,
    api: {
      handle: (req) => {
        if (req.path === "/apis/hold") return hold();
        if (req.path === "/apis/big")
          return { status: 200, contentType: "application/json", body: "[", chunks: bigChunks() };
        if (req.path.startsWith("/apis/"))
          return { status: 200, contentType: "application/json", body: "{}\n" };
        return undefined;
      },
    },
    auth: {
      // x-group makes the caller a member of that group (system:masters is never limited).
      check: async (r) => ({
        allowed: true,
        user: { name: "u", groups: [String(r.headers["x-group"] ?? "system:authenticated")], extra: {} },
      }),
    },
    limits,
  });
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: cert.certPem });
  session.on("error", () => {});
  t.after(() => {
    for (const w of waiting.splice(0)) w();
    session.destroy();
    server.close();
  });
  const send = (path: string, headers: http2.OutgoingHttpHeaders = {}): http2.ClientHttp2Stream => {
    const s = session.request({ ":path": path, ...headers });
    s.on("error", () => {});
    s.end();
    return s;
  };
  const read = (s: http2.ClientHttp2Stream): Promise<Reply> =>
    new Promise((resolve, reject) => {
      let headers: http2.IncomingHttpHeaders = {};
      const parts: Buffer[] = [];
      s.on("response", (h) => {
        headers = h;
      });
      s.on("data", (d: Buffer) => parts.push(d));
      s.on("end", () =>
        resolve({ status: Number(headers[":status"]), headers, body: Buffer.concat(parts).toString() }),
      );
      s.on("error", reject);
      s.on("close", () => {
        if (s.rstCode !== http2.constants.NGHTTP2_NO_ERROR) reject(new Error(`reset ${s.rstCode}`));
      });
    });
  const get = (path: string, headers?: http2.OutgoingHttpHeaders) => read(send(path, headers));
  const dropped = async (kind: string) =>
    sampleSum(await registry.metrics(), "apiserver_dropped_requests_total", { request_kind: kind });
  return { dropped, server, port, cert, waiting, started: () => started, send, read, get };
}

test("beyond --max-requests-inflight: 429 with Retry-After: 1 and upstream's text", async (t) => {
  const s = await holdingServer(t, {
    maxRequestsInflight: 2,
    maxMutatingRequestsInflight: 1,
    requestTimeoutMs: 0,
  });
  const held = [s.read(s.send("/apis/hold")), s.read(s.send("/apis/hold"))];
  await poll(
    "both held requests to reach the handler",
    async () => (s.started() === 2 ? true : undefined),
    20_000,
    10,
  );

  const droppedBefore = await s.dropped("readOnly");
  const refused = await s.get("/apis/other");
  assert.equal(refused.status, 429);
  assert.equal(refused.headers["retry-after"], "1");
  assert.equal(refused.headers["content-type"], "text/plain; charset=utf-8");
  assert.equal(refused.body, "Too many requests, please try again later.\n");
  // Health endpoints are limited too, as upstream's are (they are behind the same filter).
  assert.equal((await s.get("/readyz")).status, 429);
  assert.equal((await s.dropped("readOnly")) - droppedBefore, 2);

  // Excepted: watches (long-running), system:masters, and the other kind under its own limit.
  assert.equal((await s.get("/apis/x/v1/pods?watch=true")).status, 200);
  assert.equal((await s.get("/apis/other", { "x-group": "system:masters" })).status, 200);
  assert.equal((await s.get("/apis/other", { ":method": "POST" })).status, 200);

  for (const w of s.waiting.splice(0)) w();
  for (const r of await Promise.all(held)) assert.equal(r.status, 200);
  await poll(
    "a slot to be free again",
    async () => ((await s.get("/apis/other")).status === 200 ? true : undefined),
    20_000,
    50,
  );
});

test("a body the client does not read keeps its slot until the stream closes", async (t) => {
  const s = await holdingServer(t, { maxRequestsInflight: 1, requestTimeoutMs: 0 });
  const stalled = s.send("/apis/big");
  stalled.pause();
  await new Promise((resolve) => stalled.once("response", resolve));
  assert.equal((await s.get("/apis/other")).status, 429);
  stalled.close(http2.constants.NGHTTP2_CANCEL);
  await poll(
    "the slot to be released",
    async () => ((await s.get("/apis/other")).status === 200 ? true : undefined),
    20_000,
    50,
  );
});

test("a request still running at --request-timeout gets upstream's 504", async (t) => {
  const s = await holdingServer(t, { requestTimeoutMs: 200 });
  const r = await s.get("/apis/hold");
  assert.equal(r.status, 504);
  assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
  assert.equal(r.body, TIMEOUT_BODY);
  assert.deepEqual(JSON.parse(r.body), {
    metadata: {},
    status: "Failure",
    message: "Timeout: request did not complete within the allotted timeout",
    reason: "Timeout",
    details: {},
    code: 504,
  });
  // The handler finishing later writes nothing more, and the server keeps serving.
  for (const w of s.waiting.splice(0)) w();
  assert.equal((await s.get("/apis/other")).status, 200);
});

test("a response already sending at --request-timeout is reset (HTTP/2) or cut (HTTP/1.1)", async (t) => {
  const s = await holdingServer(t, { requestTimeoutMs: 300, maxRequestsInflight: 1 });
  const stalled = s.send("/apis/big");
  stalled.pause();
  const closed = new Promise<number>((resolve) =>
    stalled.once("close", () => resolve(stalled.rstCode ?? -1)),
  );
  assert.equal(await closed, http2.constants.NGHTTP2_INTERNAL_ERROR);
  // Its slot is free again.
  await poll(
    "the slot to be released",
    async () => ((await s.get("/apis/other")).status === 200 ? true : undefined),
    20_000,
    50,
  );

  // HTTP/1.1: the server closes the connection. (A paused client reads nothing, EOF included, so
  // the server's count of connections is what shows it.)
  const connections = (): Promise<number> =>
    new Promise((resolve, reject) => s.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  const before = await connections();
  let complete = false;
  const req = https.get(
    { host: "127.0.0.1", port: s.port, path: "/apis/big", ca: s.cert.certPem, agent: false },
    (res) => {
      res.pause();
      res.on("error", () => {});
      res.on("end", () => {
        complete = true;
      });
    },
  );
  req.on("error", () => {});
  t.after(() => req.destroy());
  await poll(
    "the HTTP/1.1 connection to open",
    async () => ((await connections()) > before ? true : undefined),
    20_000,
    10,
  );
  await poll(
    "the HTTP/1.1 connection to be closed",
    async () => ((await connections()) === before ? true : undefined),
    20_000,
    20,
  );
  assert.equal(complete, false);
});

test("watches are not timed out", async (t) => {
  const s = await holdingServer(t, { requestTimeoutMs: 100 });
  const r = s.read(s.send("/apis/hold?watch=true"));
  await poll(
    "the watch to reach the handler",
    async () => (s.started() === 1 ? true : undefined),
    20_000,
    10,
  );
  // Long past the timeout (polled, not timed): still held, so the 504 never came.
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const w of s.waiting.splice(0)) w();
  assert.equal((await r).status, 200);
});
