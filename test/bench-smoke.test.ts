// The benchmark still works end to end: a small run exits 0 and writes a well-formed JSON result
// with every field present and every number finite. No timing is asserted.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { root } from "./support/paths.ts";
import { run } from "./support/processes.ts";

/** Every leaf of `value` that is a number must be finite (JSON turns NaN/Infinity into null). */
function assertNumbersFinite(value: unknown, path: string): void {
  if (value === null) assert.fail(`${path} is null (a NaN or infinite number before JSON)`);
  if (typeof value === "number") {
    assert.ok(Number.isFinite(value), `${path} is not finite: ${value}`);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) assertNumbersFinite(v, `${path}[${i}]`);
  } else if (typeof value === "object") {
    for (const [k, v] of Object.entries(value as object)) assertNumbersFinite(v, `${path}.${k}`);
  }
}

function field(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    assert.ok(cur !== null && typeof cur === "object" && key in (cur as object), `missing field ${path}`);
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

test("npm run bench: a 200-node run exits 0 and writes complete JSON", { timeout: 300_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = await run(
    process.execPath,
    [
      join(root, "bench", "run.ts"),
      ...["--nodes", "200", "--pods-per-node", "5", "--cycles", "2", "--warmup", "1"],
      ...["--resolution", "5s", "--rate", "50", "--out", out, "--label", "smoke"],
    ],
    { timeoutMs: 280_000 },
  );
  assert.equal(r.code, 0, `bench exited ${r.code}:\n${r.stderr.slice(-4000)}`);
  assert.match(r.stdout, /\| list all pods \|/, "the markdown table is printed");

  const files = readdirSync(out);
  const json = files.filter((f) => /^smoke-.*\.json$/.test(f));
  assert.equal(json.length, 1, `one JSON result expected, found: ${files.join(", ")}`);
  assert.ok(
    files.some((f) => /^smoke-.*\.md$/.test(f)),
    "a markdown result beside the JSON",
  );
  const result = JSON.parse(readFileSync(join(out, json[0]!), "utf8")) as Record<string, unknown>;

  assert.equal(result.schema, "metrics-server-ts/bench/v1");
  assert.equal(field(result, "params.nodes"), 200);
  assert.equal(field(result, "cluster.nodes"), 200);
  // 200 nodes × 5 pods, plus the fixed-size HPA target group (--hpa-replicas, default 20).
  assert.equal(field(result, "cluster.pods"), 1000 + Number(field(result, "params.hpaReplicas")));
  assert.equal(field(result, "cluster.hpaPodsMatched"), field(result, "params.hpaReplicas"));
  assert.equal(field(result, "window.ticks"), 2);
  for (const path of [
    "machine.cpuModel",
    "machine.cores",
    "machine.totalMemoryBytes",
    "machine.nodeVersion",
    "machine.gitCommit",
    "cluster.firstFullTickSeconds",
    "cluster.firstFullMetricsSeconds",
    "window.wallSeconds",
    "loadClient.mCpu",
    "ticks.tickLogMs.p50",
    "ticks.tickLogMs.max",
    "ticks.scrapeLogMs.p50",
    "ticks.scrapeLogMs.p99",
    "ticks.histogram.count",
    "ticks.histogram.p50Seconds",
    "ticks.histogram.p99Seconds",
    "serverInternals.eventLoopDelayMs.p99",
    "serverInternals.memoryBytes.mainHeapTotal",
    "serverInternals.memoryBytes.workerHeapTotal",
    "serverInternals.memoryBytes.workerExternal",
    "server.threadsMCpu.MainThread",
    "server.threadsMCpu.WorkerThread",
  ]) {
    field(result, path);
  }
  for (const proc of ["server", "sim"]) {
    for (const key of [
      "pid",
      "cpuSeconds",
      "cpuSecondsPerCycle",
      "mCpu",
      "mCpuPerNode",
      "rssSteadyKiB",
      "rssSteadyKiBPerNode",
      "rssMaxSampledKiB",
      "vmHwmKiB",
      "vmHwmKiBPerNode",
      "rssSamplesKiB",
      "rssAnonKiB",
      "rssFileKiB",
      "threadsMCpu",
    ]) {
      field(result, `${proc}.${key}`);
    }
    assert.ok((field(result, `${proc}.rssSteadyKiB`) as number) > 0, `${proc} RSS was measured`);
  }
  assert.equal((field(result, "ticks.scrapeNodeCounts") as number[]).length, 2);
  for (const call of ["listPods", "listPodsProtobuf", "listNodes", "hpaNamespaceSelector", "getPod"]) {
    for (const key of [
      "path",
      "ratePerSecond",
      "scheduled",
      "completed",
      "errors",
      "latencyMs.p50",
      "latencyMs.p99",
    ]) {
      field(result, `api.${call}.${key}`);
    }
    assert.ok((field(result, `api.${call}.completed`) as number) >= 1, `${call} made at least one call`);
    assert.ok((field(result, `api.${call}.items`) as number) >= 1, `${call}: items were counted`);
  }
  // The same pods, in protobuf and in JSON.
  assert.equal(field(result, "api.listPodsProtobuf.items"), field(result, "api.listPods.items"));
  assertNumbersFinite(result, "result");
});
