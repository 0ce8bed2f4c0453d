// Measures the parts of a scrape tick the scraper worker pays for, at N nodes × P pods × C containers
// (default 5,000 × 30 × 2). Not a test: numbers depend on the machine. Run with --expose-gc.
//
//   node --expose-gc bench/micro/scraper-tick.ts <section> [nodes] [pods] [containers]
//   sections: decode | scrape | handoff | tls | conns | all
//
// decode:  gunzip (streaming Transform vs one gunzipSync) and decodeResourceMetrics of N gzip -1 bodies:
//          per tick the GC pauses seen from this thread, the decode loop alone, the process's CPU time
//          (with V8's GC helper threads) and the bytes allocated on the heap.
// scrape:  Scraper.scrape CPU time against an in-memory client (abort listeners, semaphore, jitter).
// handoff: a worker packs N decoded nodes into result messages; main-thread time to receive + rebuild.
// tls:     WorkerScraper over real TLS against N kubelets in a child process: tick time, connections
//          accepted per tick, main-thread longest gap, process RSS.
// conns:   RSS/heap of this process before, with N idle keep-alive TLS connections, and after closing.
import { fork } from "node:child_process";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { PerformanceObserver } from "node:perf_hooks";
import { pipeline, Readable } from "node:stream";
import { setImmediate as yieldTurn } from "node:timers/promises";
import { GCProfiler, type GCProfilerResult, getHeapStatistics } from "node:v8";
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
  workerData,
} from "node:worker_threads";
import { createGunzip, gunzipSync, gzipSync } from "node:zlib";
import type { Node } from "../../src/kube/index.ts";
import * as log from "../../src/log/index.ts";
import {
  decodeResourceMetrics,
  Interner,
  KubeletClient,
  packBatch,
  Scraper,
  unpackMessage,
  WorkerScraper,
} from "../../src/scraper/index.ts";
import type { NodeScrape } from "../../src/storage/index.ts";
import { selfSignedCert } from "../../test/support/fake-kubelet.ts";
import { renderResourceBody } from "../../test/support/resource-body.ts";
import { note, type Row, report } from "./report.ts";

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mib = (bytes: number): number => Math.round(bytes / 1048576);

/** Total GC pause time observed while fn runs. */
async function withGc<T>(fn: () => Promise<T> | T): Promise<{ value: T; gcMs: number }> {
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ["gc"] });
  const value = await fn();
  // gc entries are delivered asynchronously.
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return { value, gcMs };
}

function bodies(nodes: number, pods: number, containers: number, tick = 0): Buffer[] {
  return Array.from({ length: nodes }, (_, node) =>
    gzipSync(renderResourceBody({ node, pods, containersPerPod: containers, tick }), { level: 1 }),
  );
}

