import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { after, before, test } from "node:test";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { testCert } from "../test/support/certs.ts";
import { connect, countItems, h2Get, h2Stream, runSchedule, schedulePlan, TargetRunner } from "./load.ts";
import { LoadWorkers } from "./load-threads.ts";

const list = (n: number): string =>
  JSON.stringify({
    kind: "PodMetricsList",
    items: Array.from({ length: n }, (_, i) => ({ metadata: { name: `pod-${i}`, namespace: "default" } })),
  });
const SMALL_LIST = list(3);
const ONE = JSON.stringify({ kind: "PodMetrics", metadata: { name: "pod-0" } });

let cert: { certPem: string; keyPem: string };
let server: http2.Http2SecureServer;
let authority = "";
/** Answers to /hold requests, waiting for the test to release them. */
let held: (() => void)[] = [];

before(async () => {
  cert = await testCert("load-test", { ip: ["127.0.0.1"] });
  server = http2.createSecureServer({ cert: cert.certPem, key: cert.keyPem });
  server.on("stream", (stream, headers) => {
    const path = headers[":path"];
    if (path === "/list") {
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(SMALL_LIST);
    } else if (path === "/one" || path === "/hold") {
      const answer = (): void => {
        if (stream.closed) return; // the client gave up on it
        stream.respond({ ":status": 200, "content-type": "application/json" });
        stream.end(ONE);
      };
      if (path === "/hold") held.push(answer);
      else answer();
    } else if (path === "/cut") {
      // Headers and part of a body, then the connection drops: a truncated answer.
      stream.respond({ ":status": 200 });
      stream.write(`{"items":[`, () => stream.session?.socket.destroy());
    } else {
      stream.respond({ ":status": 404 });
      stream.end(`not found: ${"x".repeat(1000)}`);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  authority = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
});

const options = (durationMs: number, concurrency = 4) => ({
  authority,
  cert: cert.certPem,
  key: cert.keyPem,
  concurrency,
  durationMs,
});

test("h2Stream counts the body's bytes and keeps it only when asked", async (t) => {
  const session = connect(authority, cert.certPem, cert.keyPem);
  t.after(() => session.destroy());
  const counted = await h2Stream(session, "/list", 10_000, false);
  assert.equal(counted.status, 200);
  assert.equal(counted.bytes, Buffer.byteLength(SMALL_LIST));
  assert.deepEqual(counted.chunks, []);
  const kept = await h2Stream(session, "/list", 10_000, true);
  assert.equal(Buffer.concat(kept.chunks).toString(), SMALL_LIST);
  const whole = await h2Get(session, "/list", 10_000);
  assert.equal(whole.body.toString(), SMALL_LIST);
});

test("h2Stream: a non-200 answer keeps only the start of its body; a cut-off body is an error", async (t) => {
  const session = connect(authority, cert.certPem, cert.keyPem);
  t.after(() => session.destroy());
  const missing = await h2Stream(session, "/nope", 10_000, false);
  assert.equal(missing.status, 404);
  assert.ok(missing.errorBody.startsWith("not found: xxx"));
  assert.equal(missing.errorBody.length, 200);
  assert.ok(missing.bytes > 1000);
  const hung = await h2Stream(session, "/hold", 200, false);
  assert.equal(hung.status, 0);
  assert.match(hung.error ?? "", /timed out after 200 ms/);
  for (const answer of held.splice(0)) answer();
  const doomed = connect(authority, cert.certPem, cert.keyPem);
  t.after(() => doomed.destroy());
  const cut = await h2Stream(doomed, "/cut", 10_000, true);
  assert.equal(cut.status, 0);
  assert.match(cut.error ?? "", /before the body ended/);
  assert.deepEqual(cut.chunks, []);
});

test("countItems: a list's length, 1 for another object, 0 for anything that is not a JSON object", () => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { maxLength: 50 }), (items) => {
      assert.equal(countItems(Buffer.from(JSON.stringify({ kind: "List", items }))), items.length);
    }),
  );
  assert.equal(countItems(Buffer.from(ONE)), 1);
  for (const bad of ["", "{", "null", "42", '"items"']) assert.equal(countItems(Buffer.from(bad)), 0);
});

