import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import { type CA, createCA } from "../auth/index.ts";
import { generateScenario, nodeIP } from "../scenario/index.ts";
import type { KubeletView, SimNode, SimPod } from "../types.ts";
import { hostPort, KubeletFleet } from "./fleet.ts";
import { RESOURCE_METRICS_CONTENT_TYPE } from "./resourcemetrics.ts";

// ---------------------------------------------------------------------------------------------
// The fleet over real HTTPS

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(
  ca: CA,
  address: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const [host, port] = address.split(":");
    const req = https.request(
      {
        host,
        port: Number(port),
        path,
        method: opts.method ?? "GET",
        ca: ca.certPem,
        headers: opts.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end();
  });
}

function connectError(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.on("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

function sample(text: string, series: string): { value: number; ts: number } {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  assert.ok(line, `series ${series} present`);
  const [, value, ts] = line.slice(series.length).split(" ");
  return { value: Number(value), ts: Number(ts) };
}

describe("KubeletFleet", () => {
  // A random loopback range and offset so parallel test runs do not collide.
  const ipBase = `127.${2 + Math.floor(Math.random() * 253)}`;
  const firstIndex = Math.floor(Math.random() * 60_000);
  let ca: CA;
  let fleet: KubeletFleet;
  let nodes: SimNode[];
  let pods: SimPod[];
  const view: KubeletView = {
    node: (name) => nodes.find((n) => n.name === name),
    podsOnNode: (name) => pods.filter((p) => p.nodeName === name),
  };
  const addr = (n: SimNode) => `${n.internalIP}:${n.kubeletPort}`;
  let serversBefore = 0;
  const tcpServers = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

  before(async () => {
    ca = await createCA("sim-test-ca");
    const scenario = generateScenario({ nodes: 4, podsPerNode: 4, seed: 7, ipBase, nowMs: Date.now() });
    nodes = scenario.nodes.map((n, i) => ({ ...n, internalIP: nodeIP(ipBase, (firstIndex + i) % 60_000) }));
    pods = scenario.pods;
    serversBefore = tcpServers();
    fleet = await KubeletFleet.start({ view, nodes: nodes.slice(0, 3), ca });
  });
  after(async () => {
    await fleet?.close();
  });

  test("serves /metrics/resource over TLS verified by the CA, with the kubelet content type", async () => {
    const r = await get(ca, addr(nodes[0]), "/metrics/resource");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], RESOURCE_METRICS_CONTENT_TYPE);
    const text = r.body.toString();
    assert.match(text, /^# HELP container_cpu_usage_seconds_total \[STABLE\]/);
    assert.match(text, /^node_memory_working_set_bytes \S+ \d+$/m);
  });

  test("the CPU rate between two scrapes one second apart equals the configured rate", async () => {
    const node = nodes[1];
    const a = (await get(ca, addr(node), "/metrics/resource")).body.toString();
    await sleep(1000);
    const b = (await get(ca, addr(node), "/metrics/resource")).body.toString();
    const n1 = sample(a, "node_cpu_usage_seconds_total");
    const n2 = sample(b, "node_cpu_usage_seconds_total");
    assert.ok(n2.ts - n1.ts >= 1000);
    const running = pods.filter((p) => p.nodeName === node.name && p.phase === "Running");
    const containersMilli = running.flatMap((p) => [
      ...p.containers,
      ...p.initContainers.filter((c) => c.sidecar),
    ]);
    const wantCores = (node.overheadCpuMilli + containersMilli.reduce((s, c) => s + c.cpuMilli, 0)) / 1000;
    const gotCores = (n2.value - n1.value) / ((n2.ts - n1.ts) / 1000);
    assert.ok(Math.abs(gotCores - wantCores) < 1e-6, `node rate ${gotCores} want ${wantCores}`);

    const p = running[0];
    const c = p.containers[0];
    const series = `container_cpu_usage_seconds_total{container="${c.name}",namespace="${p.namespace}",pod="${p.name}"}`;
    const c1 = sample(a, series);
    const c2 = sample(b, series);
    const containerCores = (c2.value - c1.value) / ((c2.ts - c1.ts) / 1000);
    assert.ok(Math.abs(containerCores - c.cpuMilli / 1000) < 1e-6, `container rate ${containerCores}`);
  });

  test("gzips when asked", async () => {
    const r = await get(ca, addr(nodes[0]), "/metrics/resource", { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(r.headers["content-encoding"], "gzip");
    assert.match(gunzipSync(r.body).toString(), /^resource_scrape_error 0$/m);
  });

  test("serves /stats/summary, honouring only_cpu_and_memory", async () => {
    const full = await get(ca, addr(nodes[0]), "/stats/summary");
    assert.equal(full.status, 200);
    assert.equal(full.headers["content-type"], "application/json");
    const summary = JSON.parse(full.body.toString());
    assert.equal(summary.node.nodeName, nodes[0].name);
    assert.ok(summary.node.fs);
    const reduced = JSON.parse(
      (await get(ca, addr(nodes[0]), "/stats/summary?only_cpu_and_memory=true")).body.toString(),
    );
    assert.equal(reduced.node.fs, undefined);
    assert.ok(reduced.node.cpu.usageCoreNanoSeconds > 0);
  });

  test("unknown paths are 404, other methods 405", async () => {
    assert.equal((await get(ca, addr(nodes[0]), "/metrics")).status, 404);
    assert.equal((await get(ca, addr(nodes[0]), "/metrics/resource", { method: "POST" })).status, 405);
  });

  test("faults: http500, garbage, hang, and back to normal", async () => {
    const node = nodes[2];
    fleet.setFault(node.name, { kind: "status", code: 500 });
    assert.equal((await get(ca, addr(node), "/metrics/resource")).status, 500);

    fleet.setFault(node.name, { kind: "garbage" });
    const g = await get(ca, addr(node), "/metrics/resource");
    assert.equal(g.status, 200);
    assert.match(String(g.headers["content-type"]), /^text\/plain/);
    const first = g.body.toString().split("\n")[0];
    assert.doesNotMatch(
      first,
      /^(#|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+)/,
      "first line is not valid exposition text",
    );

    fleet.setFault(node.name, { kind: "hang" });
    await assert.rejects(get(ca, addr(node), "/metrics/resource", { timeoutMs: 1500 }), /client timeout/);

    fleet.setFault(node.name, undefined);
    assert.equal((await get(ca, addr(node), "/metrics/resource")).status, 200);
  });

  test("addNode and removeNode at run time", async () => {
    const extra = nodes[3];
    await assert.rejects(get(ca, addr(extra), "/metrics/resource"), /ECONNREFUSED/);
    await fleet.addNode(extra);
    assert.equal((await get(ca, addr(extra), "/metrics/resource")).status, 200);
    await fleet.removeNode(extra.name);
    assert.equal(await connectError(extra.internalIP, extra.kubeletPort), "ECONNREFUSED");
  });

  test("close() ends hanging requests and leaves no listeners", async () => {
    const node = nodes[0];
    fleet.setFault(node.name, { kind: "hang" });
    const hanging = get(ca, addr(node), "/metrics/resource");
    hanging.catch(() => {}); // observed below
    // Give the request time to reach the server, so close() meets an open connection.
    await sleep(300);
    await fleet.close();
    await assert.rejects(hanging);
    for (const n of nodes.slice(0, 3))
      assert.equal(await connectError(n.internalIP, n.kubeletPort), "ECONNREFUSED");
    assert.equal(tcpServers(), serversBefore);
  });
});

// ---------------------------------------------------------------------------------------------
// Per-node knobs: summary-only, moved resource metrics, IPv6 on any free port, the read-only port

function fetchFrom(
  scheme: "http" | "https",
  host: string,
  port: number,
  path: string,
  ca?: CA,
): Promise<{ status: number; text: string; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString("utf8"),
          contentType: res.headers["content-type"],
        }),
      );
      res.on("error", reject);
    };
    const req =
      scheme === "https"
        ? https.request({ host, port, path, ca: ca?.certPem, agent: false }, onResponse)
        : http.request({ host, port, path, agent: false }, onResponse);
    req.on("error", reject);
    req.end();
  });
}

