import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { captureLogs } from "../../../test/support/logs.ts";
import type { NodeScrape } from "../../storage/index.ts";
import { TwoPointStore } from "../../storage/index.ts";
import { decodeSummary } from "./summary.ts";

const full = readFileSync(new URL("../testdata/summary-full.json", import.meta.url), "utf8");
const reduced = readFileSync(new URL("../testdata/summary-cpu-memory.json", import.meta.url), "utf8");
const same = (s: string): string => s;
const ms = (rfc3339: string): number => Date.parse(rfc3339);

/** The scrape's containers as plain rows, for readable assertions. */
function rows(s: NodeScrape) {
  return Array.from({ length: s.containerCount }, (_, i) => ({
    pod: `${s.namespaces[i]}/${s.pods[i]}`,
    container: s.containers[i],
    startTimeMs: s.startTimeMs[i],
    timestampMs: s.timestampMs[i],
    cpuNs: s.cpuNs[i],
    memoryBytes: s.memoryBytes[i],
  }));
}

/** A summary with one node and one pod (ns/pod, container c) sharing one counter and time. */
function summary(counter: string, time: string): string {
  return `{"node":{"nodeName":"n","startTime":"2025-05-20T09:12:30Z",
    "cpu":{"time":"${time}","usageNanoCores":1,"usageCoreNanoSeconds":${counter}},
    "memory":{"time":"${time}","workingSetBytes":1000}},
  "pods":[{"podRef":{"name":"pod","namespace":"ns","uid":"u"},"startTime":"2025-05-20T09:13:00Z",
    "containers":[{"name":"c","startTime":"2025-05-20T09:13:01Z",
      "cpu":{"time":"${time}","usageCoreNanoSeconds":${counter}},
      "memory":{"time":"${time}","workingSetBytes":2000}}]}]}`;
}