test("countItems reads Kubernetes protobuf: a list's items, 1 for a single object, 0 for broken bytes", () => {
  // Field `n` of wire type 2 holding `bytes` (lengths below 128: one-byte varints).
  const field = (n: number, bytes: Buffer): Buffer =>
    Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes]);
  const envelope = (object: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from("k8s\0", "latin1"),
      field(1, Buffer.from("tm")),
      field(2, object),
      field(4, Buffer.alloc(0)),
    ]);
  const item = field(1, Buffer.from("meta"));
  const list = Buffer.concat([field(1, Buffer.alloc(0)), field(2, item), field(2, item), field(2, item)]);
  assert.equal(countItems(envelope(list)), 3);
  assert.equal(countItems(envelope(field(1, Buffer.alloc(0)))), 0, "an empty list");
  const single = Buffer.concat([
    field(1, Buffer.from("m")),
    field(2, Buffer.from("ts")),
    field(3, Buffer.from("w")),
  ]);
  assert.equal(countItems(envelope(single)), 1);
  assert.equal(countItems(envelope(list).subarray(0, 20)), 0, "cut short");
});

test("schedulePlan: rate × duration requests (at least one), evenly spaced", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.01, max: 10_000, noNaN: true }),
      fc.integer({ min: 0, max: 600_000 }),
      (rate, ms) => {
        const plan = schedulePlan(rate, ms);
        assert.equal(plan.total, Math.max(1, Math.floor((ms / 1000) * rate)));
        assert.equal(plan.intervalMs, 1000 / rate);
        assert.equal(plan.offsetMs, 0);
      },
    ),
  );
});

test("schedulePlan: a phase shifts the schedule by that part of one interval, nothing else", () => {
  const plain = schedulePlan(0.1, 45_000);
  const shifted = schedulePlan(0.1, 45_000, 0.5);
  assert.equal(shifted.offsetMs, 5_000);
  assert.equal(shifted.intervalMs, plain.intervalMs);
  assert.equal(shifted.total, plain.total);
});

test("runSchedule: latency counts from the scheduled send, so overdue requests carry their wait", async () => {
  const opts = options(200);
  const runner = new TargetRunner({ name: "listPods", path: "/list", ratePerSecond: 50 }, opts);
  await runner.warmUp(10_000);
  // A start 1 s in the past: all 10 slots are overdue, as behind a stalled event loop.
  await runSchedule(runner, opts, performance.now() - 1000);
  runner.countSampleItems();
  const r = runner.result;
  assert.equal(r.scheduled, 10);
  assert.equal(r.completed, 10);
  assert.equal(r.errors, 0);
  assert.equal(r.unfinished, 0);
  assert.deepEqual(r.statuses, { "200": 10 });
  assert.equal(r.items, 3);
  assert.equal(r.meanResponseBytes, Buffer.byteLength(SMALL_LIST));
  // Slot i was due 1000 − 20·i ms before the start.
  assert.ok(Math.min(...r.latenciesMs) >= 1000 - 9 * 20, `latencies: ${r.latenciesMs.join(", ")}`);
});

