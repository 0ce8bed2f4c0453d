import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import {
  hostPort,
  KubeletFleet,
  type KubeletView,
  NodeCounterState,
  RESOURCE_METRICS_CONTENT_TYPE,
  renderResourceMetrics,
  renderSummary,
} from "./kubelet.ts";
import { type CA, createCA } from "./pki.ts";
import { formatGoFloat, renderFamilies } from "./promtext.ts";
import { generateScenario, nodeIP, type SimNode, type SimPod } from "./scenario.ts";

const NOW = 1732741801205;

function fixtureNode(overrides: Partial<SimNode> = {}): SimNode {
  return {
    name: "node-a",
    uid: "11111111-1111-4111-8111-111111111111",
    labels: { "kubernetes.io/hostname": "node-a" },
    internalIP: "127.9.1.1",
    hostname: "node-a",
    kubeletPort: 10250,
    cpuCores: 4,
    memoryBytes: 8 * 2 ** 30,
    overheadCpuMilli: 100,
    overheadMemoryBytes: 314572800,
    bootTimeMs: NOW - 1_000_000,
    creationTimestampMs: NOW - 2_000_000,
    ready: true,
    ...overrides,
  };
}

function pod(namespace: string, name: string, rest: Partial<SimPod>): SimPod {
  return {
    namespace,
    name,
    uid: `uid-${namespace}-${name}`,
    nodeName: "node-a",
    labels: {},
    phase: "Running",
    creationTimestampMs: NOW - 2_000_000,
    startTimeMs: NOW - 1_500_000,
    containers: [],
    initContainers: [],
    ...rest,
  };
}

/**
 * The pods behind sim/testdata/resource-metrics.golden.txt (values chosen to give round numbers).
 * Swap: nginx 2 Mi and the sidecar 1 Mi are reported; the completed init container's 512 Ki and the
 * pods that are not running or on another node are not. With the golden node's 4 Mi overhead swap,
 * node_swap_usage_bytes = 7 Mi.
 */
function fixturePods(): SimPod[] {
  return [
    pod("kube-system", "coredns-668d6bf9bc-7xk2p", {
      containers: [{ name: "coredns", cpuMilli: 3, memoryBytes: 18239488, startTimeMs: NOW - 1_234_567 }],
    }),
    pod("default", "web-5d8f7c9b4-q2x8z", {
      containers: [
        { name: "nginx", cpuMilli: 10, memoryBytes: 5410816, startTimeMs: NOW - 600_000, swapBytes: 2097152 },
        { name: "log-shipper", cpuMilli: 25, memoryBytes: 10461184, startTimeMs: NOW - 400_000 },
      ],
      initContainers: [
        {
          name: "init-config",
          sidecar: false,
          cpuMilli: 100,
          memoryBytes: 1048576,
          startTimeMs: NOW - 700_000,
          swapBytes: 524288,
        },
        {
          name: "istio-proxy",
          sidecar: true,
          cpuMilli: 5,
          memoryBytes: 31457280,
          startTimeMs: NOW - 200_000,
          swapBytes: 1048576,
        },
      ],
    }),
    pod("kube-system", "pending-7c9f", {
      phase: "Pending",
      containers: [{ name: "app", cpuMilli: 50, memoryBytes: 1048576, startTimeMs: NOW }],
    }),
    pod("default", "job-done-x2x4", {
      phase: "Succeeded",
      containers: [{ name: "job", cpuMilli: 50, memoryBytes: 1048576, startTimeMs: NOW - 900_000 }],
    }),
    pod("default", "elsewhere-5b7d", {
      nodeName: "node-b",
      containers: [
        { name: "app", cpuMilli: 50, memoryBytes: 1048576, startTimeMs: NOW - 900_000, swapBytes: 999 },
      ],
    }),
  ];
}

