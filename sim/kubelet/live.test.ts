// Containers the runtime really runs report what /proc says at request time, in both APIs.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerUsage, SimNode, SimPod } from "../types.ts";
import { renderResourceMetrics } from "./resourcemetrics.ts";
import { renderSummary } from "./summary.ts";
import { NodeCounterState } from "./usage.ts";

const NOW = 1732741801205;

const NODE: SimNode = {
  name: "node-a",
  uid: "u",
  labels: {},
  internalIP: "127.9.1.1",
  hostname: "node-a",
  kubeletPort: 10250,
  cpuCores: 4,
  memoryBytes: 8 * 2 ** 30,
  overheadCpuMilli: 100,
  overheadMemoryBytes: 300 * 2 ** 20,
  bootTimeMs: NOW - 1_000_000,
  creationTimestampMs: NOW - 2_000_000,
  ready: true,
};

test("a live container's CPU counter and working set come from its usage reading, request by request", () => {
  let usage: ContainerUsage = { cpuSeconds: 1.5, memoryBytes: 40 * 2 ** 20, cpuMilli: 20 };
  const pod: SimPod = {
    namespace: "kube-system",
    name: "metrics-server-abc-xyz12",
    uid: "p1",
    nodeName: "node-a",
    labels: {},
    phase: "Running",
    creationTimestampMs: NOW - 60_000,
    startTimeMs: NOW - 60_000,
    containers: [
      {
        name: "metrics-server",
        cpuMilli: 100,
        memoryBytes: 200 * 2 ** 20,
        startTimeMs: NOW - 50_000,
        liveUsage: () => usage,
      },
    ],
    initContainers: [],
  };
  const state = new NodeCounterState();
  const first = renderResourceMetrics(NODE, [pod], NOW, state);
  assert.match(first, /^container_cpu_usage_seconds_total\{container="metrics-server",[^}]*\} 1\.5 \d+$/m);
  assert.match(
    first,
    /^container_memory_working_set_bytes\{container="metrics-server",[^}]*\} 4\.194304e\+07 \d+$/m,
  );
  usage = { cpuSeconds: 2.25, memoryBytes: 50 * 2 ** 20, cpuMilli: 30 };
  const second = renderResourceMetrics(NODE, [pod], NOW + 1000, state);
  assert.match(second, /^container_cpu_usage_seconds_total\{container="metrics-server",[^}]*\} 2\.25 \d+$/m);
  assert.match(second, /^pod_memory_working_set_bytes\{[^}]*\} 5\.24288e\+07 \d+$/m);
  const summary = JSON.parse(renderSummary(NODE, [pod], NOW + 2000, state)) as {
    pods: {
      containers: {
        cpu: { usageNanoCores: number; usageCoreNanoSeconds: number };
        memory: { workingSetBytes: number };
      }[];
    }[];
  };
  const c = summary.pods[0].containers[0];
  assert.equal(c.cpu.usageCoreNanoSeconds, 2_250_000_000);
  assert.equal(c.cpu.usageNanoCores, 30_000_000);
  assert.equal(c.memory.workingSetBytes, 50 * 2 ** 20);
});