describe("KubeletFleet knobs", () => {
  const ipBase = `127.${2 + Math.floor(Math.random() * 253)}`;
  const firstIndex = Math.floor(Math.random() * 60_000);
  const readOnlyPort = 20_000 + Math.floor(Math.random() * 40_000);
  let ca: CA;
  let fleet: KubeletFleet;
  let nodes: SimNode[];
  let pods: SimPod[];
  const view: KubeletView = {
    node: (name) => nodes.find((n) => n.name === name),
    podsOnNode: (name) => pods.filter((p) => p.nodeName === name),
  };

  before(async () => {
    ca = await createCA("sim-knobs-ca");
    const scenario = generateScenario({ nodes: 4, podsPerNode: 2, seed: 11, ipBase, nowMs: Date.now() });
    const at = (i: number) => nodeIP(ipBase, (firstIndex + i) % 60_000);
    nodes = [
      { ...scenario.nodes[0], internalIP: at(0), summaryOnly: true },
      { ...scenario.nodes[1], internalIP: at(1), resourceMetricsPath: "/custom/metrics" },
      // Port 0 on [::1]: no fixed port there, so parallel runs cannot collide.
      { ...scenario.nodes[2], internalIP: "::1", kubeletPort: 0 },
      {
        ...scenario.nodes[3],
        internalIP: at(3),
        addresses: [
          { type: "ExternalIP", address: `${ipBase}.250.250` },
          { type: "InternalIP", address: at(3) },
        ],
      },
    ];
    pods = scenario.pods;
    // The read-only port is fixed per fleet, so the IPv6 node (shared ::1) is left out of that fleet.
    fleet = await KubeletFleet.start({
      view,
      nodes: nodes.filter((n) => n.kubeletPort !== 0),
      ca,
      readOnlyPort,
    });
  });
  after(async () => {
    await fleet?.close();
  });

  test("a summary-only kubelet answers 404 page not found for resource metrics, and serves the Summary API", async () => {
    const n = nodes[0];
    const metrics = await fetchFrom("https", n.internalIP, n.kubeletPort, "/metrics/resource", ca);
    assert.equal(metrics.status, 404);
    assert.equal(metrics.text, "404 page not found\n");
    const summary = await fetchFrom("https", n.internalIP, n.kubeletPort, "/stats/summary", ca);
    assert.equal(summary.status, 200);
    assert.equal(JSON.parse(summary.text).node.nodeName, n.name);
  });

  test("resourceMetricsPath moves the resource metrics; /metrics/resource is then 404", async () => {
    const n = nodes[1];
    const moved = await fetchFrom("https", n.internalIP, n.kubeletPort, "/custom/metrics", ca);
    assert.equal(moved.status, 200);
    assert.equal(moved.contentType, RESOURCE_METRICS_CONTENT_TYPE);
    assert.match(moved.text, /^node_cpu_usage_seconds_total \S+ \d+$/m);
    assert.equal(
      (await fetchFrom("https", n.internalIP, n.kubeletPort, "/metrics/resource", ca)).status,
      404,
    );
    assert.equal((await fetchFrom("https", n.internalIP, n.kubeletPort, "/stats/summary", ca)).status, 200);
  });

  test("the read-only port serves the same handlers over plain HTTP", async () => {
    const plain = await fetchFrom("http", nodes[3].internalIP, readOnlyPort, "/metrics/resource");
    assert.equal(plain.status, 200);
    assert.match(plain.text, /^resource_scrape_error 0$/m);
    assert.equal(
      (await fetchFrom("http", nodes[0].internalIP, readOnlyPort, "/metrics/resource")).status,
      404,
    );
    assert.equal((await fetchFrom("http", nodes[1].internalIP, readOnlyPort, "/custom/metrics")).status, 200);
    const summary = await fetchFrom("http", nodes[0].internalIP, readOnlyPort, "/stats/summary");
    assert.equal(JSON.parse(summary.text).node.nodeName, nodes[0].name);
    // And the TLS port still is TLS: plain HTTP to it gets no HTTP answer.
    await assert.rejects(fetchFrom("http", nodes[3].internalIP, nodes[3].kubeletPort, "/metrics/resource"));
  });

  test("the serving certificate names every published IP address", async () => {
    // Dialling the ExternalIP is refused (nothing listens), but a TLS client checking the name would
    // accept the certificate for it: check the SAN through the InternalIP connection.
    const n = nodes[3];
    const cert = await new Promise<import("node:tls").PeerCertificate>((resolve, reject) => {
      const req = https.request(
        { host: n.internalIP, port: n.kubeletPort, path: "/stats/summary", ca: ca.certPem, agent: false },
        (res) => {
          resolve((res.socket as import("node:tls").TLSSocket).getPeerCertificate());
          res.resume();
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.match(
      String(cert.subjectaltname),
      new RegExp(`IP Address:${ipBase.replace(".", "\\.")}\\.250\\.250`),
    );
  });

  test("an IPv6 kubelet on port 0 gets a free port, reported by addNode and kubeletPort(), with an IPv6 SAN", async (t) => {
    const v6fleet = await KubeletFleet.start({ view, nodes: [], ca });
    t.after(() => v6fleet.close());
    const n = nodes[2];
    const port = await v6fleet.addNode(n);
    assert.ok(port > 0 && port < 65536);
    assert.equal(v6fleet.kubeletPort(n.name), port);
    assert.equal(hostPort(n.internalIP, port), `[::1]:${port}`);
    // Certificate verification against the CA includes the ::1 identity check.
    const r = await fetchFrom("https", "::1", port, "/metrics/resource", ca);
    assert.equal(r.status, 200);
    // Adding it again (still asking for any port) keeps the running kubelet.
    assert.equal(await v6fleet.addNode(n), port);
    await v6fleet.removeNode(n.name);
    assert.equal(v6fleet.kubeletPort(n.name), undefined);
    assert.equal(await connectError("::1", port), "ECONNREFUSED");
  });

  test("a read-only port that cannot be bound fails the node with a clear message and leaves nothing open", async (t) => {
    const blocker = net.createServer();
    const host = nodeIP(ipBase, (firstIndex + 4) % 60_000);
    await new Promise<void>((resolve) => blocker.listen(0, host, resolve));
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = (blocker.address() as net.AddressInfo).port;
    const other = await KubeletFleet.start({ view, nodes: [], ca, readOnlyPort: taken });
    t.after(() => other.close());
    const node = { ...nodes[3], name: "blocked", internalIP: host, addresses: undefined };
    await assert.rejects(
      other.addNode(node),
      new RegExp(
        `kubelet for node blocked: cannot listen on ${host.replaceAll(".", "\\.")}:${taken} \\(read-only port\\)`,
      ),
    );
    assert.equal(other.kubeletPort("blocked"), undefined);
    assert.equal(await connectError(host, node.kubeletPort), "ECONNREFUSED");
  });

  test("rejects a read-only port outside 1..65535", async () => {
    await assert.rejects(
      KubeletFleet.start({ view, nodes: [], ca, readOnlyPort: 70_000 }),
      /readOnlyPort must be/,
    );
  });
});
