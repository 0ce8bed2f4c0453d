import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import fc from "fast-check";
import { generateScenario } from "../scenario/index.ts";
import type { SimNode, SimPod } from "../types.ts";
import { formatGoFloat, renderFamilies } from "./promtext.ts";
import { renderResourceMetrics } from "./resourcemetrics.ts";
import { renderSummary } from "./summary.ts";
import { NodeCounterState } from "./usage.ts";

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
