import assert from "node:assert/strict";
import { test } from "node:test";
import type { Node } from "../kube/index.ts";
import { nodeCapacity } from "./capacity.ts";

const node = (capacity?: Record<string, string>): Node => ({ metadata: { name: "n" }, status: { capacity } });

test("status.capacity becomes nanocores and bytes", () => {
  assert.deepEqual(nodeCapacity(node({ cpu: "4", memory: "16Gi" })), {
    cpuNanocores: 4e9,
    memoryBytes: 16 * 2 ** 30,
  });
  assert.deepEqual(nodeCapacity(node({ cpu: "3500m", memory: "1000M" })), {
    cpuNanocores: 3.5e9,
    memoryBytes: 1e9,
  });
});

test("missing, malformed, zero or negative capacity is unknown", () => {
  const cases: (Record<string, string> | undefined)[] = [
    undefined,
    {},
    { cpu: "lots", memory: "" },
    { cpu: "0", memory: "-1Gi" },
  ];
  for (const capacity of cases) {
    assert.deepEqual(nodeCapacity(node(capacity)), { cpuNanocores: undefined, memoryBytes: undefined });
  }
  assert.deepEqual(nodeCapacity({ metadata: { name: "n" } }), {
    cpuNanocores: undefined,
    memoryBytes: undefined,
  });
});
