// The soak's pure parts: its flags, the fault draw, the check against the truth and the report.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Truth } from "../../scripts/cluster.ts";
import { parseSoakArgs, UsageError } from "./args.ts";
import { drawFaults, FaultLog, faultChanges, SOAK_FAULT_SPECS, seededRandom } from "./faults.ts";
import { failures, logMessage, logSeverity, Minutes, renderSummary, type SoakReport } from "./report.ts";
import { type ServedItem, TruthHistory } from "./truth.ts";

test("flags: defaults, values and mistakes", () => {
  const d = parseSoakArgs([], "/out");
  assert.equal(d.minutes, 30);
  assert.equal(d.nodes, 500);
  assert.equal(d.faultFraction, 0.1);
  assert.equal(d.faultPeriodMs, 60_000);
  assert.deepEqual(d.faults, [...SOAK_FAULT_SPECS]);
  assert.equal(d.outDir, "/out");
  const a = parseSoakArgs(
    [
      "--minutes",
      "3",
      "--faults",
      "hang, garbage",
      "--fault-period=30s",
      "--seed",
      "7",
      "--fault-fraction",
      "0",
    ],
    "/out",
  );
  assert.equal(a.minutes, 3);
  assert.deepEqual(a.faults, ["hang", "garbage"]);
  assert.equal(a.faultPeriodMs, 30_000);
  assert.equal(a.seed, 7);
  assert.equal(a.faultFraction, 0);
  for (const bad of [
    ["--minutes", "0"],
    ["--fault-fraction", "1.5"],
    ["--fault-period", "10ms"],
    ["--faults", ","],
    ["--check-period", "soon"],
    ["--bogus"],
  ]) {
    assert.throws(() => parseSoakArgs(bad, "/out"), UsageError, bad.join(" "));
  }
});

test("faults: a seeded draw of distinct nodes, and the calls from one draw to the next", () => {
  const nodes = Array.from({ length: 500 }, (_, i) => `node-${i}`);
  const a = drawFaults(nodes, 0.1, ["hang", "garbage"], seededRandom(1));
  assert.equal(a.size, 50);
  for (const [node, spec] of a) {
    assert.ok(nodes.includes(node));
    assert.ok(spec === "hang" || spec === "garbage");
  }
  assert.deepEqual(drawFaults(nodes, 0.1, ["hang", "garbage"], seededRandom(1)), a);
  assert.equal(drawFaults(nodes, 0, ["hang"], seededRandom(1)).size, 0);
  const from = new Map([
    ["n1", "hang"],
    ["n2", "garbage"],
  ]);
  const to = new Map([
    ["n2", "hang"],
    ["n3", "wrong-ca"],
  ]);
  assert.deepEqual(faultChanges(from, to), [
    { node: "n1", fault: null },
    { node: "n2", fault: "hang" },
    { node: "n3", fault: "wrong-ca" },
  ]);
});

const truth = (nodeCpu: number, pods: Truth["pods"] = []): Truth => ({
  nodes: [{ name: "n1", cpuNanocores: nodeCpu, memoryBytes: 1 << 30 }],
  pods,
});
const pod = (name: string, cpu: number): Truth["pods"][number] => ({
  namespace: "default",
  name,
  node: "n1",
  phase: "Running",
  containers: [{ name: "c", cpuNanocores: cpu, memoryBytes: 64 << 20 }],
});
const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (s: number): string => new Date(T0 + s * 1000).toISOString().replace(/\.\d+Z$/, "Z");
const nodeItem = (s: number, cpu: string, memory = "1Gi", window = "15s"): ServedItem => ({
  metadata: { name: "n1" },
  timestamp: at(s),
  window,
  usage: { cpu, memory },
});
const podItem = (name: string, s: number, cpu: string, window = "15s"): ServedItem => ({
  metadata: { name, namespace: "default" },
  timestamp: at(s),
  window,
  containers: [{ name: "c", usage: { cpu, memory: "64Mi" } }],
});