describe("formatGoFloat (strconv.FormatFloat(v, 'g', -1, 64))", () => {
  const table: Array<[number, string]> = [
    [1.8239488e7, "1.8239488e+07"],
    [1e-5, "1e-05"],
    [0.195744, "0.195744"],
    [1457.392812, "1457.392812"],
    [1.6243962483020916e9, "1.6243962483020916e+09"],
    [0, "0"],
    [-0, "-0"],
    [1, "1"],
    [42, "42"],
    [123456, "123456"],
    [999999, "999999"],
    [1e6, "1e+06"],
    [1113243648, "1.113243648e+09"],
    [0.0001, "0.0001"],
    [0.00012, "0.00012"],
    [1.5e-7, "1.5e-07"],
    [1e21, "1e+21"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [5e-324, "5e-324"],
    [-2.5e-5, "-2.5e-05"],
    [-1234.5, "-1234.5"],
    [0.1 + 0.2, "0.30000000000000004"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
  ];
  for (const [value, want] of table) {
    test(`${want}`, () => assert.equal(formatGoFloat(value), want));
  }

  test("round-trips every finite double", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        const s = formatGoFloat(v);
        assert.ok(Object.is(Number(s), v), `${v} -> ${s}`);
        const exp = /e([+-])(\d+)$/.exec(s);
        if (exp) assert.ok(exp[2].length >= 2, `exponent has at least two digits: ${s}`);
      }),
    );
  });
});

describe("renderFamilies", () => {
  test("sorts families by name and samples by label values in label-name order; drops empty families", () => {
    const text = renderFamilies([
      { name: "zz_empty", help: "nothing", type: "gauge", samples: [] },
      {
        name: "b_total",
        help: "b",
        type: "counter",
        samples: [
          {
            labels: [
              ["pod", "a"],
              ["container", "y"],
            ],
            value: 2,
          },
          {
            labels: [
              ["container", "x"],
              ["pod", "b"],
            ],
            value: 1,
            timestampMs: 5,
          },
        ],
      },
      {
        name: "a",
        help: 'with "quote" and \\',
        type: "gauge",
        samples: [{ labels: [["l", 'q"\n\\']], value: 0.5 }],
      },
    ]);
    assert.equal(
      text,
      '# HELP a with "quote" and \\\\\n# TYPE a gauge\na{l="q\\"\\n\\\\"} 0.5\n' +
        '# HELP b_total b\n# TYPE b_total counter\nb_total{container="x",pod="b"} 1 5\nb_total{container="y",pod="a"} 2\n',
    );
  });
});

