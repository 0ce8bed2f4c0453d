import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import http2 from "node:http2";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, it, test } from "node:test";
import tls from "node:tls";
import { Registry } from "prom-client";
import { type TestCert, testCert } from "../../test/support/certs.ts";
import { sampleSum, samples } from "../../test/support/exposition.ts";
import { healthy } from "../../test/support/serve.ts";
import { METRICS_API_RESOURCES, registerApiMetrics } from "../api/index.ts";
import type { AuthRequest, RequestAuth } from "../apiserver/index.ts";
import { registerApiServerMetrics, startServer } from "../apiserver/index.ts";
import { kubeletNodeFamilies, registerScraperMetrics } from "../scraper/index.ts";
import { registerStorageMetrics } from "../storage/index.ts";
import { createTickDuration, registerServerMetrics } from "./monitoring.ts";

let server: http2.Http2SecureServer;
let port: number;
let serving: TestCert;
let admin: TestCert;
let stranger: TestCert;
const seen: AuthRequest[] = [];

/**
 * Stands in for the real authenticator: health paths open, a chain whose leaf the admin CA signed is
 * allowed, no certificate is 401, any other certificate 403. Records what the listener handed over.
 */
function fakeAuth(): RequestAuth {
  const always = new Set(["/healthz", "/readyz", "/livez"]);
  return {
    async check(req) {
      seen.push(req);
      const user = { name: "someone", groups: [], extra: {} };
      if (always.has(req.path)) return { allowed: true, user };
      const leaf = req.peerCertificates[0];
      if (!leaf) {
        return { allowed: false, status: 401, body: statusBody(401, "Unauthorized", "Unauthorized") };
      }
      if (leaf.verify(new X509Certificate(admin.certPem).publicKey)) return { allowed: true, user };
      return { allowed: false, status: 403, body: statusBody(403, "Forbidden", "forbidden") };
    },
  };
}

function statusBody(code: number, reason: string, message: string): string {
  return (
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      code,
    }) + "\n"
  );
}

before(async () => {
  serving = await testCert("metrics-server", { ip: ["127.0.0.1"] });
  admin = await testCert("admin", {}, ["system:masters"]);
  stranger = await testCert("stranger");
  const registry = new Registry();
  registerScraperMetrics(registry);
  registerStorageMetrics(registry);
  registerApiMetrics(registry);
  registerApiServerMetrics(registry);
  registerServerMetrics(registry, createTickDuration(15));
  server = await startServer({
    bindAddress: "127.0.0.1",
    port: 0,
    cert: Buffer.from(serving.certPem),
    key: Buffer.from(serving.keyPem),
    auth: fakeAuth(),
    health: healthy({ storageReady: () => false }),
    api: {
      handle: (req) =>
        req.path.startsWith("/apis")
          ? {
              status: 200,
              contentType: "application/json",
              body: JSON.stringify({ path: req.path, accept: req.accept }),
            }
          : undefined,
    },
    registry,
    appendedMetrics: kubeletNodeFamilies,
    version: { gitVersion: "v0.0.0-test" },
    resources: METRICS_API_RESOURCES,
  });
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
});

function get1(
  path: string,
  client?: TestCert,
): Promise<{ status: number; body: string; alpn: string /* HTTP version */ }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: "127.0.0.1",
        port,
        path,
        ca: serving.certPem,
        cert: client?.certPem,
        key: client?.keyPem,
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += d.toString();
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            alpn: res.httpVersion,
          }),
        );
      },
    );
    req.on("error", reject);
  });
}

function get2(path: string, client?: TestCert): Promise<{ status: number; body: string; alpn: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      ca: serving.certPem,
      cert: client?.certPem,
      key: client?.keyPem,
    });
    session.on("error", reject);
    const stream = session.request({ ":path": path, accept: "application/vnd.kubernetes.protobuf, */*" });
    let status = 0;
    let body = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (d: Buffer) => {
      body += d.toString();
    });
    stream.on("end", () => {
      const alpn = String(session.alpnProtocol);
      session.close();
      resolve({ status, body, alpn });
    });
    stream.on("error", reject);
  });
}

test("HTTP/2 with a client certificate the auth side accepts reaches the API", async () => {
  const r = await get2("/apis/metrics.k8s.io/v1beta1/nodes", admin);
  assert.equal(r.alpn, "h2");
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), {
    path: "/apis/metrics.k8s.io/v1beta1/nodes",
    accept: "application/vnd.kubernetes.protobuf, */*",
  });
});

test("HTTP/1.1 fallback serves the same", async () => {
  const r = await get1("/apis", admin);
  assert.equal(r.alpn, "1.1");
  assert.equal(r.status, 200);
});

