// Swap usage through both kubelet decoders: optional, never part of completeness (upstream ignores
// swap), and free when absent (no swap column at all).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { captureLogs } from "../../../test/support/logs.ts";
import type { NodeScrape } from "../../storage/index.ts";
import { decodeResourceMetrics } from "./resource.ts";
import { decodeSummary } from "./summary.ts";

const same = (s: string): string => s;
const realistic = readFileSync(new URL("../testdata/resource-1.33.txt", import.meta.url));
const summaryFull = readFileSync(new URL("../testdata/summary-full.json", import.meta.url), "utf8");
const summaryCpuMemory = readFileSync(
  new URL("../testdata/summary-cpu-memory.json", import.meta.url),
  "utf8",
);

/** "namespace/pod/container" → swap (NaN = unknown; undefined column = all unknown). */
function swapByContainer(s: NodeScrape): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < s.containerCount; i++) {
    out[`${s.namespaces[i]}/${s.pods[i]}/${s.containers[i]}`] = s.swapBytes ? s.swapBytes[i] : Number.NaN;
  }
  return out;
}

function label(container: string, pod: string, namespace = "default"): string {
  return `{container="${container}",namespace="${namespace}",pod="${pod}"}`;
}

/** A 1.34-style body: cpu, memory, start time and the swap families (values in bytes). */
function body(lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

describe("decodeResourceMetrics: swap", () => {
  it("the realistic 1.33 payload: node swap 0 (swap off), no container swap column", () => {
    const s = decodeResourceMetrics(realistic, "node-1", 999);
    assert.equal(s.nodeSwapBytes, 0);
    assert.equal(s.swapBytes, undefined);
  });

  it("a body without any swap family leaves both swap fields absent", () => {
    const s = decodeResourceMetrics(
      body([
        "node_cpu_usage_seconds_total 10 1000",
        "node_memory_working_set_bytes 100 1000",
        `container_cpu_usage_seconds_total${label("a", "p")} 1 1000`,
        `container_memory_working_set_bytes${label("a", "p")} 10 1000`,
      ]),
      "n",
      5,
    );
    assert.equal("nodeSwapBytes" in s, false);
    assert.equal("swapBytes" in s, false);
    assert.equal(s.containerCount, 1);
  });

  it("reads node and container swap; swap timestamps do not move the point's timestamp", () => {
    const s = decodeResourceMetrics(
      body([
        "# HELP container_swap_usage_bytes [ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems",
        "# TYPE container_swap_usage_bytes gauge",
        `container_cpu_usage_seconds_total${label("a", "p")} 1 1000`,
        `container_cpu_usage_seconds_total${label("b", "p")} 2 1000`,
        `container_memory_working_set_bytes${label("a", "p")} 10 1000`,
        `container_memory_working_set_bytes${label("b", "p")} 20 1000`,
        `container_swap_limit_bytes${label("a", "p")} 9e+09 7000`,
        `container_swap_usage_bytes${label("a", "p")} 1.048576e+06 7000`,
        "node_cpu_usage_seconds_total 10 1000",
        "node_memory_working_set_bytes 100 1000",
        "node_swap_usage_bytes 5.24288e+06 9000",
        `pod_swap_usage_bytes{namespace="default",pod="p"} 1.048576e+06 7000`,
      ]),
      "n",
      5,
    );
    assert.equal(s.nodeSwapBytes, 5242880);
    assert.equal(s.nodeTimestampMs, 1000);
    assert.deepEqual(swapByContainer(s), { "default/p/a": 1048576, "default/p/b": Number.NaN });
    assert.deepEqual([...s.timestampMs], [1000, 1000]);
  });

  it("swap 0 is a known value, distinct from unknown", () => {
    const s = decodeResourceMetrics(
      body([
        `container_cpu_usage_seconds_total${label("a", "p")} 1 1000`,
        `container_memory_working_set_bytes${label("a", "p")} 10 1000`,
        `container_swap_usage_bytes${label("a", "p")} 0 1000`,
      ]),
      "n",
      5,
    );
    assert.deepEqual(swapByContainer(s), { "default/p/a": 0 });
    assert.equal(s.nodeSwapBytes, undefined);
  });

  it("negative, NaN and infinite swap values are unknown, not errors", () => {
    const s = decodeResourceMetrics(
      body([
        "node_swap_usage_bytes -1 1000",
        `container_cpu_usage_seconds_total${label("a", "p")} 1 1000`,
        `container_memory_working_set_bytes${label("a", "p")} 10 1000`,
        `container_swap_usage_bytes${label("a", "p")} NaN 1000`,
        `container_cpu_usage_seconds_total${label("b", "p")} 1 1000`,
        `container_memory_working_set_bytes${label("b", "p")} 10 1000`,
        `container_swap_usage_bytes${label("b", "p")} +Inf 1000`,
        `container_cpu_usage_seconds_total${label("c", "p")} 1 1000`,
        `container_memory_working_set_bytes${label("c", "p")} 10 1000`,
        `container_swap_usage_bytes${label("c", "p")} 3.5 1000`,
      ]),
      "n",
      5,
    );
    assert.equal(s.nodeSwapBytes, undefined);
    assert.deepEqual(swapByContainer(s), {
      "default/p/a": Number.NaN,
      "default/p/b": Number.NaN,
      "default/p/c": 3,
    });
  });

  it("a node with swap but no memory is still incomplete; its pods are kept", (t) => {
    captureLogs(t);
    const s = decodeResourceMetrics(
      body([
        "node_cpu_usage_seconds_total 10 1000",
        "node_swap_usage_bytes 4096 1000",
        `container_cpu_usage_seconds_total${label("a", "p")} 1 1000`,
        `container_memory_working_set_bytes${label("a", "p")} 10 1000`,
      ]),
      "n",
      5,
    );
    assert.equal(s.nodeTimestampMs, 0);
    assert.equal(s.nodeCpuNs, 0);
    assert.equal(s.containerCount, 1);
  });

  it("a container with swap but no memory still drops its pod", (t) => {
    captureLogs(t);
    const s = decodeResourceMetrics(
      body([
        `container_cpu_usage_seconds_total${label("a", "p")} 1 1000`,
        `container_swap_usage_bytes${label("a", "p")} 4096 1000`,
        `container_cpu_usage_seconds_total${label("a", "q")} 1 1000`,
        `container_memory_working_set_bytes${label("a", "q")} 10 1000`,
      ]),
      "n",
      5,
    );
    assert.deepEqual([...new Set(s.pods)], ["q"]);
  });

  it("a container seen only through swap does not exist (as for upstream) and costs its pod nothing", () => {
    const s = decodeResourceMetrics(
      body([
        `container_cpu_usage_seconds_total${label("main", "p")} 1 1000`,
        `container_memory_working_set_bytes${label("main", "p")} 10 1000`,
        `container_swap_usage_bytes${label("ghost", "p")} 4096 1000`,
        `container_swap_usage_bytes${label("ghost-nan", "p")} NaN 1000`,
        `container_swap_usage_bytes${label("main", "p")} 8192 1000`,
        `container_swap_usage_bytes${label("only", "swap-only-pod")} 4096 1000`,
      ]),
      "n",
      5,
    );
    assert.deepEqual(swapByContainer(s), { "default/p/main": 8192 });
  });

  it("metrics that merely start with a swap family name are other metrics", () => {
    const s = decodeResourceMetrics(
      body([
        "node_swap_usage_bytes_total 77 1000",
        `container_cpu_usage_seconds_total${label("a", "p")} 1 1000`,
        `container_memory_working_set_bytes${label("a", "p")} 10 1000`,
        `container_swap_usage_bytes_max${label("a", "p")} 77 1000`,
      ]),
      "n",
      5,
    );
    assert.equal(s.nodeSwapBytes, undefined);
    assert.equal(s.swapBytes, undefined);
  });

  it("a malformed swap line fails the body like any other line", () => {
    assert.throws(
      () => decodeResourceMetrics("node_swap_usage_bytes lots 1000\n", "n", 5),
      /failed parsing metrics: invalid value "lots" at line 1/,
    );
  });

  it("property: swap values survive any sample order, and absent swap stays unknown", () => {
    const container = fc.record({
      cpu: fc.integer({ min: 1, max: 1e6 }),
      memory: fc.integer({ min: 1, max: 2 ** 40 }),
      swap: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
    });
    const pods = fc.dictionary(
      fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
      fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), container, { minKeys: 1, maxKeys: 4 }),
      { maxKeys: 6 },
    );
    fc.assert(
      fc.property(
        pods,
        fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
        fc.integer(),
        (podMap, nodeSwap, seed) => {
          const lines = ["node_cpu_usage_seconds_total 10 1000", "node_memory_working_set_bytes 100 1000"];
          if (nodeSwap !== undefined) lines.push(`node_swap_usage_bytes ${nodeSwap} 1000`);
          const want: Record<string, number> = {};
          for (const [pod, containers] of Object.entries(podMap)) {
            for (const [name, c] of Object.entries(containers)) {
              lines.push(`container_cpu_usage_seconds_total${label(name, pod)} ${c.cpu} 1000`);
              lines.push(`container_memory_working_set_bytes${label(name, pod)} ${c.memory} 1000`);
              if (c.swap !== undefined)
                lines.push(`container_swap_usage_bytes${label(name, pod)} ${c.swap} 2000`);
              want[`default/${pod}/${name}`] = c.swap ?? Number.NaN;
            }
          }
          // A deterministic shuffle from the seed: decoding must not depend on family order.
          let x = seed >>> 0;
          for (let i = lines.length - 1; i > 0; i--) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            const j = x % (i + 1);
            [lines[i], lines[j]] = [lines[j], lines[i]];
          }
          const s = decodeResourceMetrics(body(lines), "n", 5);
          assert.deepEqual(swapByContainer(s), want);
          assert.equal(s.nodeSwapBytes, nodeSwap);
          const anySwap = Object.values(want).some((v) => !Number.isNaN(v));
          assert.equal(s.swapBytes !== undefined, anySwap);
          for (let i = 0; i < s.containerCount; i++) assert.equal(s.timestampMs[i], 1000);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("decodeSummary: swap", () => {
  it("the upstream samples (swap off): swap 0 where reported, unknown where the sample has no swap", () => {
    const full = decodeSummary(summaryFull, "worker-1", same);
    assert.equal(full.nodeSwapBytes, 0);
    assert.deepEqual(swapByContainer(full), { "default/web-5d8f7c9b4-q2x8z/nginx": 0 });
    const reduced = decodeSummary(summaryCpuMemory, "worker-1", same);
    assert.equal(reduced.nodeSwapBytes, 0);
    assert.deepEqual(swapByContainer(reduced), {
      "default/web-5d8f7c9b4-q2x8z/log-shipper": Number.NaN,
      "default/web-5d8f7c9b4-q2x8z/nginx": 0,
      "kube-system/coredns-668d6bf9bc-7xk2p/coredns": Number.NaN,
    });
  });

  function summary(nodeSwap: unknown, containerSwaps: unknown[]): string {
    const time = "2025-05-22T18:19:00Z";
    const container = (name: string, swap: unknown) => ({
      name,
      startTime: "2025-05-22T17:00:00Z",
      cpu: { time, usageCoreNanoSeconds: 1000 },
      memory: { time, workingSetBytes: 2000 },
      ...(swap === undefined ? {} : { swap }),
    });
    return JSON.stringify({
      node: {
        nodeName: "n",
        startTime: "2025-05-20T00:00:00Z",
        cpu: { time, usageCoreNanoSeconds: 5000 },
        memory: { time, workingSetBytes: 6000 },
        ...(nodeSwap === undefined ? {} : { swap: nodeSwap }),
      },
      pods: [
        {
          podRef: { name: "p", namespace: "ns", uid: "u" },
          startTime: "2025-05-22T17:00:00Z",
          containers: containerSwaps.map((swap, i) => container(`c${i}`, swap)),
        },
      ],
    });
  }

  it("reads node.swap.swapUsageBytes and containers[].swap.swapUsageBytes", () => {
    const s = decodeSummary(
      summary({ time: "2025-05-22T18:19:00Z", swapUsageBytes: 7340032 }, [
        { time: "2025-05-22T18:19:00Z", swapUsageBytes: 2097152 },
        undefined,
        { time: "2025-05-22T18:19:00Z" },
      ]),
      "n",
      same,
    );
    assert.equal(s.nodeSwapBytes, 7340032);
    assert.deepEqual(swapByContainer(s), {
      "ns/p/c0": 2097152,
      "ns/p/c1": Number.NaN,
      "ns/p/c2": Number.NaN,
    });
    assert.equal(s.nodeMemoryBytes, 6000);
  });

  it("no swap anywhere: both swap fields absent", () => {
    const s = decodeSummary(summary(undefined, [undefined, undefined]), "n", same);
    assert.equal("nodeSwapBytes" in s, false);
    assert.equal("swapBytes" in s, false);
    assert.equal(s.containerCount, 2);
  });

  it("a malformed swap object makes only the swap unknown, never the cpu/memory point", () => {
    const s = decodeSummary(
      summary("lots", [{ swapUsageBytes: "1" }, { swapUsageBytes: -5 }, [1], null]),
      "n",
      same,
    );
    assert.equal(s.nodeSwapBytes, undefined);
    assert.equal(s.nodeTimestampMs, Date.parse("2025-05-22T18:19:00Z"));
    assert.equal(s.swapBytes, undefined);
    assert.equal(s.containerCount, 4);
  });

  it("a container with swap but no memory still drops its pod", (t) => {
    captureLogs(t);
    const doc = JSON.parse(summary(undefined, [{ swapUsageBytes: 1 }]));
    delete doc.pods[0].containers[0].memory;
    const s = decodeSummary(JSON.stringify(doc), "n", same);
    assert.equal(s.containerCount, 0);
  });
});