async function streamGunzip(gz: Buffer): Promise<Buffer> {
  const gunzip = createGunzip();
  pipeline(Readable.from([gz]), gunzip, () => {});
  const chunks: Buffer[] = [];
  for await (const c of gunzip as AsyncIterable<Buffer>) chunks.push(c);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

async function measureDecode(n: number, p: number, c: number): Promise<void> {
  const gz = bodies(n, p, c);
  const gunzipRows: Row[] = [];
  for (const [label, inflate] of [
    ["streaming gunzip", streamGunzip],
    ["gunzipSync", async (b: Buffer) => gunzipSync(b, { maxOutputLength: 64 << 20 })],
  ] as const) {
    gc();
    const t0 = performance.now();
    const { gcMs } = await withGc(async () => {
      for (const b of gz) await inflate(b);
    });
    gunzipRows.push({
      how: label,
      "ms (with gc)": Math.round(performance.now() - t0),
      "gc ms": Math.round(gcMs),
    });
  }
  report(`gunzip of ${n} bodies`, gunzipRows);
  note(`${Math.round(gz.reduce((s, b) => s + b.length, 0) / n)} bytes gzipped each`);
  const decodeRows: Row[] = [];
  const plain = gz.map((b) => gunzipSync(b));
  const interner = new Interner();
  for (let tick = 0; tick < 3; tick++) {
    gc();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let loopMs = 0;
    let allocated = 0;
    let scavenges = 0;
    let fullGcs = 0;
    const { gcMs } = await withGc(() => {
      const profiler = new GCProfiler();
      profiler.start();
      const used0 = getHeapStatistics().used_heap_size;
      const loop0 = performance.now();
      for (let i = 0; i < n; i++) decodeResourceMetrics(plain[i], `node-${i}`, 0, interner.intern);
      loopMs = performance.now() - loop0;
      const used1 = getHeapStatistics().used_heap_size;
      ({ allocated, scavenges, fullGcs } = allocatedBetween(used0, used1, profiler.stop()));
    });
    // Process-wide: includes the GC work V8 does on its helper threads, which gcMs does not show.
    const cpu = process.cpuUsage(cpu0);
    interner.rotate();
    decodeRows.push({
      tick: tick + 1,
      "ms (with gc)": Math.round(performance.now() - t0),
      "gc ms": Math.round(gcMs),
      "loop ms": Math.round(loopMs),
      "process cpu ms": Math.round((cpu.user + cpu.system) / 1000),
      "allocated MiB": mib(allocated),
      scavenges,
      "mark-compacts": fullGcs,
    });
  }
  report(`decodeResourceMetrics of ${n} bodies (${p} pods × ${c} containers)`, decodeRows);
  note("ms (with gc) includes a 50 ms wait for GC entries; loop ms is the decode loop alone");
}

/**
 * Bytes allocated on the V8 heap between two readings of its used size, from what each collection
 * found before it ran and left behind. An estimate: objects promoted or freed by concurrent sweeping
 * between collections blur it by a little, but it tells 200 MiB from 20 MiB.
 */
function allocatedBetween(
  usedStart: number,
  usedEnd: number,
  result: GCProfilerResult,
): { allocated: number; scavenges: number; fullGcs: number } {
  let allocated = 0;
  let last = usedStart;
  let scavenges = 0;
  let fullGcs = 0;
  for (const s of result.statistics) {
    allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - last);
    last = s.afterGC.heapStatistics.usedHeapSize;
    if (s.gcType === "Scavenge" || s.gcType === "MinorMarkSweep") scavenges++;
    else fullGcs++;
  }
  allocated += Math.max(0, usedEnd - last);
  return { allocated, scavenges, fullGcs };
}

function fakeNodes(n: number, address: (i: number) => string, port: (i: number) => number): Node[] {
  return Array.from({ length: n }, (_, i) => ({
    metadata: { name: `node-${i}` },
    status: {
      addresses: [{ type: "InternalIP", address: address(i) }],
      daemonEndpoints: { kubeletEndpoint: { Port: port(i) } },
      conditions: [{ type: "Ready", status: "True" }],
    },
  }));
}

const common = {
  addressTypes: ["InternalIP"],
  port: 10250,
  useNodeStatusPort: true,
  scheme: "https" as const,
  requestTimeoutMs: 60_000,
};

async function measureScrape(n: number): Promise<void> {
  // A tiny body, so what is left is the Scraper's own per-node work (jitter, queue, deadline, timers).
  const tiny = Buffer.from("node_cpu_usage_seconds_total 1 1\nnode_memory_working_set_bytes 1 1\n");
  const client = {
    async get(): Promise<Uint8Array> {
      await yieldTurn();
      return tiny;
    },
  } as unknown as KubeletClient;
  const scraper = new Scraper({ ...common, client, maxConcurrency: 256 });
  const nodes = fakeNodes(
    n,
    (i) => `10.0.${i >> 8}.${i & 255}`,
    () => 10250,
  );
  const rows: Row[] = [];
  for (let tick = 0; tick < 3; tick++) {
    gc();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const batch = await scraper.scrape(nodes, AbortSignal.timeout(60_000));
    const cpu = process.cpuUsage(cpu0);
    rows.push({
      tick: tick + 1,
      "wall ms": Math.round(performance.now() - t0),
      "cpu ms": Math.round((cpu.user + cpu.system) / 1000),
      nodes: batch.length,
    });
  }
  report(`Scraper.scrape with an in-memory client, ${n} nodes`, rows);
}