test("the auth decision's status and body are sent as they are", async () => {
  for (const r of [await get1("/apis"), await get2("/apis")]) {
    assert.equal(r.status, 401);
    const status = JSON.parse(r.body);
    assert.equal(status.kind, "Status");
    assert.equal(status.reason, "Unauthorized");
    assert.equal(status.code, 401);
  }
  assert.equal((await get1("/metrics")).status, 401, "/metrics needs credentials");
  const denied = await get2("/apis", stranger);
  assert.equal(denied.status, 403);
  assert.equal(JSON.parse(denied.body).reason, "Forbidden");
});

test("a client certificate from any CA reaches the auth side, leaf first, unverified", async () => {
  for (const get of [get1, get2]) {
    seen.length = 0;
    await get("/apis?x=1", stranger);
    const req = seen.at(-1);
    assert.ok(req);
    assert.equal(req.peerCertificates.length, 1);
    assert.equal(req.peerCertificates[0]?.subject, "CN=stranger");
    assert.equal(req.method, "GET");
    assert.equal(req.query.get("x"), "1");
  }
  seen.length = 0;
  await get1("/healthz");
  assert.deepEqual(seen.at(-1)?.peerCertificates, []);
});

test("the auth side gets the decoded path and lower-case headers without HTTP/2 pseudo-headers", async () => {
  seen.length = 0;
  await get2("/apis/metrics.k8s.io/v1beta1/namespaces/a%20b/pods", admin);
  const req = seen.at(-1);
  assert.equal(req?.path, "/apis/metrics.k8s.io/v1beta1/namespaces/a b/pods");
  assert.equal(req?.headers.accept, "application/vnd.kubernetes.protobuf, */*");
  assert.ok(Object.keys(req?.headers ?? {}).every((k) => !k.startsWith(":") && k === k.toLowerCase()));
  seen.length = 0;
  await get1("/healthz");
  assert.equal(typeof seen.at(-1)?.headers.host, "string", "health paths go through auth.check too");
});

test("health endpoints answer without credentials", async () => {
  assert.deepEqual((await get1("/healthz")).body, "ok");
  const ready = await get1("/readyz");
  assert.equal(ready.status, 500);
  assert.match(ready.body, /\[-\]metric-storage-ready failed: reason withheld/);
});

test("/metrics has exactly upstream's six metrics_server_* families", async () => {
  const r = await get1("/metrics", admin);
  assert.equal(r.status, 200);
  const families = [...r.body.matchAll(/^# TYPE (metrics_server_\w+) /gm)].map((m) => m[1]).sort();
  assert.deepEqual(families, [
    "metrics_server_api_metric_freshness_seconds",
    "metrics_server_kubelet_last_request_time_seconds",
    "metrics_server_kubelet_request_duration_seconds",
    "metrics_server_kubelet_request_total",
    "metrics_server_manager_tick_duration_seconds",
    "metrics_server_storage_points",
  ]);
  assert.match(r.body, /metrics_server_manager_tick_duration_seconds_bucket\{le="12.5"\} 0/);
  assertValidExposition(r.body);
  assertValidExposition((await get2("/metrics", admin)).body);
});

test("/metrics counts served requests in upstream's request families, under closed label values", async () => {
  const before = (await get1("/metrics", admin)).body;
  await get1("/healthz");
  await get1("/apis/metrics.k8s.io/v1beta1/nodes", admin);
  await get2("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-1", admin);
  await get1("/apis/metrics.k8s.io/v1beta1/nodes"); // 401: refused before any route
  await get1("/no/such/path", admin);
  const after = (await get1("/metrics", admin)).body;
  const grew = (name: string, labels: Record<string, string>) =>
    sampleSum(after, name, labels) - sampleSum(before, name, labels);
  const nodes = {
    verb: "LIST",
    dry_run: "",
    group: "metrics.k8s.io",
    version: "v1beta1",
    resource: "nodes",
    subresource: "",
    scope: "cluster",
    component: "apiserver",
  };
  assert.equal(grew("apiserver_request_total", { ...nodes, code: "200" }), 1);
  assert.equal(grew("apiserver_request_duration_seconds_count", nodes), 1);
  const { dry_run: _, ...sizeLabels } = nodes;
  assert.equal(grew("apiserver_response_sizes_count", sizeLabels), 1);
  assert.ok(grew("apiserver_response_sizes_sum", sizeLabels) > 0, "the body's bytes");
  assert.equal(
    grew("apiserver_request_total", { verb: "GET", resource: "pods", scope: "resource", code: "200" }),
    1,
  );
  assert.equal(
    grew("apiserver_request_total", { verb: "GET", subresource: "/healthz", component: "", code: "200" }),
    1,
  );
  assert.equal(samples(after).filter((x) => x.name === "apiserver_current_inflight_requests").length, 2);
  // Only routes are counted: no series names a path no route serves, nor a refused request.
  const values = samples(after)
    .filter((x) => x.name === "apiserver_request_total")
    .map((x) => `${x.labels.resource}|${x.labels.subresource}|${x.labels.code}`);
  for (const v of values) assert.match(v, /^((nodes|pods)\|\||\|\/(healthz|livez|readyz)\|)\d{3}$/, v);
  assert.ok(!values.some((v) => v.endsWith("|401")), "a 401 is not a request of a route");
  assertValidExposition(after);
});

/**
 * Text format 0.0.4 as Prometheus reads it: every family once, HELP then TYPE before its samples,
 * and every sample line named after the family it follows (histograms: _bucket, _sum, _count).
 */
function assertValidExposition(body: string): void {
  assert.ok(body.endsWith("\n"), "ends with a newline");
  const declared = new Set<string>();
  let family = "";
  let type = "";
  const lines = body.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line === "") continue;
    const help = /^# HELP (\S+) /.exec(line);
    if (help) {
      family = help[1]!;
      assert.ok(!declared.has(family), `${family} appears once`);
      declared.add(family);
      const typeLine = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(lines[i + 1] ?? "");
      assert.equal(typeLine?.[1], family, `TYPE follows HELP for ${family}`);
      type = typeLine[2]!;
      continue;
    }
    if (line.startsWith("# TYPE ")) continue;
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? \S+$/.exec(line)?.[1];
    assert.ok(name, `a sample line: ${JSON.stringify(line)}`);
    const allowed =
      type === "histogram" ? [`${family}_bucket`, `${family}_sum`, `${family}_count`] : [family];
    assert.ok(allowed.includes(name), `${name} belongs to the family before it (${family})`);
  }
}

