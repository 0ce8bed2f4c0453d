// The metrics API's request handling at scale, server-side only (no HTTP, no TLS): nodes × 30 pods ×
// 2 containers over the real TwoPointStore and a cache shaped like the reflector's. Run:
//
//   node bench/micro/metrics-api-lists.ts [--nodes 500] [--pods-per-node P] [--pods-per-app A] [--rounds R]
//                                         [--only <case name part>] [--no-label-index]
//
// The defaults are a quick run; the scale worth recording is --nodes 5000 (150,000 pods).
// For each case it reports the min, median and worst time of R rounds to produce the whole body
// (every chunk consumed) and, for streamed bodies, the longest single synchronous step (what a small
// request queued behind this one waits at most). Steps well above a batch's own work are usually
// garbage-collection pauses that land inside a step (see --trace-gc).
//
// The HPA's call: `default` holds 9 pods in 10, and the selector app=hpa-target matches 20 of them.
// With the label index the cost is one selector evaluation per distinct label map plus the matches;
// --no-label-index scans every pod of the namespace instead, for comparison. --pods-per-app sets how
// many pods share one label map (30: many maps; 1000: few).

import type { ApiResponse } from "../../src/apiserver/index.ts";
import { buildApi, flag, HPA_APP, podIdentity, scaleFromFlags } from "./metrics-api-fixture.ts";
import { note, type Row, report } from "./report.ts";

interface Sample {
  /** Whole body produced and turned into bytes. */
  totalMs: number;
  /** The same span in this thread's CPU time (steadier than wall time on a shared machine). */
  cpuMs: number;
  longestStepMs: number;
  bytes: number;
}

/**
 * The bytes the server's stream write makes of a piece: a string is flattened and UTF-8 encoded
 * there (HTTP/2's writeUtf8String), so that cost belongs to the step that produced the string.
 */
function wireBytes(piece: string | Buffer): number {
  return typeof piece === "string" ? Buffer.from(piece, "utf8").length : piece.length;
}

/**
 * Produces the whole body as the server would send it, timing each synchronous step (the handler
 * call plus writing the head, then each chunk plus its write).
 */
function consume(produce: () => ApiResponse | undefined): Sample {
  const cpuStart = process.threadCpuUsage();
  const start = performance.now();
  const res = produce();
  if (res?.status !== 200) throw new Error(`unexpected response: ${res?.status} ${String(res?.body)}`);
  let bytes = wireBytes(res.body);
  let stepEnd = performance.now();
  let longest = stepEnd - start;
  if (res.chunks) {
    for (const chunk of res.chunks) {
      bytes += wireBytes(chunk);
      const now = performance.now();
      longest = Math.max(longest, now - stepEnd);
      stepEnd = now;
    }
  }
  const cpu = process.threadCpuUsage(cpuStart);
  return {
    totalMs: performance.now() - start,
    cpuMs: (cpu.user + cpu.system) / 1000,
    bytes,
    longestStepMs: longest,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function main(): void {
  const scale = scaleFromFlags(500);
  const rounds = flag("rounds", 7);
  const indexLabels = !process.argv.includes("--no-label-index");
  const built = performance.now();
  const api = buildApi(scale, indexLabels);
  const otherPod = podIdentity(scale, scale.hpaReplicas + 9 * scale.podsPerApp + 5);
  const V = "/apis/metrics.k8s.io/v1beta1";
  const JSON_ACCEPT = "application/json";
  const PROTOBUF_ACCEPT = "application/vnd.kubernetes.protobuf";
  const TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io";
  const cases: { name: string; path: string; query?: string; accept: string; repeat?: number }[] = [
    { name: "pods, all, JSON", path: `${V}/pods`, accept: JSON_ACCEPT },
    { name: "pods, all, protobuf", path: `${V}/pods`, accept: PROTOBUF_ACCEPT },
    { name: "pods, all, Table", path: `${V}/pods`, accept: TABLE_ACCEPT },
    { name: "pods, one namespace, JSON", path: `${V}/namespaces/default/pods`, accept: JSON_ACCEPT },
    { name: "nodes, all, JSON", path: `${V}/nodes`, accept: JSON_ACCEPT },
    { name: "nodes, all, protobuf", path: `${V}/nodes`, accept: PROTOBUF_ACCEPT },
    {
      name: "HPA: namespace + selector, JSON",
      path: `${V}/namespaces/default/pods`,
      query: `labelSelector=app%3D${HPA_APP}`,
      accept: JSON_ACCEPT,
      repeat: 200,
    },
    {
      name: "HPA: namespace + selector, protobuf",
      path: `${V}/namespaces/default/pods`,
      query: `labelSelector=app%3D${HPA_APP}`,
      accept: PROTOBUF_ACCEPT,
      repeat: 200,
    },
    {
      name: "selector, all namespaces, JSON",
      path: `${V}/pods`,
      query: `labelSelector=app%3D${HPA_APP}`,
      accept: JSON_ACCEPT,
      repeat: 200,
    },
    {
      name: "namespace + broad selector, JSON",
      path: `${V}/namespaces/default/pods`,
      query: "labelSelector=pod-template-hash%3D7d9c8b6f5",
      accept: JSON_ACCEPT,
    },
    {
      name: "get one pod, JSON",
      path: `${V}/namespaces/${otherPod.namespace}/pods/${otherPod.name}`,
      accept: JSON_ACCEPT,
      repeat: 200,
    },
    { name: "get one node, JSON", path: `${V}/nodes/node-17`, accept: JSON_ACCEPT, repeat: 200 },
  ];
  const setupMs = performance.now() - built;
  const rows: Row[] = [];
  const only = process.argv.indexOf("--only");
  const filter = only < 0 ? undefined : process.argv[only + 1];
  for (const c of cases) {
    if (filter !== undefined && !c.name.includes(filter)) continue;
    const samples: Sample[] = [];
    const n = rounds * (c.repeat ?? 1);
    for (let r = 0; r < n; r++) {
      samples.push(
        consume(() =>
          api.handle({
            method: "GET",
            path: c.path,
            query: new URLSearchParams(c.query ?? ""),
            accept: c.accept,
          }),
        ),
      );
    }
    const totals = samples.map((s) => s.totalMs).sort((a, b) => a - b);
    const cpu = samples.map((s) => s.cpuMs).sort((a, b) => a - b);
    const steps = samples.map((s) => s.longestStepMs).sort((a, b) => a - b);
    rows.push({
      case: c.name,
      "min ms": totals[0],
      "median ms": percentile(totals, 0.5),
      "max ms": totals[totals.length - 1],
      "CPU ms, min": cpu[0],
      "CPU ms, median": percentile(cpu, 0.5),
      "longest step ms, median": percentile(steps, 0.5),
      "longest step ms, max": steps[steps.length - 1],
      bytes: samples[0].bytes,
    });
  }
  // The machine is shared: min is the least disturbed run, median the typical one.
  report(
    `metrics API, ${scale.nodes} nodes × ${scale.podsPerNode} pods × ${scale.containersPerPod} containers`,
    rows,
  );
  const mem = process.memoryUsage();
  note(
    `${scale.podsPerApp} pods per app, 9 apps in 10 in default, ${scale.hpaReplicas} ${HPA_APP} pods; ` +
      `label index ${indexLabels ? "on" : "off (scan)"}; setup ${setupMs.toFixed(0)} ms; ` +
      `${rounds} rounds (small cases ×200 each); ` +
      `rss ${(mem.rss / 1048576).toFixed(0)} MiB, heap used ${(mem.heapUsed / 1048576).toFixed(0)} MiB`,
  );
}

main();
