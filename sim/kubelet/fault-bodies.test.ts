import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateScenario } from "../scenario/index.ts";
import { BODY_FAULT_KINDS, type BodyFaultKind, reportedContainers } from "../types.ts";
import { distortResourceMetrics, distortSummary, FaultMemory } from "./fault-bodies.ts";
import { renderResourceMetrics } from "./resourcemetrics.ts";
import { type SummaryJson, summaryObject } from "./summary.ts";
import { NodeCounterState } from "./usage.ts";

// Whole seconds, the Summary API's precision, so both endpoints' counters are taken at one time.
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const scenario = generateScenario({ nodes: 1, podsPerNode: 4, seed: 11, ipBase: "127.9", nowMs: NOW });
const node = scenario.nodes[0];
const pods = scenario.pods.filter((p) => p.nodeName === node.name);
const running = pods.filter((p) => reportedContainers(p).length > 0);
const first = running.map((p) => `${p.namespace}/${p.name}`).sort()[0];
const state = new NodeCounterState();

interface Sample {
  family: string;
  key: string;
  value: number;
  ts: number | undefined;
}

/** Every sample of a /metrics/resource body, with its owner: "node", "ns/pod" or "ns/pod/container". */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\w+)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const l = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const key = m[1].startsWith("node_")
      ? "node"
      : [l.namespace, l.pod, ...(m[1].startsWith("container_") ? [l.container] : [])].join("/");
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    out.push({ family: m[1], key, value, ts: m[4] === undefined ? undefined : Number(m[4]) });
  }
  return out;
}

const isTarget = (key: string) => key === "node" || key === first || key.startsWith(`${first}/`);
const cpuOrMemory = (s: Sample) => /_(cpu_usage_seconds_total|memory_working_set_bytes)$/.test(s.family);

function resource(kind: BodyFaultKind | undefined, t = NOW, memory = new FaultMemory()): Sample[] {
  const healthy = renderResourceMetrics(node, pods, t, state);
  return samples(distortResourceMetrics(healthy, { kind, node, nowMs: t, memory }));
}

function summary(kind: BodyFaultKind | undefined, t = NOW, memory = new FaultMemory()): SummaryJson {
  const text = distortSummary(summaryObject(node, pods, t, state), { kind, node, nowMs: t, memory });
  return JSON.parse(text) as SummaryJson;
}

/** The Summary API's series: key → its cpu and memory stats. */
function summarySeries(s: SummaryJson): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [["node", s.node]];
  for (const p of s.pods) {
    const pod = `${p.podRef.namespace}/${p.podRef.name}`;
    out.push([pod, p]);
    for (const c of p.containers) out.push([`${pod}/${c.name}`, c]);
  }
  return out;
}

