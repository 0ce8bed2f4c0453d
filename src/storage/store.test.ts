import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { captureFileLogs } from "../../test/support/logs.ts";
import { at, nodeScrape, simpleBatch } from "../../test/support/node-scrapes.ts";
import { TwoPointStore } from "./store.ts";
import type { NodeScrape } from "./types.ts";

const RESOLUTION_MS = 60_000;
const POD1 = { namespace: "ns1", name: "pod1" };

// Captures log lines so tests can assert what was (and was not) logged.
const logs = captureFileLogs(2);

function newStore(): TwoPointStore {
  return new TwoPointStore({ resolutionMs: RESOLUTION_MS });
}

function storeAll(s: TwoPointStore, ...batches: NodeScrape[][]): void {
  for (const b of batches) s.store(b);
}

function assertEmpty(s: TwoPointStore): void {
  assert.deepEqual(s.getNodeMetrics(["node1"]), [undefined]);
  assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
}

describe("TwoPointStore (upstream storage cases)", () => {
  test("first batch: nothing served and not ready", () => {
    const s = newStore();
    s.store(simpleBatch({ tsS: 10, cpu: 10 }));
    assertEmpty(s);
    assert.equal(s.ready(), false);
    assert.equal(s.nodeReady(), false);
    assert.equal(s.podReady(), false);
  });

  test("second batch (+10 s, +10 core·s): 1 core over a 10 s window, ready", () => {
    const s = newStore();
    storeAll(
      s,
      simpleBatch({ tsS: 10, cpu: 10, memory: 100 }),
      simpleBatch({ tsS: 20, cpu: 20, memory: 200 }),
    );
    assert.deepEqual(s.getNodeMetrics(["node1"]), [
      { timestampMs: at(20), windowMs: 10_000, cpuNanocores: 1_000_000_000, memoryBytes: 200 },
    ]);
    assert.deepEqual(s.getPodMetrics([POD1]), [
      {
        timestampMs: at(20),
        windowMs: 10_000,
        containers: [{ name: "c1", cpuNanocores: 1_000_000_000, memoryBytes: 200 }],
      },
    ]);
    assert.equal(s.ready(), true);
  });

  test("empty third batch: nothing served, not ready", () => {
    const s = newStore();
    storeAll(s, simpleBatch({ tsS: 10, cpu: 10 }), simpleBatch({ tsS: 20, cpu: 20 }), []);
    assertEmpty(s);
    assert.equal(s.ready(), false);
  });

  test("identical batch stored twice: nothing served, not ready", () => {
    const s = newStore();
    storeAll(s, simpleBatch({ tsS: 10, cpu: 10 }), simpleBatch({ tsS: 10, cpu: 10 }));
    assertEmpty(s);
    assert.equal(s.ready(), false);
  });

  test("CPU decrease: node omitted, single-container pod omitted (differs: upstream serves it empty)", () => {
    const s = newStore();
    storeAll(s, simpleBatch({ tsS: 10, cpu: 20 }), simpleBatch({ tsS: 20, cpu: 10 }));
    assertEmpty(s);
    // Points with a prev still count: upstream's readiness is about stored points, not valid rates.
    assert.equal(s.ready(), true);
  });

  test("CPU decrease in one container: only that container skipped, the rest of the pod served", () => {
    const s = newStore();
    const batch = (tsS: number, a: number, b: number) => [
      nodeScrape({
        node: "node1",
        tsS,
        cpu: tsS,
        pods: [
          {
            namespace: "ns1",
            name: "pod1",
            containers: [
              { name: "a", tsS, cpu: a },
              { name: "b", tsS, cpu: b },
            ],
          },
        ],
      }),
    ];
    storeAll(s, batch(10, 10, 50), batch(20, 30, 40));
    const [pod] = s.getPodMetrics([POD1]);
    assert.deepEqual(pod?.containers, [{ name: "a", cpuNanocores: 2_000_000_000, memoryBytes: 1 }]);
    assert.equal(pod?.windowMs, 10_000);
  });

  test("CPU decrease is logged once at store time, not on reads (differs from upstream)", () => {
    const s = newStore();
    storeAll(s, simpleBatch({ tsS: 10, cpu: 20 }), simpleBatch({ tsS: 20, cpu: 10 }));
    const errors = () => logs.lines.filter((l) => l.startsWith("E"));
    assert.equal(errors().length, 2);
    assert.match(errors()[0], /"Skipping node usage metric" err="unexpected decrease in cumulative CPU/);
    assert.match(errors()[0], /node="node1"/);
    assert.match(errors()[1], /"Skipping container usage metric" .*container="c1" pod="ns1\/pod1"/);
    for (let i = 0; i < 5; i++) {
      s.getNodeMetrics(["node1"]);
      s.getPodMetrics([POD1]);
    }
    assert.equal(errors().length, 2);
  });

  test("startTime decrease is an error: container skipped", () => {
    const s = newStore();
    storeAll(
      s,
      simpleBatch({ tsS: 100, cpu: 10, startS: 50 }),
      simpleBatch({ tsS: 200, cpu: 20, startS: 40 }),
    );
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
    assert.ok(logs.lines.some((l) => /unexpected decrease in startTime/.test(l)));
  });

  test("new point older than prev: prev dropped, nothing served", () => {
    const s = newStore();
    storeAll(
      s,
      simpleBatch({ tsS: 10, cpu: 10 }),
      simpleBatch({ tsS: 20, cpu: 20 }),
      simpleBatch({ tsS: 5, cpu: 5 }),
    );
    assertEmpty(s);
    assert.ok(
      logs.lines.some((l) => l.includes("Found new node metrics point is older then stored previous")),
    );
    assert.ok(
      logs.lines.some((l) => l.includes("Found new container metrics point is older then stored previous")),
    );
  });

  test("new point at the same time as prev: prev dropped (no zero-length window)", () => {
    const s = newStore();
    storeAll(
      s,
      simpleBatch({ tsS: 10, cpu: 10 }),
      simpleBatch({ tsS: 20, cpu: 20 }),
      simpleBatch({ tsS: 10, cpu: 10 }),
    );
    assertEmpty(s);
    assert.equal(s.ready(), false);
  });

  test("prev.ts < new.ts < last.ts: served against prev (25 core·s over 10 s = 2.5 cores)", () => {
    const s = newStore();
    storeAll(
      s,
      simpleBatch({ tsS: 10, cpu: 10 }),
      simpleBatch({ tsS: 30, cpu: 50 }),
      simpleBatch({ tsS: 20, cpu: 35 }),
    );
    assert.deepEqual(s.getNodeMetrics(["node1"]), [
      { timestampMs: at(20), windowMs: 10_000, cpuNanocores: 2_500_000_000, memoryBytes: 1 },
    ]);
    const [pod] = s.getPodMetrics([POD1]);
    assert.equal(pod?.timestampMs, at(20));
    assert.equal(pod?.windowMs, 10_000);
    assert.equal(pod?.containers[0].cpuNanocores, 2_500_000_000);
  });

  test("restart (start 15 s, ts 25 s, 5 core·s, prev at 10 s): fresh rule, 0.5 core over 10 s", () => {
    const s = newStore();
    storeAll(s, simpleBatch({ tsS: 10, cpu: 100, startS: 1 }), simpleBatch({ tsS: 25, cpu: 5, startS: 15 }));
    const [pod] = s.getPodMetrics([POD1]);
    assert.deepEqual(pod, {
      timestampMs: at(25),
      windowMs: 10_000,
      containers: [{ name: "c1", cpuNanocores: 500_000_000, memoryBytes: 1 }],
    });
  });

  test("restart older than the resolution: no prev, nothing served", () => {
    const s = new TwoPointStore({ resolutionMs: 15_000 });
    storeAll(s, simpleBatch({ tsS: 10, cpu: 100, startS: 1 }), simpleBatch({ tsS: 40, cpu: 5, startS: 15 }));
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
  });

  test("long-running container in one batch: nothing served", () => {
    const s = newStore();
    s.store(simpleBatch({ tsS: 3600, cpu: 100, startS: 0.001 }));
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
    assert.equal(s.podReady(), false);
  });

  test("fresh container (ts − start = 10 s): served after one scrape, window 10 s", () => {
    const s = newStore();
    s.store(simpleBatch({ tsS: 20, cpu: 5, startS: 10, memory: 7 }));
    assert.deepEqual(s.getPodMetrics([POD1]), [
      {
        timestampMs: at(20),
        windowMs: 10_000,
        containers: [{ name: "c1", cpuNanocores: 500_000_000, memoryBytes: 7 }],
      },
    ]);
    assert.equal(s.podReady(), true);
    // The node has only one point: fresh containers do not make node metrics servable.
    assert.equal(s.nodeReady(), false);
  });

  test("fresh container from the Summary API (start times in whole seconds): waits for two points", () => {
    const s = newStore();
    const first = simpleBatch({ tsS: 20, cpu: 5, startS: 10, memory: 7 });
    for (const b of first) b.wholeSecondStartTimes = true;
    s.store(first);
    // Its start time may be up to a second early: a rate from it could be 10 % low.
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
    const second = simpleBatch({ tsS: 30, cpu: 10, startS: 10, memory: 7 });
    for (const b of second) b.wholeSecondStartTimes = true;
    s.store(second);
    assert.deepEqual(s.getPodMetrics([POD1]), [
      {
        timestampMs: at(30),
        windowMs: 10_000,
        containers: [{ name: "c1", cpuNanocores: 500_000_000, memoryBytes: 7 }],
      },
    ]);
  });

  test("fresh container (ts − start = 9 s): nothing served", () => {
    const s = newStore();
    s.store(simpleBatch({ tsS: 19, cpu: 5, startS: 10 }));
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
  });

  test("container exactly one resolution old is not fresh: nothing served after one scrape", () => {
    const s = new TwoPointStore({ resolutionMs: 30_000 });
    s.store(simpleBatch({ tsS: 40, cpu: 5, startS: 10 }));
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
    const younger = new TwoPointStore({ resolutionMs: 30_000 });
    younger.store(simpleBatch({ tsS: 39.999, cpu: 5, startS: 10 }));
    assert.equal(younger.getPodMetrics([POD1])[0]?.containers.length, 1);
  });

  test("start time after the timestamp: nothing served", () => {
    const s = newStore();
    s.store(simpleBatch({ tsS: 10, cpu: 5, startS: 30 }));
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
  });

  test("zero StartTime counts as not restarted and works normally", () => {
    const s = newStore();
    storeAll(s, simpleBatch({ tsS: 10, cpu: 10 }), simpleBatch({ tsS: 20, cpu: 15 }));
    assert.equal(s.getPodMetrics([POD1])[0]?.containers[0].cpuNanocores, 500_000_000);
  });

  test("container added in the second batch hides its pod; served again on the third", () => {
    const s = newStore();
    const batch = (tsS: number, names: string[]) => [
      nodeScrape({
        node: "node1",
        tsS,
        cpu: tsS,
        pods: [
          { namespace: "ns1", name: "pod1", containers: names.map((name) => ({ name, tsS, cpu: tsS })) },
        ],
      }),
    ];
    storeAll(s, batch(10, ["a"]), batch(20, ["a", "b"]));
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
    assert.equal(s.podReady(), true, "container a has a prev");
    s.store(batch(30, ["a", "b"]));
    assert.deepEqual(
      s.getPodMetrics([POD1])[0]?.containers.map((c) => c.name),
      ["a", "b"],
    );
  });

  test("no zero-prev quirk: a container missing from the old prev gets no prev (differs from upstream)", () => {
    const s = newStore();
    const batch = (tsS: number, names: string[]) => [
      nodeScrape({
        node: "node1",
        tsS,
        cpu: tsS,
        pods: [
          { namespace: "ns1", name: "pod1", containers: names.map((name) => ({ name, tsS, cpu: tsS })) },
        ],
      }),
    ];
    // Third batch repeats the second's timestamp: "a" keeps its old prev; "b" had none to keep.
    storeAll(s, batch(10, ["a"]), batch(20, ["a", "b"]), batch(20, ["a", "b"]));
    assert.deepEqual(s.getPodMetrics([POD1]), [undefined]);
  });

  test("node-only batches never make ready() true", () => {
    const s = newStore();
    const nodeOnly = (tsS: number) => [nodeScrape({ node: "node1", tsS, cpu: tsS })];
    storeAll(s, nodeOnly(10), nodeOnly(20), nodeOnly(30));
    assert.equal(s.nodeReady(), true);
    assert.equal(s.podReady(), false);
    assert.equal(s.ready(), false);
    assert.equal(s.getNodeMetrics(["node1"])[0]?.cpuNanocores, 1_000_000_000);
  });

  test("pod-only batches never make ready() true", () => {
    const s = newStore();
    const podOnly = (tsS: number) => [
      nodeScrape({
        node: "node1",
        pods: [{ namespace: "ns1", name: "pod1", containers: [{ name: "c1", tsS, cpu: tsS }] }],
      }),
    ];
    storeAll(s, podOnly(10), podOnly(20), podOnly(30));
    assert.equal(s.nodeReady(), false);
    assert.equal(s.podReady(), true);
    assert.equal(s.ready(), false);
    assert.deepEqual(s.getNodeMetrics(["node1"]), [undefined]);
    assert.equal(s.getPodMetrics([POD1])[0]?.containers.length, 1);
  });

  test("multiple pods and containers: containers served in name order whatever the input order", () => {
    const s = newStore();
    const batch = (tsS: number) => [
      nodeScrape({
        node: "node1",
        tsS,
        cpu: tsS,
        pods: [
          {
            namespace: "ns1",
            name: "pod1",
            containers: [
              { name: "zeta", tsS, cpu: tsS * 3 },
              { name: "alpha", tsS, cpu: tsS },
              { name: "mid", tsS, cpu: tsS * 2 },
            ],
          },
          { namespace: "ns2", name: "pod1", containers: [{ name: "only", tsS, cpu: tsS * 4 }] },
        ],
      }),
      nodeScrape({
        node: "node2",
        tsS,
        cpu: tsS,
        pods: [{ namespace: "ns1", name: "pod2", containers: [{ name: "x", tsS, cpu: tsS / 2 }] }],
      }),
    ];
    storeAll(s, batch(10), batch(20));
    const [p1, p2, p3, missing] = s.getPodMetrics([
      POD1,
      { namespace: "ns2", name: "pod1" },
      { namespace: "ns1", name: "pod2" },
      { namespace: "ns3", name: "pod1" },
    ]);
    assert.deepEqual(
      p1?.containers.map((c) => [c.name, c.cpuNanocores]),
      [
        ["alpha", 1e9],
        ["mid", 2e9],
        ["zeta", 3e9],
      ],
    );
    assert.deepEqual(
      p2?.containers.map((c) => [c.name, c.cpuNanocores]),
      [["only", 4e9]],
    );
    assert.deepEqual(
      p3?.containers.map((c) => [c.name, c.cpuNanocores]),
      [["x", 5e8]],
    );
    assert.equal(missing, undefined);
    assert.equal(s.getNodeMetrics(["node1", "node2", "node3"]).filter(Boolean).length, 2);
  });

  test("memory is the latest value", () => {
    const s = newStore();
    storeAll(
      s,
      simpleBatch({ tsS: 10, cpu: 10, memory: 1000 }),
      simpleBatch({ tsS: 20, cpu: 20, memory: 3000 }),
      simpleBatch({ tsS: 30, cpu: 30, memory: 2000 }),
    );
    assert.equal(s.getNodeMetrics(["node1"])[0]?.memoryBytes, 2000);
    assert.equal(s.getPodMetrics([POD1])[0]?.containers[0].memoryBytes, 2000);
  });

  test("nodes and pods absent from a batch vanish", () => {
    const s = newStore();
    const two = (tsS: number) => [
      ...simpleBatch({ tsS, cpu: tsS }),
      nodeScrape({
        node: "node2",
        tsS,
        cpu: tsS,
        pods: [{ namespace: "ns1", name: "pod2", containers: [{ name: "c", tsS, cpu: tsS }] }],
      }),
    ];
    storeAll(s, two(10), two(20));
    assert.equal(s.getNodeMetrics(["node2"])[0]?.cpuNanocores, 1e9);
    s.store(simpleBatch({ tsS: 30, cpu: 30 }));
    assert.deepEqual(s.getNodeMetrics(["node1", "node2"]).map(Boolean), [true, false]);
    assert.deepEqual(s.getPodMetrics([POD1, { namespace: "ns1", name: "pod2" }]).map(Boolean), [true, false]);
    // Coming back after an absence starts over: one point is not enough.
    s.store(two(40));
    assert.deepEqual(s.getNodeMetrics(["node1", "node2"]).map(Boolean), [true, false]);
  });
});
