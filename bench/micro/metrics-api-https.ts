// Listing every pod end to end: the real listener (startServer: node:http2 over TLS, allow-all auth)
// serving the metrics API over a store of nodes × 30 pods × 2 containers, and a real HTTP/2 client
// in a child process with Go's flow-control windows (bench/load.ts connect()). Run:
//
//   node bench/micro/metrics-api-https.ts [--nodes 500] [--rounds R] [--only JSON|protobuf] [--pods-per-node P] ...
//
// The scale worth recording is --nodes 5000 (148,583 pods: ~64 MB of JSON, ~35 MB of protobuf).
// For each format it reports the client's time for the whole body (request sent → last byte) and
// the server process's CPU time over the same span (all its threads: the API thread, V8's helpers).
// The server side runs with the launcher's memory settings (bin/metrics-server: MALLOC_* and
// --max-semi-space-size=4), which change what allocation costs; it re-runs itself with them.

import { type ChildProcess, fork, spawnSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { METRICS_API_RESOURCES } from "../../src/api/index.ts";
import { startServer } from "../../src/apiserver/index.ts";
import { testCert } from "../../test/support/certs.ts";
import { ALLOW_ALL, healthy } from "../../test/support/serve.ts";
import { connect, h2Stream } from "../load.ts";
import { buildApi, flag, scaleFromFlags } from "./metrics-api-fixture.ts";
import { note, type Row, report } from "./report.ts";

const PODS = "/apis/metrics.k8s.io/v1beta1/pods";
const ALL_FORMATS = [
  { name: "pods, all, JSON", accept: "application/json" },
  // kubectl top's Accept.
  { name: "pods, all, protobuf", accept: "application/vnd.kubernetes.protobuf,application/json" },
] as const;
const only = process.argv.indexOf("--only");
const FORMATS = ALL_FORMATS.filter((f) => only < 0 || f.name.includes(process.argv[only + 1]));

type ToServer = { kind: "start" } | { kind: "end"; ms: number; bytes: number; status: number };

/** The client: one session, each list in turn; the server is told when each starts and ends. */
async function client(port: number, cert: string, key: string, rounds: number): Promise<void> {
  const send = (m: ToServer): Promise<void> =>
    new Promise((resolve) => {
      process.send?.(m);
      process.once("message", () => resolve());
    });
  const session = connect(`127.0.0.1:${port}`, cert, key);
  for (const format of FORMATS) {
    for (let r = 0; r < rounds + 1; r++) {
      await send({ kind: "start" });
      const started = performance.now();
      const res = await h2Stream(session, PODS, 120_000, false, format.accept);
      await send({ kind: "end", ms: performance.now() - started, bytes: res.bytes, status: res.status });
    }
  }
  session.close();
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** bin/metrics-server's memory settings: its MALLOC_* defaults and V8 flag. */
const LAUNCHER_ENV = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "65536",
  MALLOC_TRIM_THRESHOLD_: "131072",
};
const LAUNCHER_NODE_FLAGS = ["--max-semi-space-size=4"];

async function main(): Promise<void> {
  if (process.env.BENCH_LAUNCHER_SETTINGS === undefined && !process.argv.includes("--client")) {
    const { status } = spawnSync(
      process.execPath,
      [...LAUNCHER_NODE_FLAGS, ...process.execArgv, import.meta.filename, ...process.argv.slice(2)],
      { stdio: "inherit", env: { ...LAUNCHER_ENV, ...process.env, BENCH_LAUNCHER_SETTINGS: "1" } },
    );
    process.exitCode = status ?? 1;
    return;
  }
  const clientAt = process.argv.indexOf("--client");
  if (clientAt >= 0) {
    const { BENCH_CERT = "", BENCH_KEY = "" } = process.env;
    await client(Number(process.argv[clientAt + 1]), BENCH_CERT, BENCH_KEY, flag("rounds", 5));
    return;
  }
  const scale = scaleFromFlags(500);
  const rounds = flag("rounds", 5);
  const api = buildApi(scale, true);
  const serving = await testCert("metrics-server", { ip: ["127.0.0.1"] });
  const server = await startServer({
    bindAddress: "127.0.0.1",
    port: 0,
    cert: Buffer.from(serving.certPem),
    key: Buffer.from(serving.keyPem),
    auth: ALLOW_ALL,
    health: healthy(),
    api,
    registry: new Registry(),
    version: {},
    // As the server does: each list is observed in the generic API server's request families.
    resources: METRICS_API_RESOURCES,
  });
  const port = (server.address() as AddressInfo).port;
  const child: ChildProcess = fork(
    import.meta.filename,
    ["--client", String(port), ...process.argv.slice(2)],
    {
      env: { ...process.env, BENCH_CERT: serving.certPem, BENCH_KEY: serving.keyPem },
    },
  );
  const samples: { ms: number; cpuMs: number; bytes: number }[] = [];
  let cpuAtStart = process.cpuUsage();
  let ended = 0;
  await new Promise<void>((resolve, reject) => {
    child.on("message", (m: ToServer) => {
      if (m.kind === "start") cpuAtStart = process.cpuUsage();
      else {
        if (m.status !== 200) reject(new Error(`status ${m.status}`));
        const cpu = process.cpuUsage(cpuAtStart);
        // The first list of each format warms up (compilation, caches) and is not counted.
        if (ended++ % (rounds + 1) !== 0)
          samples.push({ ms: m.ms, cpuMs: (cpu.user + cpu.system) / 1000, bytes: m.bytes });
      }
      child.send("ok");
    });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`client exit ${code}`))));
  });
  server.close();
  const rows: Row[] = FORMATS.map((format, f) => {
    const mine = samples.slice(f * rounds, (f + 1) * rounds);
    const ms = mine.map((s) => s.ms).sort((a, b) => a - b);
    const cpu = mine.map((s) => s.cpuMs).sort((a, b) => a - b);
    return {
      case: format.name,
      "min ms": ms[0],
      "median ms": percentile(ms, 0.5),
      "max ms": ms[ms.length - 1],
      "server CPU ms, min": cpu[0],
      "server CPU ms, median": percentile(cpu, 0.5),
      bytes: mine[0].bytes,
    };
  });
  report(
    `list all pods over HTTPS (HTTP/2, TLS), ${scale.nodes} nodes × ${scale.podsPerNode} pods × ${scale.containersPerPod} containers`,
    rows,
  );
  const mem = process.memoryUsage();
  note(
    `${rounds} rounds after one warm-up each; server rss ${(mem.rss / 1048576).toFixed(0)} MiB; ` +
      `MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_}, ${process.execArgv.join(" ")}`,
  );
}

await main();