test("truth: right values pass, wrong and invalid ones are named", () => {
  const h = new TruthHistory();
  h.add(T0, truth(600_000_000, [pod("p", 500_000_000)]));
  h.add(T0 + 60_000, truth(600_000_000, [pod("p", 500_000_000)]));
  const fetched = T0 + 59_000;
  const ok = h.checkNodes([nodeItem(30, "600000000n")], fetched);
  assert.deepEqual(ok.wrong, []);
  assert.equal(ok.values, 2);
  assert.deepEqual(h.checkPods([podItem("p", 30, "500m")], fetched).wrong, []);
  const whats = (items: ServedItem[], pods = false): string[] =>
    (pods ? h.checkPods(items, fetched) : h.checkNodes(items, fetched)).wrong.map((w) => w.what);
  assert.deepEqual(whats([nodeItem(30, "700m")]), ["cpu"]);
  assert.deepEqual(whats([nodeItem(30, "600m", "2Gi")]), ["memory"]);
  assert.deepEqual(whats([nodeItem(30, "-1m")]), ["usage"]);
  assert.deepEqual(whats([nodeItem(30, "600m", "1Gi", "0s")]), ["point"]);
  assert.deepEqual(whats([nodeItem(120, "600m")]), ["point"], "a timestamp in the future");
  assert.deepEqual(whats([{ ...nodeItem(30, "600m"), metadata: { name: "ghost" } }]), ["unknown node"]);
  assert.deepEqual(whats([podItem("p", 30, "250m")], true), ["cpu"]);
  assert.deepEqual(whats([podItem("ghost", 30, "250m")], true), ["unknown pod"]);
  const strange = {
    ...podItem("p", 30, "500m"),
    containers: [{ name: "x", usage: { cpu: "1m", memory: "1" } }],
  };
  assert.deepEqual(whats([strange], true), ["unknown container"]);
  // A pod whose every container failed its rate: served empty, nothing wrong in it.
  const empty = h.checkPods(
    [{ ...podItem("p", 30, "1m"), containers: [], timestamp: null, window: "0s" }],
    fetched,
  );
  assert.deepEqual(empty.wrong, []);
  assert.equal(empty.partialPods, 1);
});

test("truth: a node's rate may lie between its truths while pods come and go, and lower after a deletion", () => {
  const h = new TruthHistory();
  h.add(T0, truth(100_000_000));
  h.add(T0 + 10_000, truth(100_000_000));
  // A 500m pod arrives between 10 s and 20 s.
  h.add(T0 + 20_000, truth(600_000_000, [pod("p", 500_000_000)]));
  h.add(T0 + 40_000, truth(600_000_000, [pod("p", 500_000_000)]));
  // A window over the change: anything from 100m to 600m is right, more is not.
  assert.deepEqual(h.checkNodes([nodeItem(25, "350m")], T0 + 39_000).wrong, []);
  assert.equal(h.checkNodes([nodeItem(25, "650m")], T0 + 39_000).wrong.length, 1);
  // A window well after it: only 600m.
  assert.equal(h.checkNodes([nodeItem(39, "350m", "1Gi", "10s")], T0 + 39_000).wrong.length, 1);
  // The pod is deleted between 40 s and 50 s: its CPU since its last report is lost, so the node's
  // rate over that span may be lower than either truth, but never below the removal's share.
  h.add(T0 + 50_000, truth(100_000_000));
  h.add(T0 + 80_000, truth(100_000_000));
  assert.deepEqual(h.checkNodes([nodeItem(55, "20m")], T0 + 79_000).wrong, []);
  assert.equal(h.checkNodes([nodeItem(79, "20m", "1Gi", "10s")], T0 + 79_000).wrong.length, 1);
});

test("faults: a node's values are approximate only while it has an approximate fault", () => {
  const log = new FaultLog([
    { spec: "no-timestamp", approximate: true },
    { spec: "hang", approximate: false },
  ]);
  log.change("n1", "no-timestamp", 100)(110);
  log.change("n1", "hang", 200)(230);
  log.change("n2", "hang", 100)(110);
  assert.equal(log.approximateAt("n1", 0, 99), false);
  assert.equal(log.approximateAt("n1", 150, 160), true);
  // The old fault acts until its replacement is answered.
  assert.equal(log.approximateAt("n1", 225, 300), true);
  assert.equal(log.approximateAt("n1", 231, 300), false);
  assert.equal(log.approximateAt("n2", 0, 1000), false);
  // With it, a skewed rate passes the check; without it, it does not.
  const h = new TruthHistory();
  h.add(T0, truth(600_000_000, [pod("p", 500_000_000)]));
  h.add(T0 + 60_000, truth(600_000_000, [pod("p", 500_000_000)]));
  const always = (): boolean => true;
  assert.equal(h.checkNodes([nodeItem(30, "660m")], T0 + 59_000).wrong.length, 1);
  assert.deepEqual(h.checkNodes([nodeItem(30, "660m")], T0 + 59_000, always).wrong, []);
  assert.deepEqual(h.checkPods([podItem("p", 30, "550m")], T0 + 59_000, always).wrong, []);
  assert.equal(h.checkPods([podItem("p", 30, "5")], T0 + 59_000, always).wrong.length, 1);
});

