// Whatever the facts, an explanation never throws and always has a cause.
import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { fuzz } from "../../test/support/fuzz.ts";
import type { LeftOutPod, NodeScrapeStatus } from "../storage/index.ts";
import { livePod } from "./live-pod.ts";
import { explainNode } from "./node.ts";
import { explainPod } from "./pod.ts";
import type { NodeFacts, PodLookup } from "./types.ts";

const name = fc.constantFrom("a", "b", "web-1", "");
const time = fc.oneof(fc.double({ min: 0, max: 2e12, noNaN: true }), fc.constant(Number.NaN));
const leftOut: fc.Arbitrary<LeftOutPod> = fc.record({
  namespace: fc.constantFrom("default", "x"),
  pod: name,
  container: fc.option(name, { nil: undefined }),
  cause: fc.constantFrom(
    "cpu is 0",
    "memory is missing",
    "conflicting values",
    "reported by two nodes",
    "counter went back",
  ),
});
const scrape: fc.Arbitrary<NodeScrapeStatus> = fc.record({
  latest: fc.record({
    node: name,
    outcome: fc.constantFrom("Succeeded" as const, "Failed" as const, "NotReady" as const),
    startMs: time,
    durationMs: fc.nat(),
    bytes: fc.nat(),
    nodePoint: fc.boolean(),
    pods: fc.nat(),
    containers: fc.nat(),
    error: fc.option(
      fc.record({
        kind: fc.constantFrom(
          "Timeout" as const,
          "CertificateInvalid" as const,
          "Forbidden" as const,
          "Other" as const,
        ),
        message: fc.string(),
        certificateWanted: fc.option(fc.string(), { nil: undefined }),
      }),
      { nil: undefined },
    ),
    leftOut: fc.option(fc.array(leftOut, { maxLength: 3 }), { nil: undefined }),
    leftOutCount: fc.option(fc.nat(), { nil: undefined }),
  }),
  consecutiveFailures: fc.nat(),
  failingSinceMs: fc.option(time, { nil: undefined }),
  lastSuccessMs: fc.option(time, { nil: undefined }),
  refused: fc.option(fc.array(leftOut, { maxLength: 3 }), { nil: undefined }),
  nodeRefused: fc.option(fc.string(), { nil: undefined }),
});
const nodeFacts: fc.Arbitrary<NodeFacts> = fc.record({
  name,
  node: fc.option(
    fc.record({
      metadata: fc.record({ name }),
      status: fc.record({
        conditions: fc.array(
          fc.record({
            type: fc.constantFrom("Ready", "DiskPressure"),
            status: fc.constantFrom("True", "False", "Unknown"),
          }),
        ),
      }),
    }),
    { nil: undefined },
  ),
  selected: fc.boolean(),
  scrape: fc.option(scrape, { nil: undefined }),
  stored: fc.option(
    fc.record({
      points: fc.constantFrom(1 as const, 2 as const),
      newestMs: time,
      previousMs: fc.option(time, { nil: undefined }),
    }),
    { nil: undefined },
  ),
  known: fc.record({ scrape: fc.boolean(), store: fc.boolean() }),
});
const lookup: fc.Arbitrary<PodLookup> = fc.oneof(
  fc.constant({ kind: "absent" as const }),
  fc.constant({ kind: "skipped" as const }),
  fc.record({ kind: fc.constant("failed" as const), message: fc.string() }),
  fc.anything().map((json) => ({ kind: "found" as const, pod: livePod(json) })),
  fc
    .record({
      phase: fc.constantFrom("Running", "Pending", "Failed"),
      restarts: fc.nat(3),
      start: fc.date({ noInvalidDate: true }),
    })
    .map(({ phase, restarts, start }) => ({
      kind: "found" as const,
      pod: livePod({
        status: {
          phase,
          containerStatuses: [
            { name: "a", restartCount: restarts, state: { running: { startedAt: start.toISOString() } } },
          ],
        },
      }),
    })),
);
const storedPod = fc.record({
  node: name,
  containers: fc.array(
    fc.record({
      name,
      points: fc.constantFrom(1 as const, 2 as const),
      newestMs: time,
      startMs: time,
      restartedAtMs: fc.option(time, { nil: undefined }),
    }),
    { maxLength: 3 },
  ),
});
const clock = fc.record({
  nowMs: time,
  resolutionMs: fc.integer({ min: 1, max: 120_000 }),
  startedAtMs: fc.option(time, { nil: undefined }),
});

it("explainNode and explainPod never throw and give at least one cause, each with a message", () => {
  fuzz(
    fc.property(
      nodeFacts,
      lookup,
      fc.boolean(),
      fc.option(storedPod, { nil: undefined }),
      fc.option(nodeFacts, { nil: undefined }),
      clock,
      (node, podLookup, inRunningCache, stored, podNode, c) => {
        for (const causes of [
          explainNode(node, c),
          explainPod(
            { namespace: "default", name: "web-1", inRunningCache, lookup: podLookup, stored, node: podNode },
            c,
          ),
        ]) {
          assert.ok(causes.length >= 1);
          for (const cause of causes) assert.ok(cause.message.length > 0 && cause.reason.length > 0);
        }
      },
    ),
    500,
  );
});
