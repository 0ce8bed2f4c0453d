import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NodeScrapeStatus } from "../storage/index.ts";
import { livePod } from "./live-pod.ts";
import { explainPod, leftOutReason } from "./pod.ts";
import type { ExplainClock, LivePod, NodeFacts, PodFacts } from "./types.ts";

const NOW = Date.parse("2026-12-08T03:20:25Z");
const clock: ExplainClock = { nowMs: NOW, resolutionMs: 15_000 };

const scraped: NodeScrapeStatus = {
  latest: {
    node: "node-1",
    outcome: "Succeeded",
    startMs: NOW - 4_000,
    durationMs: 10,
    bytes: 10,
    nodePoint: true,
    pods: 1,
    containers: 1,
  },
  consecutiveFailures: 0,
  lastSuccessMs: NOW - 4_000,
};

const nodeFacts: NodeFacts = {
  name: "node-1",
  node: { metadata: { name: "node-1" }, status: { conditions: [{ type: "Ready", status: "True" }] } },
  selected: true,
  scrape: scraped,
  stored: undefined,
  known: { scrape: true, store: true },
};

const running: LivePod = livePod({
  spec: { nodeName: "node-1" },
  status: {
    phase: "Running",
    startTime: "2026-12-08T03:20:00Z",
    containerStatuses: [
      { name: "app", restartCount: 0, state: { running: { startedAt: "2026-12-08T03:20:00Z" } } },
    ],
  },
});

function facts(f: Partial<PodFacts>): PodFacts {
  return {
    namespace: "default",
    name: "web-1",
    inRunningCache: true,
    lookup: { kind: "found", pod: running },
    stored: undefined,
    node: nodeFacts,
    ...f,
  };
}

describe("explainPod", () => {
  it("an unknown pod, and a pod that is not Running (its phase and why)", () => {
    assert.deepEqual(explainPod(facts({ inRunningCache: false, lookup: { kind: "absent" } }), clock), [
      { reason: "PodUnknown", message: 'pod "default/web-1" does not exist in the API server' },
    ]);
    const pending = livePod({
      status: {
        phase: "Pending",
        containerStatuses: [{ name: "app", state: { waiting: { reason: "ContainerCreating" } } }],
      },
    });
    assert.deepEqual(
      explainPod(facts({ inRunningCache: false, lookup: { kind: "found", pod: pending } }), clock),
      [
        {
          reason: "PodNotRunning",
          message:
            'pod "default/web-1" is Pending (not scheduled to a node yet, container "app": ContainerCreating); metrics are served for Running pods only',
        },
      ],
    );
  });

  it("a failed lookup is said, and the caches still explain", () => {
    const causes = explainPod(
      facts({
        lookup: { kind: "failed", message: "too many lookups in flight" },
        node: { ...nodeFacts, selected: false },
      }),
      clock,
    );
    assert.deepEqual(
      causes.map((c) => c.reason),
      ["PodLookupFailed", "NodeExcluded"],
    );
  });

  it("the node's failure is the pod's", () => {
    const failing: NodeScrapeStatus = {
      latest: {
        ...scraped.latest,
        outcome: "Failed",
        error: { kind: "ConnectionRefused", message: "connection refused" },
      },
      consecutiveFailures: 2,
    };
    const [cause] = explainPod(facts({ node: { ...nodeFacts, scrape: failing } }), clock);
    assert.equal(cause.reason, "NodeScrapeFailed");
    assert.match(
      cause.message,
      /^the last scrape of node "node-1" failed 4s ago \(at .*, 2 in a row\): connection refused$/,
    );
  });

  it("what the kubelet left out and the store refused, per container", () => {
    const scrape: NodeScrapeStatus = {
      ...scraped,
      latest: {
        ...scraped.latest,
        leftOut: [
          { namespace: "default", pod: "web-1", container: "app", cause: "cpu is 0" },
          { namespace: "default", pod: "other", container: "x", cause: "memory is missing" },
        ],
        leftOutCount: 2,
      },
      refused: [
        { namespace: "default", pod: "web-1", container: "side", cause: "memory above the node's capacity" },
      ],
    };
    const causes = explainPod(facts({ node: { ...nodeFacts, scrape } }), clock);
    assert.deepEqual(
      causes.map((c) => [c.reason, c.field]),
      [
        ["ValuesMissing", "containers[app]"],
        ["ValuesRefused", "containers[side]"],
      ],
    );
    assert.match(
      causes[0].message,
      /^container "app": cpu is 0 in the last answer of node "node-1"'s kubelet, 4s ago/,
    );
    assert.equal(leftOutReason("conflicting values"), "ValuesConflicting");
    assert.equal(leftOutReason("reported by two nodes"), "DuplicatePod");
    assert.equal(leftOutReason("memory is 0"), "ValuesMissing");
  });

  it("one point so far, with when the second is due; a restart with its count", () => {
    const one = explainPod(
      facts({
        stored: {
          node: "node-1",
          containers: [{ name: "app", points: 1, newestMs: NOW - 4_000, startMs: NOW - 25_000 }],
        },
      }),
      clock,
    );
    assert.deepEqual(one, [
      {
        reason: "OnePointSoFar",
        message:
          'container "app" has one point so far, from 4s ago (at 2026-12-08T03:20:21Z); ' +
          'a rate needs two: the second is due with the next scrape of node "node-1", in about 11s (at 2026-12-08T03:20:36Z)',
        field: "containers[app]",
      },
    ]);
    const restartedLive = livePod({
      spec: { nodeName: "node-1" },
      status: {
        phase: "Running",
        containerStatuses: [
          {
            name: "app",
            restartCount: 2,
            state: { running: { startedAt: "2026-12-08T03:20:15Z" } },
            lastState: { terminated: { reason: "Error", exitCode: 1 } },
          },
        ],
      },
    });
    const restarted = explainPod(
      facts({
        lookup: { kind: "found", pod: restartedLive },
        stored: {
          node: "node-1",
          containers: [
            {
              name: "app",
              points: 1,
              newestMs: NOW - 4_000,
              startMs: NOW - 10_000,
              restartedAtMs: NOW - 10_000,
            },
          ],
        },
      }),
      clock,
    );
    assert.equal(restarted.length, 1);
    assert.equal(restarted[0].reason, "ContainerRestarted");
    assert.match(
      restarted[0].message,
      /restarted 10s ago \(at .*Z; restart count 2, last exit: Error, code 1\); /,
    );
  });

  it("a young pod the last scrape did not have", () => {
    const young = livePod({
      spec: { nodeName: "node-1" },
      status: { phase: "Running", startTime: "2026-12-08T03:20:23Z" },
    });
    const [cause] = explainPod(facts({ lookup: { kind: "found", pod: young } }), clock);
    assert.equal(cause.reason, "NotInKubeletResponse");
    assert.match(
      cause.message,
      /started at 2026-12-08T03:20:23Z, after that scrape: the next is due in about 11s/,
    );
  });

  it("livePod never throws on junk", () => {
    for (const junk of [
      null,
      1,
      "x",
      [],
      { status: { containerStatuses: [null, { name: 1 }, { name: "a", restartCount: -1 }] } },
    ]) {
      const p = livePod(junk);
      assert.equal(typeof p.phase, "string");
    }
  });
});
