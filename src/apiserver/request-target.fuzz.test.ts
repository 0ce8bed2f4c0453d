// Fuzzing the listener's request parsing with the real metrics API behind it: arbitrary :path values
// (percent-encodings, invalid UTF-8 escapes, dot segments, queries, fragments, absolute URLs) over
// HTTP/2, and arbitrary request targets over HTTP/1.1. Each gets a status the server means (never a
// 500, never a dropped stream) with a Status body when it is an error, and the server keeps serving.
// Replaying a failure: test/support/fuzz.ts.
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { Registry } from "prom-client";
import { type TestCert, testCert } from "../../test/support/certs.ts";
import { fc, fuzzAsync } from "../../test/support/fuzz.ts";
import { captureFileLogs } from "../../test/support/logs.ts";
import { fixture } from "../../test/support/metrics-api-fixture.ts";
import { ALLOW_ALL, healthy } from "../../test/support/serve.ts";
import { protobufEncoder } from "../api/index.ts";
import { startServer } from "./serve.ts";

let server: http2.Http2SecureServer;
let port: number;
let serving: TestCert;
const logs = captureFileLogs();

before(async () => {
  serving = await testCert("metrics-server", { ip: ["127.0.0.1"] });
  server = await startServer({
    bindAddress: "127.0.0.1",
    port: 0,
    cert: Buffer.from(serving.certPem),
    key: Buffer.from(serving.keyPem),
    auth: ALLOW_ALL,
    health: healthy(),
    api: fixture({ protobuf: protobufEncoder }).api,
    registry: new Registry(),
    version: { gitVersion: "v0.0.0-test" },
    limits: { readTimeoutMs: 5000, idleTimeoutMs: 10_000 },
  });
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
});

const STATUS_CODES = new Set([200, 400, 404, 405, 406, 414]);

const piece = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "/apis",
      "/metrics.k8s.io",
      "/v1beta1",
      "/nodes",
      "/pods",
      "/namespaces/default",
      "/kind-worker",
      "/openapi/v2",
      "/healthz",
      "/livez",
      "/readyz",
      "/metrics",
      "/version",
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "/",
      "//",
      "/.",
      "/..",
      "%",
      "%2",
      "%zz",
      "%2F",
      "%00",
      "%C3%A9",
      "%E2%82",
      "%FF",
      "é",
      "?",
      "?labelSelector=app%3Dweb",
      "?labelSelector=%zz",
      "?fieldSelector=metadata.name%3Dweb",
      "?watch=1",
      "&",
      "=",
      "#x",
      ";",
      "\\",
      "http://h",
      "*",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 6 }) },
);
const target = fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join(""));

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * One HTTP/2 request on `session`: its answer, or undefined when the path broke HTTP/2's own rules
 * (RFC 9113: a :path starts with "/" and holds no blank or control byte), which node:http2's client
 * or nghttp2 in the server refuse before the server's code sees the request.
 */
function request2(session: http2.ClientHttp2Session, path: string): Promise<Answer | undefined> {
  const legal = /^\/[\x21-\x7e\x80-\u{10ffff}]*$/u.test(path);
  let stream: http2.ClientHttp2Stream;
  try {
    stream = session.request({ ":path": path });
  } catch (err) {
    if (legal) throw err;
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    let status = 0;
    let contentType = "";
    let body = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      contentType = String(h["content-type"] ?? "");
    });
    stream.setEncoding("utf8");
    stream.on("data", (d: string) => {
      body += d;
    });
    stream.on("error", () => {});
    stream.on("close", () => {
      if (stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) resolve({ status, contentType, body });
      else if (stream.rstCode === http2.constants.NGHTTP2_PROTOCOL_ERROR && !legal) resolve(undefined);
      else reject(new Error(`stream reset (${stream.rstCode}) for ${JSON.stringify(path)}`));
    });
  });
}

const HEALTH_PATH = /^\/(healthz|livez|readyz)(\/|$)/;

/** A status the server means; an error is a Status, except health checks' plain-text 404 (as upstream). */
function checkAnswer(path: string, a: Answer): void {
  assert.ok(STATUS_CODES.has(a.status), `${a.status} for ${JSON.stringify(path)}`);
  if (a.status < 400) return;
  if (!a.contentType.startsWith("application/json")) {
    // The path as the server reads it: WHATWG URL parsing of a path (a backslash is a slash, dot
    // segments go).
    const pathname = new URL(path.startsWith("//") ? `/.${path}` : path, "https://metrics-server.invalid")
      .pathname;
    assert.ok(
      a.status === 404 && HEALTH_PATH.test(pathname),
      `${a.status} ${a.contentType} for ${JSON.stringify(path)}`,
    );
    return;
  }
  const parsed = JSON.parse(a.body);
  assert.equal(parsed.kind, "Status", a.body);
  assert.equal(parsed.code, a.status, a.body);
}

describe("request parsing's fuzz findings", () => {
  it("a target starting with // is a path, not a host and a path", async () => {
    // "//x/livez" was read as host x and path /livez, and answered as /livez.
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serving.certPem });
    session.on("error", () => {});
    try {
      const health = await request2(session, "//x/livez");
      assert.equal(health?.status, 404);
      const api = await request2(session, "//x/apis/metrics.k8s.io/v1beta1/nodes");
      assert.equal(api?.status, 404);
      assert.equal(JSON.parse(api?.body ?? "").kind, "Status");
    } finally {
      session.destroy();
    }
  });
});

describe("request parsing, fuzzed", () => {
  it("arbitrary :path values over HTTP/2: a meant status, never a 500 or a reset", async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: serving.certPem });
    session.on("error", () => {});
    try {
      await fuzzAsync(
        fc.asyncProperty(fc.array(target, { minLength: 1, maxLength: 8 }), async (paths) => {
          const answers = await Promise.all(paths.map((p) => request2(session, p)));
          answers.forEach((a, i) => {
            if (a) checkAnswer(paths[i], a);
          });
        }),
        200,
      );
      assert.deepEqual(
        logs.lines.filter((l) => l.startsWith("E")),
        [],
      );
      const health = await request2(session, "/healthz");
      assert.equal(health?.status, 200);
    } finally {
      session.destroy();
    }
  });

  it("arbitrary request targets over HTTP/1.1: a meant status or Node's own 400, never a 500", async () => {
    await fuzzAsync(
      fc.asyncProperty(target, async (t) => {
        const socket = tls.connect({
          host: "127.0.0.1",
          port,
          ca: serving.certPem,
          ALPNProtocols: ["http/1.1"],
        });
        socket.on("error", () => {});
        let text = "";
        socket.on("data", (d: Buffer) => {
          text += d.toString("utf8");
        });
        const closed = new Promise((r) => socket.once("close", r));
        await new Promise((r) => socket.once("secureConnect", r));
        socket.write(`GET ${t} HTTP/1.1\r\nHost: metrics-server\r\nConnection: close\r\n\r\n`);
        await closed;
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
        const split = text.indexOf("\r\n\r\n");
        const head = text.slice(0, split).toLowerCase();
        const body = text.slice(split + 4);
        const contentType = /\r\ncontent-type: ([^\r]*)/.exec(head)?.[1] ?? "";
        // llhttp rejects some targets before the server sees them: a bare 400 without a Status.
        if (status === 400 && !body.includes('"kind":"Status"')) return;
        if (head.includes("transfer-encoding: chunked")) assert.equal(status, 200, t);
        else checkAnswer(t, { status, contentType, body });
      }),
      150,
    );
  });
});