test("/metrics streams the appended families after the registry's, over HTTP/1.1 and HTTP/2", async (t) => {
  const registry = new Registry();
  registerScraperMetrics(registry);
  const appended = [
    "# HELP big_family_seconds Lots of series.\n# TYPE big_family_seconds gauge\n",
    ...Array.from({ length: 40 }, (_, i) => `big_family_seconds{node="n${i}"} ${i}\n`),
    "\n# HELP other_total Another.\n# TYPE other_total counter\n",
    "other_total 3\n",
  ];
  const srv = await startServer({
    bindAddress: "127.0.0.1",
    port: 0,
    cert: Buffer.from(serving.certPem),
    key: Buffer.from(serving.keyPem),
    auth: fakeAuth(),
    health: healthy(),
    api: { handle: () => undefined },
    registry,
    appendedMetrics: () => appended,
    version: {},
  });
  t.after(() => srv.close());
  const saved = port;
  port = (srv.address() as AddressInfo).port;
  try {
    const expected = (await registry.metrics()) + "\n" + appended.join("");
    for (const r of [await get1("/metrics", admin), await get2("/metrics", admin)]) {
      assert.equal(r.status, 200);
      assert.equal(r.body, expected);
      assertValidExposition(r.body);
    }
  } finally {
    port = saved;
  }
});

test("unknown paths get a 404 Status", async () => {
  const r = await get1("/nope", admin);
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.body).message, "the server could not find the requested resource");
});

describe("--tls-sni-cert-key", () => {
  it("serves the SNI certificate for its names and the default one otherwise", async (t) => {
    const sniCert = await testCert("sni", { dns: ["metrics.example.com"] });
    const srv = await startServer({
      bindAddress: "127.0.0.1",
      port: 0,
      cert: Buffer.from(serving.certPem),
      key: Buffer.from(serving.keyPem),
      sniCertKeys: [{ names: [], cert: Buffer.from(sniCert.certPem), key: Buffer.from(sniCert.keyPem) }],
      auth: fakeAuth(),
      health: healthy(),
      api: { handle: () => undefined },
      registry: new Registry(),
      version: {},
    });
    t.after(() => srv.close());
    const p = (srv.address() as AddressInfo).port;
    const subjectFor = (servername?: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect(
          { host: "127.0.0.1", port: p, servername, rejectUnauthorized: false },
          () => {
            const cn = socket.getPeerCertificate().subject.CN;
            socket.destroy();
            resolve(String(cn));
          },
        );
        socket.on("error", reject);
      });
    assert.equal(await subjectFor("metrics.example.com"), "sni");
    assert.equal(await subjectFor("other.example.com"), "metrics-server");
    assert.equal(await subjectFor(undefined), "metrics-server");
  });
});