test("truth: healthy nodes that exist long enough and are not served are named", () => {
  const h = new TruthHistory();
  const two = (names: string[]): Truth => ({
    nodes: names.map((name) => ({ name, cpuNanocores: 1, memoryBytes: 1 })),
    pods: [],
  });
  h.add(T0, two(["a", "b", "c"]));
  h.add(T0 + 60_000, two(["a", "b", "c", "new"]));
  const served = [{ ...nodeItem(50, "1n"), metadata: { name: "a" } }];
  const faultyB = (node: string): boolean => node === "b";
  assert.deepEqual(h.missingHealthyNodes(served, T0 + 10_000, faultyB), ["c"]);
  assert.deepEqual(
    h.missingHealthyNodes(served, T0 + 60_000, () => false),
    ["b", "c", "new"],
  );
});

test("report: klog lines by severity, minutes, the verdict and the summary", () => {
  const info = 'I1208 00:10:17.123456       1 manager.go:1] "Tick finished" duration="1s"';
  const error = 'E1208 00:10:17.123456       1 scraper.go:1] "Failed to scrape node" err="x" node="n1"';
  assert.equal(logSeverity(info), "I");
  assert.equal(logSeverity(error), "E");
  assert.equal(logSeverity("    at foo (bar.ts:1)"), "other");
  assert.equal(logMessage(error), "Failed to scrape node");
  const m = new Minutes(T0);
  m.log(T0 + 1000, info);
  m.log(T0 + 61_000, error);
  m.rss(T0 + 61_000, 2048);
  m.rss(T0 + 62_000, 1024);
  assert.equal(m.rows.length, 2);
  assert.deepEqual(m.rows[1]!.logLines, { I: 0, W: 0, E: 1, F: 0, other: 0 });
  assert.deepEqual(m.rows[1]!.rssKiB, { min: 1024, max: 2048, last: 1024 });
  const spread = { min: 1, p50: 1, max: 1 };
  const {
    help: _help,
    verbose: _verbose,
    outDir: _outDir,
    ...params
  } = parseSoakArgs(["--seed", "1"], "/out");
  const report: SoakReport = {
    schema: "metrics-server-ts/soak/v1",
    startedAt: "2026-12-08T00:00:00.000Z",
    params,
    machine: { cpuModel: "cpu", cores: 2, nodeVersion: "v24", gitCommit: "abc" },
    cluster: { nodes: 1, pods: 1, faultCandidates: 1 },
    restarts: [],
    checks: {
      rounds: 1,
      failedReads: 0,
      failedReadSamples: [],
      nodesServed: spread,
      podsServed: spread,
      checkedValues: 4,
      wrongValues: 0,
      wrongSamples: [],
      partialPods: 0,
      missingHealthyNodes: { min: 0, p50: 0, max: 0 },
      missingHealthySamples: [],
    },
    faults: { draws: 1, bySpec: { hang: 1 } },
    churn: { podsCreated: 0, podsDeleted: 0, nodesCreated: 0, nodesDeleted: 0, errors: 0, errorSamples: [] },
    topMessages: [],
    minutes: m.rows,
    load: {},
  };
  assert.deepEqual(failures(report), []);
  assert.match(renderSummary(report), /Verdict: PASS/);
  const bad = {
    ...report,
    restarts: [{ atMinute: 0, code: 1, signal: null, tail: "boom" }],
    checks: {
      ...report.checks,
      wrongValues: 1,
      wrongSamples: [{ kind: "node" as const, name: "n1", what: "cpu", detail: "-" }],
    },
  };
  assert.equal(failures(bad).length, 2);
  assert.match(renderSummary(bad), /Verdict: FAIL.*restarted 1 time.*1 wrong value/);
  assert.match(
    renderSummary({ ...report, checks: { ...report.checks, rounds: 0 } }),
    /Verdict: FAIL: no check round/,
  );
});
