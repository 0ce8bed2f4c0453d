// A large protobuf list over HTTPS: encoded in batches with other requests served in
// between, the same bytes as the one-shot encoding; a body that fails before its first byte is a 500.
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, test } from "node:test";
import type { TestCert } from "../../test/support/certs.ts";
import { FakeMetrics, FakeStore, pod } from "../../test/support/fake-stores.ts";
import { startLoopbackServer } from "../../test/support/serve.ts";
import { MetricsApi, protobufEncoder } from "../api/index.ts";
import type { ApiRequest, ApiResponse } from "../apiserver/index.ts";

const V = "/apis/metrics.k8s.io/v1beta1";
const PROTOBUF = "application/vnd.kubernetes.protobuf";
const POD_COUNT = 60_000;
const T = Date.UTC(2025, 4, 1, 10, 0, 0);

/** FakeMetrics plus `batches`: how many times storage was read (counted by a wrapper set in `before`). */
class CountingMetrics extends FakeMetrics {
  batches = 0;
}

let server: http2.Http2SecureServer;
let port: number;
let serving: TestCert;
const metrics = new CountingMetrics();
let api: MetricsApi;

function handle(req: ApiRequest): ApiResponse | undefined {
  if (req.path === "/apis/failing") {
    // Steps that produce nothing, then a failure: nothing has been sent yet.
    function* failing(): Generator<Buffer> {
      yield Buffer.alloc(0);
      throw new Error("encoding failed");
    }
    return { status: 200, contentType: PROTOBUF, body: Buffer.alloc(0), chunks: failing() };
  }
  return api.handle(req);
}

before(async () => {
  const pods = new FakeStore<ReturnType<typeof pod>>();
  for (let i = 0; i < POD_COUNT; i++) {
    const name = `pod-${String(i).padStart(6, "0")}`;
    pods.add(pod(`ns-${i % 50}`, name, { app: `app-${i % 7}` }));
    metrics.pods.set(`ns-${i % 50}/${name}`, {
      timestampMs: T,
      windowMs: 15_000,
      containers: [{ name: "c", cpuNanocores: i * 1000, memoryBytes: 1 << 20 }],
    });
  }
  const original = metrics.getPodMetrics.bind(metrics);
  metrics.getPodMetrics = (refs) => {
    metrics.batches++;
    return original(refs);
  };
  api = new MetricsApi({
    nodes: new FakeStore(),
    pods,
    metrics,
    serverAddress: "127.0.0.1:1",
    now: () => T + 5_000,
    protobuf: protobufEncoder,
  });
  ({ server, port, cert: serving } = await startLoopbackServer({ api: { handle } }));
});

after(() => server.close());

function connect(): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serving.certPem });
  session.on("error", () => {});
  return session;
}

interface Reply {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** Big-list batches read from storage when the response headers arrived. */
  batchesAtHeaders: number;
}

function request(session: http2.ClientHttp2Session, path: string, accept = PROTOBUF): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path, accept });
    let headers: http2.IncomingHttpHeaders = {};
    let batchesAtHeaders = -1;
    const parts: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
      batchesAtHeaders = metrics.batches;
    });
    stream.on("data", (d: Buffer) => parts.push(d));
    stream.on("end", () => resolve({ headers, body: Buffer.concat(parts), batchesAtHeaders }));
    stream.on("error", reject);
  });
}

test("a small request is answered while a big protobuf list is being encoded", async (t) => {
  const session = connect();
  t.after(() => session.close());
  // Warm the connection so the small request needs no handshake.
  await request(session, `${V}/namespaces/ns-1/pods/pod-000001`);
  metrics.batches = 0;
  const big = request(session, `${V}/pods`);
  // Sent once the big list has started: the handler is called as its request arrives.
  while (metrics.batches === 0) await new Promise((r) => setImmediate(r));
  const small = await request(session, `${V}/namespaces/ns-3/pods`, "application/json");
  assert.equal(small.headers[":status"], 200);
  assert.equal(JSON.parse(small.body.toString()).items.length, POD_COUNT / 50);
  const totalBatches = Math.ceil(POD_COUNT / 256);
  // The small list is one read of storage; the big one had not finished encoding when it was answered.
  assert.ok(
    small.batchesAtHeaders < totalBatches,
    `answered after ${small.batchesAtHeaders} of ${totalBatches} batches`,
  );
  const bigReply = await big;
  assert.equal(bigReply.headers[":status"], 200);
  assert.equal(bigReply.headers["content-type"], PROTOBUF);
  assert.equal(bigReply.headers["content-length"], undefined);
  // Headers go out with the first byte, which is written after every batch is encoded.
  assert.ok(bigReply.batchesAtHeaders >= totalBatches, "headers wait for the encoded items");
  // The same bytes as the one-shot encoding of the objects the JSON list carries.
  const json = await request(session, `${V}/pods`, "application/json");
  const expected = protobufEncoder.encodePodMetricsList(JSON.parse(json.body.toString()));
  assert.ok(bigReply.body.equals(expected), `${bigReply.body.length} vs ${expected.length} bytes`);
});

test("a chunked body that fails before its first byte is answered with a 500 Status", async (t) => {
  const session = connect();
  t.after(() => session.close());
  const reply = await request(session, "/apis/failing");
  assert.equal(reply.headers[":status"], 500);
  const status = JSON.parse(reply.body.toString());
  assert.equal(status.kind, "Status");
  assert.equal(status.code, 500);
  assert.match(status.message, /encoding failed/);
});