describe("renderResourceMetrics", () => {
  test("matches the hand-checked golden file", () => {
    const want = readFileSync(new URL("./testdata/resource-metrics.golden.txt", import.meta.url), "utf8");
    assert.equal(
      renderResourceMetrics(fixtureNode({ overheadSwapBytes: 4194304 }), fixturePods(), NOW),
      want,
    );
  });

  test("a node without running pods has only the node families and resource_scrape_error", () => {
    const want = readFileSync(new URL("./testdata/empty-node.golden.txt", import.meta.url), "utf8");
    assert.equal(renderResourceMetrics(fixtureNode(), [], NOW), want);
  });

  test("the node CPU counter never decreases when pods go away", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60_000 }), fc.boolean()), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (steps, seed) => {
          const scenario = generateScenario({ nodes: 1, podsPerNode: 8, seed, ipBase: "127.9", nowMs: NOW });
          const node = scenario.nodes[0];
          let pods = scenario.pods;
          const state = new NodeCounterState();
          let t = NOW;
          let last = -1;
          for (const [advance, remove] of steps) {
            t += advance;
            if (remove && pods.length > 0) pods = pods.slice(1);
            const text = renderResourceMetrics(node, pods, t, state);
            const value = Number(/^node_cpu_usage_seconds_total (\S+)/m.exec(text)![1]);
            assert.ok(value >= last, `node counter went from ${last} to ${value}`);
            last = value;
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("renderSummary", () => {
  test("full Summary shape: node, pods, reported containers only, second-precision times", () => {
    const summary = JSON.parse(renderSummary(fixtureNode(), fixturePods(), NOW));
    const rfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
    assert.equal(summary.node.nodeName, "node-a");
    assert.match(summary.node.startTime, rfc3339);
    assert.equal(summary.node.cpu.time, "2024-11-27T21:10:01Z");
    // Node rate: overhead 100m + 3m + 10m + 25m + 5m (sidecar) = 143m.
    assert.equal(summary.node.cpu.usageNanoCores, 143_000_000);
    // Counters are taken at the whole second (NOW - 205 ms): 120.703701 s - 0.205 s * 0.143 cores.
    assert.equal(summary.node.cpu.usageCoreNanoSeconds, Math.round((120.703701 - 0.205 * 0.143) * 1e9));
    assert.equal(summary.node.memory.workingSetBytes, 380141568);
    assert.equal(summary.node.memory.availableBytes, 8 * 2 ** 30 - 380141568);
    assert.deepEqual(
      summary.node.systemContainers.map((c: { name: string }) => c.name),
      ["kubelet", "runtime", "pods"],
    );
    assert.ok(summary.node.network && summary.node.fs && summary.node.rlimit && summary.node.swap);
    assert.deepEqual(
      summary.pods.map(
        (p: { podRef: { namespace: string; name: string } }) => `${p.podRef.namespace}/${p.podRef.name}`,
      ),
      ["default/web-5d8f7c9b4-q2x8z", "kube-system/coredns-668d6bf9bc-7xk2p"],
    );
    const web = summary.pods[0];
    assert.equal(web.podRef.uid, "uid-default-web-5d8f7c9b4-q2x8z");
    assert.deepEqual(
      web.containers.map((c: { name: string }) => c.name),
      ["nginx", "log-shipper", "istio-proxy"],
    );
    const nginx = web.containers[0];
    assert.match(nginx.startTime, rfc3339);
    assert.equal(nginx.cpu.usageNanoCores, 10_000_000);
    assert.equal(nginx.memory.workingSetBytes, 5410816);
    assert.equal(web.cpu.usageNanoCores, 40_000_000);
    assert.equal(web.memory.workingSetBytes, 47329280);
    assert.ok(web.network && web["ephemeral-storage"] && nginx.rootfs && nginx.logs);
  });

  test("only_cpu_and_memory drops network, fs, volume and rlimit", () => {
    const summary = JSON.parse(renderSummary(fixtureNode(), fixturePods(), NOW, undefined, true));
    assert.deepEqual(Object.keys(summary.node).sort(), [
      "cpu",
      "memory",
      "nodeName",
      "startTime",
      "swap",
      "systemContainers",
    ]);
    for (const c of summary.node.systemContainers)
      assert.deepEqual(Object.keys(c).sort(), ["cpu", "memory", "name", "startTime"]);
    for (const p of summary.pods) {
      assert.deepEqual(Object.keys(p).sort(), ["containers", "cpu", "memory", "podRef", "startTime", "swap"]);
      for (const c of p.containers)
        assert.deepEqual(Object.keys(c).sort(), ["cpu", "memory", "name", "startTime", "swap"]);
    }
  });
});

describe("init containers and swap on both kubelet endpoints", () => {
  const node = fixtureNode({ overheadSwapBytes: 4194304 });

  /** "namespace/pod/container" → swap bytes, from the /metrics/resource text. */
  function resourceSwap(text: string): Map<string, number> {
    const out = new Map<string, number>();
    const re =
      /^container_swap_usage_bytes\{container="([^"]+)",namespace="([^"]+)",pod="([^"]+)"\} (\S+) \d+$/gm;
    for (const m of text.matchAll(re)) out.set(`${m[2]}/${m[3]}/${m[1]}`, Number(m[4]));
    return out;
  }

  function resourceContainers(text: string, family: string): string[] {
    const re = new RegExp(`^${family}\\{container="([^"]+)",namespace="([^"]+)",pod="([^"]+)"\\}`, "gm");
    return [...text.matchAll(re)].map((m) => `${m[2]}/${m[3]}/${m[1]}`).sort();
  }

  const reported = [
    "default/web-5d8f7c9b4-q2x8z/istio-proxy",
    "default/web-5d8f7c9b4-q2x8z/log-shipper",
    "default/web-5d8f7c9b4-q2x8z/nginx",
    "kube-system/coredns-668d6bf9bc-7xk2p/coredns",
  ];

  test("/metrics/resource: the running sidecar is reported in every container family, the completed init container in none", () => {
    const text = renderResourceMetrics(node, fixturePods(), NOW);
    for (const family of [
      "container_cpu_usage_seconds_total",
      "container_memory_working_set_bytes",
      "container_start_time_seconds",
      "container_swap_usage_bytes",
    ]) {
      assert.deepEqual(resourceContainers(text, family), reported, family);
    }
    assert.doesNotMatch(text, /init-config/);
    assert.deepEqual([...resourceSwap(text)].sort(), [
      ["default/web-5d8f7c9b4-q2x8z/istio-proxy", 1048576],
      ["default/web-5d8f7c9b4-q2x8z/log-shipper", 0],
      ["default/web-5d8f7c9b4-q2x8z/nginx", 2097152],
      ["kube-system/coredns-668d6bf9bc-7xk2p/coredns", 0],
    ]);
    assert.match(text, /^node_swap_usage_bytes 7\.340032e\+06 1732741801205$/m);
  });

  for (const onlyCpuAndMemory of [false, true]) {
    test(`/stats/summary${onlyCpuAndMemory ? "?only_cpu_and_memory=true" : ""}: same containers and swap values`, () => {
      const summary = JSON.parse(renderSummary(node, fixturePods(), NOW, undefined, onlyCpuAndMemory));
      const names: string[] = [];
      const swaps = new Map<string, number>();
      for (const p of summary.pods) {
        let podSwap = 0;
        for (const c of p.containers) {
          const key = `${p.podRef.namespace}/${p.podRef.name}/${c.name}`;
          names.push(key);
          swaps.set(key, c.swap.swapUsageBytes);
          podSwap += c.swap.swapUsageBytes;
          assert.match(c.swap.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        }
        assert.equal(p.swap.swapUsageBytes, podSwap, p.podRef.name);
      }
      assert.deepEqual(names.sort(), reported);
      assert.equal(swaps.get("default/web-5d8f7c9b4-q2x8z/nginx"), 2097152);
      assert.equal(swaps.get("default/web-5d8f7c9b4-q2x8z/istio-proxy"), 1048576);
      assert.equal(swaps.get("default/web-5d8f7c9b4-q2x8z/log-shipper"), 0);
      assert.equal(summary.node.swap.swapUsageBytes, 7340032);
      assert.equal(summary.node.swap.time, summary.node.memory.time);
    });
  }

  test("a pod whose only running container is a sidecar is reported with just the sidecar", () => {
    const pods = [
      pod("default", "sidecar-only", {
        containers: [],
        initContainers: [
          { name: "done", sidecar: false, cpuMilli: 1, memoryBytes: 1024, startTimeMs: NOW - 60_000 },
          { name: "agent", sidecar: true, cpuMilli: 2, memoryBytes: 2048, startTimeMs: NOW - 60_000 },
        ],
      }),
    ];
    const text = renderResourceMetrics(node, pods, NOW);
    assert.deepEqual(resourceContainers(text, "container_memory_working_set_bytes"), [
      "default/sidecar-only/agent",
    ]);
    const summary = JSON.parse(renderSummary(node, pods, NOW));
    assert.deepEqual(
      summary.pods.map((p: { containers: { name: string }[] }) => p.containers.map((c) => c.name)),
      [["agent"]],
    );
  });
});

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
    fleet.setFault(node.name, "http500");
    assert.equal((await get(ca, addr(node), "/metrics/resource")).status, 500);

    fleet.setFault(node.name, "garbage");
    const g = await get(ca, addr(node), "/metrics/resource");
    assert.equal(g.status, 200);
    assert.match(String(g.headers["content-type"]), /^text\/plain/);
    const first = g.body.toString().split("\n")[0];
    assert.doesNotMatch(
      first,
      /^(#|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+)/,
      "first line is not valid exposition text",
    );

    fleet.setFault(node.name, "hang");
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
    fleet.setFault(node.name, "hang");
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
