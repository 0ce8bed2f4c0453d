// TwoPointStore beyond upstream's storage cases: duplicates, malformed input, readiness logs, odd
// timestamps and windows.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { captureFileLogs } from "../../test/support/logs.ts";
import { at, coreSeconds, nodeScrape, simpleBatch } from "../../test/support/node-scrapes.ts";
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

describe("TwoPointStore (further behaviour)", () => {
  test("pod timestamp and window are those of the container with the earliest timestamp", () => {
    const s = newStore();
    const batch = (tsA: number, tsB: number) => [
      nodeScrape({
        node: "node1",
        pods: [
          {
            namespace: "ns1",
            name: "pod1",
            containers: [
              { name: "a", tsS: tsA, cpu: tsA },
              { name: "b", tsS: tsB, cpu: tsB },
            ],
          },
        ],
      }),
    ];
    storeAll(s, batch(10, 10), batch(30, 25));
    const [pod] = s.getPodMetrics([POD1]);
    assert.equal(pod?.timestampMs, at(25));
    assert.equal(pod?.windowMs, 15_000);
  });

  test("a node whose own point is missing (timestamp 0) is absent but its pods are kept", () => {
    const s = newStore();
    const batch = (tsS: number, withNode: boolean) => {
      const [scrape] = simpleBatch({ tsS, cpu: tsS });
      return [withNode ? scrape : { ...scrape, nodeTimestampMs: 0 }];
    };
    storeAll(s, batch(10, true), batch(20, false));
    assert.deepEqual(s.getNodeMetrics(["node1"]), [undefined]);
    assert.equal(s.getPodMetrics([POD1])[0]?.containers[0].cpuNanocores, 1e9);
    s.store(batch(30, true));
    assert.deepEqual(s.getNodeMetrics(["node1"]), [undefined], "the node starts over after a gap");
  });

  test("node reboot (start time at or after the stored point): no prev", () => {
    const s = newStore();
    const node = (tsS: number, cpu: number, startS?: number) => [
      nodeScrape({ node: "node1", tsS, cpu, startS }),
    ];
    storeAll(s, node(10, 100, 1), node(20, 5, 15));
    assert.deepEqual(s.getNodeMetrics(["node1"]), [undefined]);
    assert.equal(s.nodeReady(), false);
    s.store(node(30, 15, 15));
    assert.equal(s.getNodeMetrics(["node1"])[0]?.cpuNanocores, 1e9);
  });

  test("duplicate node in a batch: the first is kept, the duplicate logged", () => {
    const s = newStore();
    const batch = (tsS: number) => [
      ...simpleBatch({ tsS, cpu: tsS }),
      nodeScrape({ node: "node1", tsS, cpu: tsS * 100 }),
    ];
    storeAll(s, batch(10), batch(20));
    assert.equal(s.getNodeMetrics(["node1"])[0]?.cpuNanocores, 1e9);
    assert.ok(logs.lines.some((l) => l.startsWith("E") && /"Got duplicate node point" node="node1"/.test(l)));
  });

  test("duplicate pod across nodes and duplicate container in a pod: the first is kept, logged", () => {
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
              { name: "c1", tsS, cpu: tsS },
              { name: "c1", tsS, cpu: tsS * 7 },
            ],
          },
        ],
      }),
      nodeScrape({
        node: "node2",
        tsS,
        cpu: tsS,
        pods: [{ namespace: "ns1", name: "pod1", containers: [{ name: "c1", tsS, cpu: tsS * 9 }] }],
      }),
    ];
    storeAll(s, batch(10), batch(20));
    assert.deepEqual(
      s.getPodMetrics([POD1])[0]?.containers.map((c) => c.cpuNanocores),
      [1e9],
    );
    assert.ok(logs.lines.some((l) => /"Got duplicate pod point" pod="ns1\/pod1"/.test(l)));
    assert.ok(
      logs.lines.some((l) => /"Got duplicate Container point" container="c1" pod="ns1\/pod1"/.test(l)),
    );
  });

  test("one entry per request, undefined for unknown names, repeated names answered each time", () => {
    const s = newStore();
    storeAll(s, simpleBatch({ tsS: 10, cpu: 10 }), simpleBatch({ tsS: 20, cpu: 20 }));
    const nodes = s.getNodeMetrics(["nope", "node1", "node1"]);
    assert.equal(nodes.length, 3);
    assert.equal(nodes[0], undefined);
    assert.deepEqual(nodes[1], nodes[2]);
    assert.deepEqual(s.getPodMetrics([{ namespace: "ns1", name: "nope" }, POD1]).map(Boolean), [false, true]);
    assert.deepEqual(s.getNodeMetrics([]), []);
  });

  test("malformed batches and requests are logged and never throw", () => {
    const s = newStore();
    s.store(simpleBatch({ tsS: 10, cpu: 10 }));
    const bad = [
      null,
      { node: 42 },
      {
        ...simpleBatch({ tsS: 20, cpu: 20 })[0],
        node: "weird",
        nodeCpuNs: Number.NaN,
        cpuNs: new Float64Array([-1]),
      },
      { ...simpleBatch({ tsS: 20, cpu: 20 })[0], containers: "nope" },
      ...simpleBatch({ tsS: 20, cpu: 20 }),
    ] as unknown as NodeScrape[];
    assert.doesNotThrow(() => s.store(bad));
    assert.equal(s.getNodeMetrics(["node1"])[0]?.cpuNanocores, 1e9, "a valid scrape in the batch is stored");
    assert.deepEqual(s.getNodeMetrics(["weird"]), [undefined]);
    assert.ok(logs.lines.filter((l) => l.startsWith("E")).length >= 4);
    assert.doesNotThrow(() => s.store("garbage" as unknown as NodeScrape[]));
    assert.deepEqual(
      s.getPodMetrics([null, 3, { namespace: 1 }] as unknown as { namespace: string; name: string }[]),
      [undefined, undefined, undefined],
    );
    assert.deepEqual(s.getNodeMetrics("node1" as unknown as string[]), []);
  });

  test("containerCount larger than the columns is clamped to what is there", () => {
    const s = newStore();
    const [a] = simpleBatch({ tsS: 10, cpu: 10 });
    const [b] = simpleBatch({ tsS: 20, cpu: 20 });
    storeAll(s, [{ ...a, containerCount: 5 }], [{ ...b, containerCount: 5 }]);
    assert.equal(s.getPodMetrics([POD1])[0]?.containers.length, 1);
  });

  test("rejects a non-positive resolution with a clear error", () => {
    assert.throws(() => new TwoPointStore({ resolutionMs: 0 }), /resolutionMs must be a positive number/);
    assert.throws(() => new TwoPointStore({ resolutionMs: Number.NaN }), /resolutionMs/);
  });

  test("readiness transitions are logged at V(2) with upstream's messages", () => {
    const s = newStore();
    const nodeOnly = (tsS: number) => [nodeScrape({ node: "node1", tsS, cpu: tsS })];
    const readiness = () => logs.lines.filter((l) => l.includes("Metric storage"));
    s.store(nodeOnly(10));
    assert.equal(readiness().length, 0, "no transition from the initial not-ready state");
    s.store(nodeOnly(20));
    s.store(nodeOnly(30));
    assert.equal(readiness().length, 1);
    assert.match(
      readiness()[0],
      /^I.*"Metric storage is not ready, pod metrics are missing, this may indicate/,
    );
    assert.match(readiness()[0], /nodeMetrics=true podMetrics=false/);
    s.store(simpleBatch({ tsS: 40, cpu: 40 }));
    s.store(simpleBatch({ tsS: 50, cpu: 50 }));
    assert.match(readiness()[1], /"Metric storage is ready" nodeMetrics=true podMetrics=true/);
    s.store([nodeScrape({ node: "node1", pods: simpleBatchPods(60) })]);
    assert.match(
      readiness()[2],
      /"Metric storage is not ready, node metrics are missing, this may indicate a kubelet/,
    );
    s.store([]);
    assert.match(readiness()[3], /"Metric storage is not ready" nodeMetrics=false podMetrics=false/);
    assert.equal(readiness().length, 4);
  });

  test("large fractional-millisecond windows and big counters keep trunc semantics", () => {
    const s = newStore();
    const [a] = simpleBatch({ tsS: 10, cpu: 1e6 });
    const [b] = simpleBatch({ tsS: 10.0015, cpu: 1e6 + 1 });
    storeAll(s, [a], [b]);
    const got = s.getNodeMetrics(["node1"])[0];
    assert.equal(got?.cpuNanocores, Math.trunc(coreSeconds(1) / ((at(10.0015) - at(10)) / 1000)));
  });
});

function simpleBatchPods(tsS: number) {
  return [{ namespace: "ns1", name: "pod1", containers: [{ name: "c1", tsS, cpu: tsS }] }];
}