describe("decodeSummary", () => {
  it("decodes the full Summary API sample", (t) => {
    captureLogs(t);
    const s = decodeSummary(full, "worker-1", same);
    assert.equal(s.node, "worker-1");
    assert.equal(s.nodeTimestampMs, ms("2025-05-22T18:19:05Z"));
    assert.equal(s.nodeCpuNs, 1457392812000);
    assert.equal(s.nodeMemoryBytes, 1113243648);
    assert.equal(s.nodeStartTimeMs, ms("2025-05-20T09:12:30Z"));
    assert.equal(s.nodeCpuNsRemainder, undefined);
    assert.equal(s.cpuNsRemainder, undefined);
    assert.deepEqual(rows(s), [
      {
        pod: "default/web-5d8f7c9b4-q2x8z",
        container: "nginx",
        startTimeMs: ms("2025-05-22T17:40:12Z"),
        timestampMs: ms("2025-05-22T18:19:00Z"),
        cpuNs: 85392000,
        memoryBytes: 5410816,
      },
    ]);
  });

  it("decodes an only_cpu_and_memory response: sorted pods, incomplete and empty pods left out", (t) => {
    const lines = captureLogs(t, 1);
    const s = decodeSummary(reduced, "worker-2", same);
    assert.equal(s.nodeCpuNs, 1457392812000);
    assert.deepEqual(
      rows(s).map((r) => [r.pod, r.container, r.cpuNs, r.memoryBytes]),
      [
        ["default/web-5d8f7c9b4-q2x8z", "log-shipper", 1207330000, 10461184],
        ["default/web-5d8f7c9b4-q2x8z", "nginx", 85392000, 5410816],
        ["kube-system/coredns-668d6bf9bc-7xk2p", "coredns", 12847166000, 18239488],
      ],
    );
    // The container without cpu stats drops its pod, with upstream's two V(1) lines.
    assert.ok(lines.some((l) => /"Failed getting complete container metric" .*containerName="app"/.test(l)));
    assert.ok(
      lines.some((l) => l.includes('"Failed getting complete Pod metric" pod="default/starting-7c9d"')),
    );
  });

  it("interns namespace, pod and container names", () => {
    const seen: string[] = [];
    const s = decodeSummary(reduced, "worker-2", (x) => {
      seen.push(x);
      return x;
    });
    for (const name of [...s.namespaces, ...s.pods, ...s.containers]) assert.ok(seen.includes(name), name);
  });

  it("marks the node point incomplete when its cpu or memory is missing, keeping the pods", (t) => {
    const lines = captureLogs(t, 1);
    const noCpu = JSON.parse(full);
    delete noCpu.node.cpu;
    const zeroMemory = JSON.parse(full);
    zeroMemory.node.memory.workingSetBytes = 0;
    const noTime = JSON.parse(full);
    noTime.node.cpu.time = null;
    for (const doc of [noCpu, zeroMemory, noTime]) {
      const s = decodeSummary(JSON.stringify(doc), "worker-1", same);
      assert.equal(s.nodeTimestampMs, 0);
      assert.equal(s.nodeCpuNs, 0);
      assert.equal(s.nodeMemoryBytes, 0);
      assert.equal(s.containerCount, 1);
    }
    assert.equal(lines.filter((l) => l.includes('"Failed getting complete node metric"')).length, 3);
  });

  it("drops a pod whose container has no cpu time or zero memory", (t) => {
    captureLogs(t);
    const noTime = JSON.parse(full);
    delete noTime.pods[0].containers[0].cpu.time;
    const zeroMemory = JSON.parse(full);
    zeroMemory.pods[0].containers[0].memory.workingSetBytes = 0;
    for (const doc of [noTime, zeroMemory]) {
      assert.equal(decodeSummary(JSON.stringify(doc), "worker-1", same).containerCount, 0);
    }
  });

  it("accepts an empty or missing pods list", () => {
    for (const body of [
      '{"node":{"nodeName":"n","startTime":"2025-05-20T09:12:30Z"},"pods":[]}',
      '{"node":{"nodeName":"n","startTime":"2025-05-20T09:12:30Z"}}',
      '{"node":{"nodeName":"n"},"pods":null}',
    ]) {
      const s = decodeSummary(body, "n", same);
      assert.equal(s.containerCount, 0);
      assert.equal(s.nodeTimestampMs, 0);
    }
  });

  it("rejects malformed JSON and wrong shapes with one clear message", () => {
    const cases: [string, RegExp][] = [
      ['{"node": {', /^failed parsing summary: .*JSON/],
      ["", /^failed parsing summary: /],
      ["[]", /^failed parsing summary: the response is not a JSON object$/],
      ['{"pods": {}}', /^failed parsing summary: pods is not an array$/],
      ['{"pods": [7]}', /^failed parsing summary: pods\[0\] is not an object$/],
      ['{"pods": [{"containers": "x"}]}', /^failed parsing summary: pods\[0\]\.containers is not an array$/],
      [
        '{"pods": [{"containers": [{"name": "c", "cpu": {"time": "2025-05-22T18:19:00Z", "usageCoreNanoSeconds": -1}}]}]}',
        /^failed parsing summary: pods\[0\]\.containers\[0\]\.cpu\.usageCoreNanoSeconds is not a non-negative integer$/,
      ],
      [
        '{"node": {"cpu": {"time": "yesterday", "usageCoreNanoSeconds": 1}}}',
        /^failed parsing summary: node\.cpu\.time is not an RFC 3339 time: "yesterday"$/,
      ],
      ['{"node": {"memory": "lots"}}', /^failed parsing summary: node\.memory is not an object$/],
      [
        '{"pods": [{"podRef": {"name": 5}}]}',
        /^failed parsing summary: pods\[0\]\.podRef\.name is not a string$/,
      ],
    ];
    for (const [body, message] of cases) {
      assert.throws(
        () => decodeSummary(body, "n", same),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.match(err.message, message, body);
          return true;
        },
      );
    }
  });

  it("keeps uint64 counters exact as (double, remainder)", () => {
    const counter = 18_446_744_073_709_551_557n; // just under 2^64
    const s = decodeSummary(summary(String(counter), "2025-05-22T18:19:05Z"), "n", same);
    assert.equal(BigInt(s.nodeCpuNs) + BigInt(s.nodeCpuNsRemainder ?? 0), counter);
    assert.ok(s.cpuNsRemainder);
    assert.equal(BigInt(s.cpuNs[0]) + BigInt(s.cpuNsRemainder[0]), counter);
    assert.notEqual(s.nodeCpuNsRemainder, 0, "the counter is not a double, so a remainder is needed");
  });

  it("gives the exact nanocore rate from two summaries 15 s apart with counters past 2^53", (t) => {
    captureLogs(t);
    const node0 = 18_000_000_000_000_000_001n; // ~1.8e19
    const node1 = node0 + 37_500_000_999n; // 2.5 cores for 15 s + 999 ns
    const pod0 = 10_000_000_000_000_001n; // ~1e16
    const pod1 = pod0 + 1_500_000_029n; // 0.1 core for 15 s + 29 ns
    const body = (nodeCounter: bigint, podCounter: bigint, time: string): string =>
      summary(String(nodeCounter), time).replace(
        /("containers".*"usageCoreNanoSeconds":)\d+/s,
        `$1${podCounter}`,
      );
    const first = body(node0, pod0, "2025-05-22T18:19:00Z");
    const second = body(node1, pod1, "2025-05-22T18:19:15Z");
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store([decodeSummary(first, "n", same)]);
    store.store([decodeSummary(second, "n", same)]);

    const exactNode = Number((node1 - node0) / 15n);
    const exactPod = Number((pod1 - pod0) / 15n);
    const [nodePoint] = store.getNodeMetrics(["n"]);
    const [podPoint] = store.getPodMetrics([{ namespace: "ns", name: "pod" }]);
    assert.equal(nodePoint?.windowMs, 15_000);
    assert.equal(nodePoint?.cpuNanocores, exactNode);
    assert.equal(podPoint?.containers[0].cpuNanocores, exactPod);

    // A naive Number() parse of the same counters would be off: the test proves the remainders matter.
    const naive = (a: bigint, b: bigint): number => Math.trunc((Number(b) - Number(a)) / 15);
    assert.notEqual(naive(node0, node1), exactNode);
    assert.notEqual(naive(pod0, pod1), exactPod);
  });

  it("rates use the kubelet's one-second cpu.time values for the window", (t) => {
    captureLogs(t);
    const store = new TwoPointStore({ resolutionMs: 60_000 });
    store.store([decodeSummary(summary("1000000000000", "2025-05-22T18:19:00Z"), "n", same)]);
    store.store([decodeSummary(summary("1016000000000", "2025-05-22T18:19:16Z"), "n", same)]);
    assert.deepEqual(store.getNodeMetrics(["n"])[0], {
      timestampMs: ms("2025-05-22T18:19:16Z"),
      windowMs: 16_000,
      cpuNanocores: 1_000_000_000,
      memoryBytes: 1000,
    });
  });

  it("property: any input either decodes or throws an Error naming the summary", (t) => {
    captureLogs(t);
    const check = (body: string): void => {
      try {
        const s = decodeSummary(body, "n", same);
        assert.equal(s.containerCount, s.containers.length);
      } catch (err) {
        assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
        assert.match(err.message, /^failed parsing summary: /);
      }
    };
    fc.assert(fc.property(fc.string(), check), { numRuns: 300 });
    fc.assert(fc.property(fc.json(), check), { numRuns: 300 });
    // Mutations of the real sample: one character replaced or the body cut short.
    fc.assert(
      fc.property(fc.nat(full.length - 1), fc.string({ maxLength: 3 }), fc.boolean(), (at, text, cut) => {
        check(cut ? full.slice(0, at) : full.slice(0, at) + text + full.slice(at + 1));
      }),
      { numRuns: 500 },
    );
    // Structurally valid documents with values of arbitrary type in every field the decoder reads.
    const anything = fc.oneof(fc.jsonValue(), fc.constant(undefined));
    fc.assert(
      fc.property(anything, anything, anything, anything, anything, (a, b, c, d, e) => {
        check(
          JSON.stringify({
            node: { startTime: a, cpu: { time: b, usageCoreNanoSeconds: c }, memory: d },
            pods: [{ podRef: e, containers: [{ name: a, cpu: b, memory: { workingSetBytes: c } }] }],
          }),
        );
      }),
      { numRuns: 300 },
    );
  });
});