describe("fault bodies", () => {
  const healthy = resource(undefined);
  const healthySummary = summary(undefined);
  const value = (list: Sample[], family: string, key: string) =>
    list.filter((s) => s.family === family && s.key === key).map((s) => s.value);

  test("no fault and no reset: the body is the healthy one, byte for byte", () => {
    const text = renderResourceMetrics(node, pods, NOW, state);
    const ctx = { kind: undefined, node, nowMs: NOW, memory: new FaultMemory() };
    assert.equal(distortResourceMetrics(text, ctx), text);
    assert.equal(
      distortSummary(summaryObject(node, pods, NOW, state), ctx),
      `${JSON.stringify(summaryObject(node, pods, NOW, state), null, 2)}\n`,
    );
    assert.ok(running.length >= 2, "the scenario has a target pod and another one");
  });

  for (const kind of ["nan", "inf", "negative", "absurd-memory"] as const) {
    test(`${kind}: the targets' values change, nothing else does`, () => {
      const faulty = resource(kind);
      assert.equal(faulty.length, healthy.length);
      let changed = 0;
      for (const [i, s] of faulty.entries()) {
        const h = healthy[i];
        assert.equal(s.ts, h.ts);
        if (!isTarget(s.key) || !cpuOrMemory(s)) {
          assert.deepEqual(s, h, `${s.family} ${s.key} unchanged`);
          continue;
        }
        changed++;
        const cpu = s.family.includes("_cpu_");
        if (kind === "nan") assert.ok(Number.isNaN(s.value));
        if (kind === "inf") assert.equal(s.value, cpu ? Infinity : -Infinity);
        if (kind === "negative") assert.ok(s.value < 0);
        if (kind === "absurd-memory")
          assert.ok(cpu ? s.value === h.value : s.value > node.memoryBytes, `${s.family} ${s.key}`);
      }
      // node cpu + memory, and for the first pod its pod and container series.
      assert.ok(changed >= 6, `changed ${changed}`);
    });
  }

  test("absurd-cpu: the targets' counters advance faster than the node's cores, others at their rates", () => {
    const a = resource("absurd-cpu", NOW);
    const b = resource("absurd-cpu", NOW + 10_000);
    const ha = resource(undefined, NOW);
    const hb = resource(undefined, NOW + 10_000);
    for (const [i, s] of b.entries()) {
      if (!s.family.includes("_cpu_")) continue;
      const rate = (s.value - a[i].value) / 10;
      if (isTarget(s.key)) assert.ok(rate > node.cpuCores, `${s.key}: ${rate} cores`);
      else assert.equal(rate, (hb[i].value - ha[i].value) / 10);
    }
  });

  test("duplicate-series: each target series twice, with another value", () => {
    const faulty = resource("duplicate-series");
    for (const s of healthy) {
      const values = value(faulty, s.family, s.key);
      if (isTarget(s.key) && cpuOrMemory(s)) {
        assert.equal(values.length, 2, `${s.family} ${s.key}`);
        assert.notEqual(values[0], values[1]);
      } else assert.equal(values.length, 1);
    }
  });

  test("timestamps: none, an hour ahead, each body earlier than the last", () => {
    const stamped = healthy.filter((s) => s.ts !== undefined);
    assert.ok(stamped.every((s) => s.ts === Math.floor(NOW)));
    assert.ok(resource("no-timestamp").every((s) => s.ts === undefined));
    const future = resource("future-timestamp").filter((s) => s.ts !== undefined);
    assert.equal(future.length, stamped.length);
    assert.ok(future.every((s) => s.ts === Math.floor(NOW) + 3_600_000));
    const memory = new FaultMemory();
    const t1 = resource("backwards-timestamp", NOW, memory)[0].ts!;
    const t2 = resource("backwards-timestamp", NOW + 15_000, memory)[0].ts!;
    assert.ok(t1 < NOW && t2 < t1, `${t1} then ${t2}`);
  });

  test("missing-families: no working-set families, the rest as healthy", () => {
    const text = distortResourceMetrics(renderResourceMetrics(node, pods, NOW, state), {
      kind: "missing-families",
      node,
      nowMs: NOW,
      memory: new FaultMemory(),
    });
    assert.doesNotMatch(text, /(node|container)_memory_working_set_bytes/);
    assert.match(text, /pod_memory_working_set_bytes/);
    assert.deepEqual(
      samples(text),
      healthy.filter((s) => !/^(node|container)_memory/.test(s.family)),
    );
  });

  test("zero-cpu, zero-memory: 0 for the node and the first pod's first container, the rest as healthy", () => {
    const firstContainer = healthy
      .map((s) => s.key)
      .filter((k) => k.startsWith(`${first}/`))
      .sort()[0];
    for (const [kind, family] of [
      ["zero-cpu", "_cpu_usage_seconds_total"],
      ["zero-memory", "_memory_working_set_bytes"],
    ] as const) {
      const zeroed = resource(kind);
      assert.equal(zeroed.length, healthy.length);
      for (const [i, s] of zeroed.entries()) {
        const hit = s.family.endsWith(family) && (s.key === "node" || s.key === firstContainer);
        assert.equal(s.value, hit ? 0 : healthy[i].value, `${kind} ${s.family} ${s.key}`);
      }
      const s = summary(kind);
      const byKey = new Map(summarySeries(s));
      const stat = kind === "zero-cpu" ? "cpu" : "memory";
      const field = kind === "zero-cpu" ? "usageCoreNanoSeconds" : "workingSetBytes";
      for (const key of ["node", firstContainer]) {
        assert.equal((byKey.get(key)![stat] as Record<string, number>)[field], 0, `${kind} ${key}`);
      }
      const other = summarySeries(healthySummary).find(
        ([k]) => k.startsWith(`${first}/`) && k !== firstContainer,
      );
      if (other) assert.deepEqual(byKey.get(other[0]), other[1], `${kind}: ${other[0]} unchanged`);
    }
  });

  test("counter-reset: every counter restarts from 0, then advances at its rate, also once cleared", () => {
    const memory = new FaultMemory();
    memory.resetPending = true;
    const reset = resource("counter-reset", NOW, memory);
    for (const s of reset) if (s.family.includes("_cpu_")) assert.equal(s.value, 0, s.key);
    const later = resource("counter-reset", NOW + 10_000, memory);
    const cleared = resource(undefined, NOW + 20_000, memory);
    const h0 = resource(undefined, NOW);
    const h1 = resource(undefined, NOW + 10_000);
    const h2 = resource(undefined, NOW + 20_000);
    for (const [i, s] of later.entries()) {
      if (!s.family.includes("_cpu_")) continue;
      assert.ok(Math.abs(s.value - (h1[i].value - h0[i].value)) < 1e-6, s.key);
      assert.ok(Math.abs(cleared[i].value - s.value - (h2[i].value - h1[i].value)) < 1e-6, s.key);
    }
    // The Summary API shares the new zero.
    const s = summary(undefined, NOW + 20_000, memory);
    const nodeCpu = (s.node.cpu as { usageCoreNanoSeconds: number }).usageCoreNanoSeconds;
    const expected = value(cleared, "node_cpu_usage_seconds_total", "node")[0] * 1e9;
    assert.ok(Math.abs(nodeCpu - expected) < 1e3, `${nodeCpu} vs ${expected}`);
  });

  test("the Summary API: each kind as JSON can carry it", () => {
    const targets = (s: SummaryJson) => summarySeries(s).filter(([k]) => isTarget(k));
    const others = (s: SummaryJson) => summarySeries(s).filter(([k]) => !isTarget(k));
    const cpu = (x: Record<string, unknown>) => x.cpu as Record<string, number | null>;
    const mem = (x: Record<string, unknown>) => x.memory as Record<string, number | null> | undefined;
    for (const kind of BODY_FAULT_KINDS) {
      const memory = new FaultMemory();
      memory.resetPending = kind === "counter-reset";
      const s = summary(kind, NOW, memory);
      if (
        !["duplicate-series", "missing-families", "counter-reset"].includes(kind) &&
        !kind.includes("timestamp")
      )
        assert.deepEqual(others(s), others(healthySummary), `${kind}: others unchanged`);
      for (const [key, x] of targets(s)) {
        const where = `${kind} ${key}`;
        if (kind === "nan") assert.equal(cpu(x).usageCoreNanoSeconds, null, where);
        if (kind === "nan") assert.equal(mem(x)!.workingSetBytes, null, where);
        if (kind === "inf") assert.equal(cpu(x).usageCoreNanoSeconds, Infinity, where);
        if (kind === "inf") assert.equal(mem(x)!.workingSetBytes, -Infinity, where);
        if (kind === "negative") assert.ok(cpu(x).usageCoreNanoSeconds! < 0, where);
        if (kind === "absurd-memory") assert.ok(mem(x)!.workingSetBytes! > node.memoryBytes, where);
        if (kind === "counter-reset") assert.equal(cpu(x).usageCoreNanoSeconds, 0, where);
      }
      if (kind === "missing-families") assert.ok(summarySeries(s).every(([, x]) => mem(x) === undefined));
      if (kind === "no-timestamp") assert.ok(summarySeries(s).every(([, x]) => cpu(x).time === undefined));
      if (kind === "future-timestamp")
        assert.equal(
          cpu(s.node).time,
          new Date(Math.floor(NOW / 1000) * 1000 + 3_600_000).toISOString().replace(".000Z", "Z"),
        );
      if (kind === "duplicate-series") {
        const keys = s.pods.map((p) => `${p.podRef.namespace}/${p.podRef.name}`);
        assert.equal(keys.filter((k) => k === first).length, 2);
        const pod = s.pods.find((p) => `${p.podRef.namespace}/${p.podRef.name}` === first)!;
        assert.equal(pod.containers[0].name, pod.containers[1].name);
        assert.notDeepEqual(pod.containers[0].memory, pod.containers[1].memory);
      }
    }
  });
});