async function measureHandoff(n: number, p: number, c: number): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { role: "handoff", port: port2, n, p, c },
    transferList: [port2],
  });
  // As WorkerScraper: names arrive whole, interned across ticks (round 1 is the cold one).
  const interner = new Interner(false);
  const totals: number[] = [];
  const rows: Row[] = [];
  for (let round = 0; round < 8; round++) {
    const ready = await new Promise<{ messages: number; packMs: number }>((resolve) =>
      worker.once("message", resolve),
    );
    let total = 0;
    let longest = 0;
    let nodes = 0;
    for (;;) {
      const t0 = performance.now();
      const got = receiveMessageOnPort(port1);
      if (got === undefined) break;
      const scrapes = unpackMessage(got.message, interner.intern);
      const took = performance.now() - t0;
      nodes += scrapes.length;
      total += took;
      longest = Math.max(longest, took);
    }
    totals.push(total);
    rows.push({
      round: round + 1,
      messages: ready.messages,
      nodes,
      "worker pack ms": Math.round(ready.packMs),
      "main receive+rebuild ms": total,
      "longest message ms": longest,
    });
    interner.rotate();
    worker.postMessage("again");
  }
  const warm = totals.slice(1).sort((a, b) => a - b);
  report(`handoff of ${n} decoded nodes from a worker (round 1 is cold)`, rows);
  note(`warm rounds: main receive+rebuild min ${warm[0].toFixed(1)} ms, median ${warm[3].toFixed(1)} ms`);
  await worker.terminate();
  port1.close();
}

async function handoffWorker(): Promise<void> {
  const { port, n, p, c } = workerData as { port: MessagePort; n: number; p: number; c: number };
  const { parentPort } = await import("node:worker_threads");
  const plain = bodies(n, p, c).map((b) => gunzipSync(b));
  const interner = new Interner();
  for (;;) {
    const batch: NodeScrape[] = plain.map((b, i) =>
      decodeResourceMetrics(b, `node-${i}`, 0, interner.intern),
    );
    const t0 = performance.now();
    const messages = packBatch(batch, 4096);
    for (const m of messages) port.postMessage(m.message, m.transfer);
    parentPort!.postMessage({ messages: messages.length, packMs: performance.now() - t0 });
    await new Promise((resolve) => parentPort!.once("message", resolve));
  }
}

/** N kubelets in this (child) process: one HTTPS server fed by N listeners on 127.R.0.1. */
async function serveKubelets(n: number, p: number, c: number, host: string): Promise<void> {
  const cert = await selfSignedCert([host]);
  const gz = bodies(n, p, c);
  const nodeOfPort = new Map<number, number>();
  let accepted = 0;
  const https = createHttpsServer(
    { cert: cert.certPem, key: cert.keyPem, keepAliveTimeout: 120_000 },
    (req, res) => {
      const node = nodeOfPort.get(req.socket.localPort ?? 0) ?? 0;
      res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain; version=0.0.4" });
      res.end(gz[node]);
    },
  );
  https.on("secureConnection", () => accepted++);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const listener = createNetServer((socket) => https.emit("connection", socket));
    await new Promise<void>((resolve) => listener.listen(0, host, resolve));
    const port = (listener.address() as AddressInfo).port;
    nodeOfPort.set(port, i);
    ports.push(port);
  }
  process.send!({ ports, ca: cert.certPem });
  process.on("message", (msg) => {
    if (msg === "count") process.send!({ accepted });
  });
}

