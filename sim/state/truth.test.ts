import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateScenario } from "../scenario/index.ts";
import { reportedContainers, type Scenario } from "../types.ts";
import { truthOf } from "./truth.ts";

const NOW = 1_750_000_000_000;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe("truthOf", () => {
  const scenario: Scenario = {
    nodes: [
      {
        name: "n1",
        uid: "u1",
        labels: {},
        internalIP: "127.5.1.1",
        hostname: "n1",
        kubeletPort: 10250,
        cpuCores: 4,
        memoryBytes: 8 * GiB,
        overheadCpuMilli: 100,
        overheadMemoryBytes: 300 * MiB,
        overheadSwapBytes: 1 * MiB,
        bootTimeMs: NOW - 1e7,
        creationTimestampMs: NOW - 2e7,
        ready: true,
      },
    ],
    pods: [
      {
        namespace: "default",
        name: "p",
        uid: "pu",
        nodeName: "n1",
        labels: {},
        phase: "Running",
        creationTimestampMs: NOW - 1e6,
        startTimeMs: NOW - 1e6,
        containers: [
          { name: "main", cpuMilli: 50, memoryBytes: 50 * MiB, startTimeMs: NOW - 9e5, swapBytes: 5 * MiB },
        ],
        initContainers: [
          {
            name: "init",
            sidecar: false,
            cpuMilli: 999,
            memoryBytes: 999,
            startTimeMs: NOW - 1e6,
            swapBytes: 999,
          },
          // No swapBytes: counts as 0.
          { name: "side", sidecar: true, cpuMilli: 7, memoryBytes: 8 * MiB, startTimeMs: NOW - 9e5 },
        ],
      },
      {
        namespace: "default",
        name: "pending",
        uid: "pp",
        nodeName: "n1",
        labels: {},
        phase: "Pending",
        creationTimestampMs: NOW,
        startTimeMs: NOW,
        containers: [{ name: "main", cpuMilli: 50, memoryBytes: 50 * MiB, startTimeMs: NOW }],
        initContainers: [],
      },
    ],
  };

  test("excludes terminated init containers and non-running pods, includes sidecars", () => {
    assert.deepEqual(truthOf(scenario), {
      // Swap: overhead 1 Mi + main 5 Mi; the terminated init container's swap is not counted.
      nodes: [{ name: "n1", cpuNanocores: 157_000_000, memoryBytes: 358 * MiB, swapBytes: 6 * MiB }],
      pods: [
        {
          namespace: "default",
          name: "p",
          node: "n1",
          phase: "Running",
          containers: [
            { name: "main", cpuNanocores: 50_000_000, memoryBytes: 50 * MiB, swapBytes: 5 * MiB },
            { name: "side", cpuNanocores: 7_000_000, memoryBytes: 8 * MiB, swapBytes: 0 },
          ],
        },
        { namespace: "default", name: "pending", node: "n1", phase: "Pending", containers: [] },
      ],
    });
    assert.deepEqual(
      reportedContainers(scenario.pods[0]).map((c) => c.name),
      ["main", "side"],
    );
  });

  test("is JSON-serialisable and node truth is overhead plus its pods", () => {
    const s = generateScenario({ nodes: 5, podsPerNode: 6, seed: 1, ipBase: "127.5", nowMs: NOW });
    const truth = truthOf(s);
    assert.deepEqual(JSON.parse(JSON.stringify(truth)), truth);
    for (const n of truth.nodes) {
      const node = s.nodes.find((x) => x.name === n.name)!;
      const pods = truth.pods.filter((p) => p.node === n.name).flatMap((p) => p.containers);
      assert.equal(
        n.cpuNanocores,
        node.overheadCpuMilli * 1e6 + pods.reduce((a, c) => a + c.cpuNanocores, 0),
      );
      assert.equal(n.memoryBytes, node.overheadMemoryBytes + pods.reduce((a, c) => a + c.memoryBytes, 0));
    }
  });

  test("node swap truth is overhead swap plus its reported containers' swap", () => {
    const s = generateScenario({
      nodes: 3,
      podsPerNode: 8,
      seed: 2,
      ipBase: "127.5",
      nowMs: NOW,
      swap: true,
    });
    s.nodes[1].overheadSwapBytes = 3 * MiB;
    const truth = truthOf(s);
    for (const n of truth.nodes) {
      const node = s.nodes.find((x) => x.name === n.name)!;
      const reported = s.pods.filter((p) => p.nodeName === n.name).flatMap((p) => reportedContainers(p));
      const want = (node.overheadSwapBytes ?? 0) + reported.reduce((a, c) => a + (c.swapBytes ?? 0), 0);
      assert.equal(n.swapBytes, want);
      assert.ok(n.swapBytes > 0);
    }
    for (const p of truth.pods) {
      const src = s.pods.find((x) => x.namespace === p.namespace && x.name === p.name)!;
      for (const c of p.containers) {
        const from = [...src.containers, ...src.initContainers].find((x) => x.name === c.name)!;
        assert.equal(c.swapBytes, from.swapBytes);
      }
    }
  });
});