test("runSchedule: at most `concurrency` requests in flight; the rest queue", async () => {
  held = [];
  const opts = { ...options(100, 2), drainTimeoutMs: 30_000 };
  const runner = new TargetRunner({ name: "getPod", path: "/hold", ratePerSecond: 50 }, opts);
  const done = runSchedule(runner, opts, performance.now() - 1000);
  // The server holds every answer, so what it holds is what is in flight. Release one whenever the
  // client has filled its slots (or nothing more can come), until all 5 were answered.
  const deadline = Date.now() + 20_000;
  let mostHeld = 0;
  while (runner.result.completed < 5) {
    assert.ok(Date.now() < deadline, `stuck: ${runner.result.completed} answered, ${held.length} held`);
    mostHeld = Math.max(mostHeld, held.length);
    if (held.length >= 2 || runner.result.completed + held.length >= 5) held.shift()?.();
    await new Promise((r) => setTimeout(r, 5));
  }
  await done;
  assert.equal(runner.result.completed, 5);
  assert.equal(runner.result.errors, 0);
  assert.equal(mostHeld, 2);
});

test("a call kind whose server is unreachable counts errors and never throws", async () => {
  const opts = { ...options(100), authority: "127.0.0.1:1", requestTimeoutMs: 5_000 };
  const runner = new TargetRunner({ name: "getPod", path: "/one", ratePerSecond: 30 }, opts);
  await runner.warmUp(5_000);
  await runSchedule(runner, opts, performance.now());
  assert.equal(runner.result.scheduled, 3);
  assert.equal(runner.result.errors, 3);
  assert.equal(runner.result.statuses.transport, 3);
  assert.ok(runner.result.errorSamples.length > 0);
});

// The server for the worker test runs in its own thread, so this thread can block completely.
const SERVER_IN_A_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const http2 = require("node:http2");
const answered = new Int32Array(workerData.answered);
const server = http2.createSecureServer({ cert: workerData.cert, key: workerData.key });
server.on("stream", (stream, headers) => {
  stream.respond({ ":status": 200, "content-type": "application/json" });
  stream.end(headers[":path"] === "/big" ? workerData.big : workerData.one);
  Atomics.add(answered, 0, 1);
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
parentPort.on("message", () => server.close(() => parentPort.close()));
`;

test("LoadWorkers: each call kind runs in its own thread, even while this thread is blocked", async (t) => {
  const answered = new Int32Array(new SharedArrayBuffer(4));
  const big = list(20_000);
  const serverThread = new Worker(SERVER_IN_A_THREAD, {
    eval: true,
    workerData: { answered: answered.buffer, cert: cert.certPem, key: cert.keyPem, big, one: ONE },
  });
  t.after(() => serverThread.terminate());
  const port = await new Promise<number>((r) => serverThread.once("message", r));
  const workers = await LoadWorkers.start(
    [
      { name: "listPods", path: "/big", ratePerSecond: 4 },
      { name: "getPod", path: "/one", ratePerSecond: 20 },
    ],
    { ...options(1000), authority: `127.0.0.1:${port}` },
  );
  t.after(() => workers.stop());
  const running = workers.run();
  // Block this thread (no event loop turns at all) until the server answered every request: only
  // load running on other threads can get there.
  const deadline = Date.now() + 30_000;
  while (Atomics.load(answered, 0) < 24) {
    assert.ok(Date.now() < deadline, `only ${Atomics.load(answered, 0)} of 24 requests answered`);
    Atomics.wait(answered, 0, Atomics.load(answered, 0), 50);
  }
  const [listPods, getPod] = await running;
  assert.equal(listPods!.result.name, "listPods");
  assert.equal(listPods!.result.completed, 4);
  assert.equal(listPods!.result.items, 20_000);
  assert.equal(listPods!.result.meanResponseBytes, Buffer.byteLength(big));
  assert.equal(getPod!.result.name, "getPod");
  assert.equal(getPod!.result.completed, 20);
  assert.equal(getPod!.result.errors, 0);
  assert.equal(getPod!.result.items, 1);
  for (const { thread } of [listPods!, getPod!]) {
    assert.ok(Number.isFinite(thread.cpuSeconds) && thread.cpuSeconds > 0, `cpu ${thread.cpuSeconds}`);
    assert.ok(thread.wallSeconds > 0);
    assert.ok(Number.isFinite(thread.mCpu));
  }
});