async function measureTls(n: number, p: number, c: number): Promise<void> {
  const host = `127.${1 + Math.floor(Math.random() * 254)}.0.1`;
  const child = fork(new URL(import.meta.url), ["serve", String(n), String(p), String(c), host], {
    execArgv: [],
  });
  const ask = <T>(msg?: string): Promise<T> =>
    new Promise((resolve) => {
      child.once("message", (m) => resolve(m as T));
      if (msg) child.send(msg);
    });
  const { ports, ca } = await ask<{ ports: number[]; ca: string }>();
  try {
    const nodes = fakeNodes(
      n,
      () => host,
      (i) => ports[i],
    );
    const scraper = new WorkerScraper({ ...common, ca: Buffer.from(ca) });
    let before = 0;
    const rows: Row[] = [];
    for (let tick = 0; tick < 3; tick++) {
      let last = performance.now();
      let longestGap = 0;
      const probe = setInterval(() => {
        const now = performance.now();
        longestGap = Math.max(longestGap, now - last);
        last = now;
      }, 1);
      const t0 = performance.now();
      const batch = await scraper.scrape(nodes, AbortSignal.timeout(60_000));
      const took = performance.now() - t0;
      clearInterval(probe);
      const { accepted } = await ask<{ accepted: number }>("count");
      rows.push({
        tick: tick + 1,
        "tick ms": Math.round(took),
        nodes: batch.length,
        "new TLS connections": accepted - before,
        "main longest gap ms": longestGap,
        "rss MiB": mib(process.memoryUsage().rss),
      });
      before = accepted;
      await new Promise((r) => setTimeout(r, 1000));
    }
    report(`WorkerScraper over TLS against ${n} kubelets`, rows);
    await scraper.close();
  } finally {
    child.kill();
  }
}

/** Kubelets in a child process (see serveKubelets); returns their ports, CA and a stop function. */
async function startChildKubelets(n: number, p: number, c: number, host: string) {
  const child = fork(new URL(import.meta.url), ["serve", String(n), String(p), String(c), host], {
    execArgv: [],
  });
  const { ports, ca } = await new Promise<{ ports: number[]; ca: string }>((resolve) =>
    child.once("message", (m) => resolve(m as { ports: number[]; ca: string })),
  );
  return { ports, ca, stop: () => child.kill() };
}

/** Memory of N idle keep-alive TLS connections held by one KubeletClient on this thread. */
async function measureConnections(n: number, p: number, c: number): Promise<void> {
  const host = `127.${1 + Math.floor(Math.random() * 254)}.0.1`;
  const { ports, ca, stop } = await startChildKubelets(n, p, c, host);
  try {
    gc();
    const m0 = process.memoryUsage();
    const client = new KubeletClient({ ca: Buffer.from(ca) });
    const urls = ports.map((port) => `https://${host}:${port}/metrics/resource`);
    for (let i = 0; i < n; i += 256) {
      await Promise.all(
        urls.slice(i, i + 256).map((u, k) => client.get(u, AbortSignal.timeout(60_000), `node-${i + k}`)),
      );
    }
    gc();
    await yieldTurn();
    gc();
    const m1 = process.memoryUsage();
    await client.close();
    gc();
    await yieldTurn();
    gc();
    const m2 = process.memoryUsage();
    report(`${n} idle keep-alive TLS connections on one KubeletClient`, [
      { memory: "rss MiB", before: mib(m0.rss), open: mib(m1.rss), closed: mib(m2.rss) },
      { memory: "heap MiB", before: mib(m0.heapUsed), open: mib(m1.heapUsed), closed: mib(m2.heapUsed) },
      {
        memory: "external+arrayBuffers MiB",
        before: mib(m0.external + m0.arrayBuffers),
        open: mib(m1.external + m1.arrayBuffers),
        closed: mib(m2.external + m2.arrayBuffers),
      },
    ]);
  } finally {
    stop();
  }
}

async function main(): Promise<void> {
  const [section = "all", n = 5000, p = 30, c = 2] = process.argv
    .slice(2)
    .map((a, i) => (i === 0 ? a : Number(a))) as [string, number, number, number];
  if (section === "serve") return serveKubelets(n, p, c, process.argv[6]);
  log.setSink(() => {});
  if (section === "decode" || section === "all") await measureDecode(n, p, c);
  if (section === "scrape" || section === "all") await measureScrape(n);
  if (section === "handoff" || section === "all") await measureHandoff(n, p, c);
  if (section === "tls" || section === "all") await measureTls(n, p, c);
  if (section === "conns" || section === "all") await measureConnections(n, p, c);
}

if ((workerData as { role?: string } | null)?.role === "handoff") await handoffWorker();
else await main();
