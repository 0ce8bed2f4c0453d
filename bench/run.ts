// `npm run bench`: the scale benchmark. See USAGE in args.ts and BENCHMARKS.md for the method.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { readAdminCredentials, registerMetricsApi } from "../scripts/cluster.ts";
import { reserveIpBase } from "../test/support/loopback.ts";
import { poll } from "../test/support/poll.ts";
import type { NodeProcess } from "../test/support/processes.ts";
import { type BenchArgs, parseBenchArgs, USAGE, UsageError } from "./args.ts";
import { findHpaTarget, simHpaArgs } from "./hpa.ts";
import { connect, h2Get, type TargetResult } from "./load.ts";
import { LoadWorkers, type ThreadCpu, threadCpu } from "./load-threads.ts";
import { root, startMetricsServer, startSimulator } from "./processes.ts";
import { readCpuSeconds, readMemory, readThreadCpuSeconds } from "./procfs.ts";
import {
  type ApiResult,
  type BenchResult,
  type ProcessCost,
  renderMarkdown,
  type ServerInternals,
} from "./report.ts";
import {
  histogramDelta,
  histogramQuantile,
  median,
  parseGauge,
  parseGoDurationMs,
  parseHistogram,
  summarize,
} from "./stats.ts";
import { loadTargets } from "./targets.ts";

const TICK_HISTOGRAM = "metrics_server_manager_tick_duration_seconds";

interface ScrapeLine {
  durationMs: number;
  nodeCount: number;
  podCount: number;
}

/** A scrape line and when the bench read it (performance.now()). */
interface SeenScrape extends ScrapeLine {
  atMs: number;
}

/**
 * The whole tick (scrape, hand-off and store) from the server's -v=1 `"Tick finished"
 * duration="1234ms" …` line, or undefined for another line.
 */
export function parseTickFinished(line: string): number | undefined {
  if (!line.includes('"Tick finished"')) return undefined;
  const duration = /\bduration="([^"]*)"/.exec(line)?.[1];
  const ms = duration === undefined ? Number.NaN : parseGoDurationMs(duration);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The server's -v=1 `"Scrape finished" duration="…" nodeCount=N podCount=M` line, parsed. */
export function parseScrapeFinished(line: string): ScrapeLine | undefined {
  if (!line.includes('"Scrape finished"')) return undefined;
  const duration = /\bduration="([^"]*)"/.exec(line)?.[1];
  const nodeCount = /\bnodeCount=(\d+)/.exec(line)?.[1];
  const podCount = /\bpodCount=(\d+)/.exec(line)?.[1];
  if (duration === undefined || nodeCount === undefined || podCount === undefined) return undefined;
  const durationMs = parseGoDurationMs(duration);
  if (!Number.isFinite(durationMs)) return undefined;
  return { durationMs, nodeCount: Number(nodeCount), podCount: Number(podCount) };
}

export function machineInfo(): BenchResult["machine"] {
  const git = (args: string[]): string => {
    try {
      return execFileSync("git", args, {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      return "";
    }
  };
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    totalMemoryBytes: os.totalmem(),
    nodeVersion: process.version,
    kernel: `${os.type()} ${os.release()}`,
    gitCommit: git(["rev-parse", "HEAD"]) || "unknown",
    gitDirty: git(["status", "--porcelain", "--untracked-files=no"]) !== "",
  };
}

/** Samples VmRSS every second; CPU is read at the window's edges. */
class ProcessMeter {
  readonly #pid: number;
  readonly #samples: number[] = [];
  #cpuStart = 0;
  #threadsStart: Record<string, number> = {};
  #timer: NodeJS.Timeout | undefined;

  constructor(pid: number) {
    this.#pid = pid;
  }

  start(): void {
    this.#cpuStart = readCpuSeconds(this.#pid);
    this.#threadsStart = readThreadCpuSeconds(this.#pid);
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 1000);
  }

  #sample(): void {
    try {
      this.#samples.push(readMemory(this.#pid).rss);
    } catch {
      // The process is gone; the caller notices through its exit.
    }
  }

  finish(wallSeconds: number, cycles: number, nodes: number): ProcessCost {
    clearInterval(this.#timer);
    this.#sample();
    const cpuSeconds = readCpuSeconds(this.#pid) - this.#cpuStart;
    const threadsMCpu: Record<string, number> = {};
    for (const [name, seconds] of Object.entries(readThreadCpuSeconds(this.#pid))) {
      const mCpu = ((seconds - (this.#threadsStart[name] ?? 0)) / wallSeconds) * 1000;
      if (mCpu >= 0.05) threadsMCpu[name] = mCpu;
    }
    const mem = readMemory(this.#pid);
    const rssSteadyKiB = median(this.#samples);
    const mCpu = (cpuSeconds / wallSeconds) * 1000;
    return {
      pid: this.#pid,
      cpuSeconds,
      cpuSecondsPerCycle: cpuSeconds / cycles,
      mCpu,
      mCpuPerNode: mCpu / nodes,
      rssSteadyKiB,
      rssSteadyKiBPerNode: rssSteadyKiB / nodes,
      rssMaxSampledKiB: Math.max(...this.#samples),
      vmHwmKiB: mem.hwm,
      vmHwmKiBPerNode: mem.hwm / nodes,
      rssSamplesKiB: [...this.#samples],
      rssAnonKiB: mem.anon,
      rssFileKiB: mem.file,
      threadsMCpu,
    };
  }
}

function toApiResult(t: TargetResult): ApiResult {
  return {
    path: t.path,
    ratePerSecond: t.ratePerSecond,
    scheduled: t.scheduled,
    completed: t.completed,
    errors: t.errors,
    unfinished: t.unfinished,
    statuses: t.statuses,
    latencyMs: summarize(t.latenciesMs),
    meanResponseBytes: t.meanResponseBytes,
    errorSamples: t.errorSamples,
    items: t.items,
    latenciesMs: t.latenciesMs,
  };
}

const WORKER_HEAP = "nodejs_scraper_worker_heap_size_bytes";

/**
 * What the server says of itself in /metrics after the window: prom-client's event-loop delay of
 * the API thread (its histogram is reset at every /metrics scrape, so these cover the window) and
 * the V8 heaps of both threads at the end.
 */
export function serverInternals(metrics: string): ServerInternals {
  const ms = (name: string): number => parseGauge(metrics, name) * 1000;
  return {
    eventLoopDelayMs: {
      p50: ms("nodejs_eventloop_lag_p50_seconds"),
      p99: ms("nodejs_eventloop_lag_p99_seconds"),
      max: ms("nodejs_eventloop_lag_max_seconds"),
    },
    memoryBytes: {
      mainHeapUsed: parseGauge(metrics, "nodejs_heap_size_used_bytes"),
      mainHeapTotal: parseGauge(metrics, "nodejs_heap_size_total_bytes"),
      mainExternal: parseGauge(metrics, "nodejs_external_memory_bytes"),
      workerHeapUsed: parseGauge(metrics, WORKER_HEAP, 'kind="used"'),
      workerHeapTotal: parseGauge(metrics, WORKER_HEAP, 'kind="total"'),
      workerExternal: parseGauge(metrics, WORKER_HEAP, 'kind="external"'),
    },
  };
}

export async function runBench(
  args: BenchArgs,
): Promise<{ result: BenchResult; jsonPath: string; mdPath: string }> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const reservation = reserveIpBase();
  const dir = mkdtempSync(join(os.tmpdir(), "ms-bench-"));
  const procs: NodeProcess[] = [];
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`bench: ${sig}: stopping\n`);
    void Promise.all(procs.map((p) => p.stop(1000))).finally(() => {
      reservation.release();
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const status = (msg: string): void => {
    process.stderr.write(`bench: ${msg}\n`);
  };
  try {
    const ipBase = reservation.ipBase;
    const serverIP = `${ipBase}.0.2`;
    const port = 20000 + Math.floor(Math.random() * 40000);
    const authority = `${serverIP}:${port}`;
    const scaleTimeoutMs = 120_000 + args.nodes * args.podsPerNode * 2;

    status(
      `starting the simulator: ${args.nodes} nodes × ${args.podsPerNode} pods × ${args.containersPerPod} containers on ${ipBase}.0.0/16`,
    );
    let t0 = performance.now();
    const { sim, pods } = await startSimulator({
      dir,
      ipBase,
      nodes: args.nodes,
      podsPerNode: args.podsPerNode,
      containersPerPod: args.containersPerPod,
      extraArgs: simHpaArgs(args.hpaReplicas),
      nodeArgs: args.simNodeArgs,
      echo: args.verbose,
      timeoutMs: scaleTimeoutMs,
    });
    procs.push(sim);
    const simStartupSeconds = (performance.now() - t0) / 1000;
    const kubeconfig = join(dir, "kubeconfig");
    await registerMetricsApi(kubeconfig, serverIP, port);
    const hpa = await findHpaTarget(kubeconfig, args.hpaReplicas);
    if (args.hpaReplicas > 0 && hpa.matchedPods !== args.hpaReplicas) {
      status(
        `warning: --hpa-replicas ${args.hpaReplicas}, but ${hpa.selector} matches ${hpa.matchedPods} pods`,
      );
    }
    const admin = readAdminCredentials(kubeconfig);

    status(`starting the metrics-server on ${authority} (resolution ${args.resolution})`);
    t0 = performance.now();
    const server = startMetricsServer({
      dir,
      serverIP,
      port,
      resolution: args.resolution,
      coldCompileCache: args.coldCompileCache,
      nodeArgs: args.serverNodeArgs,
      echo: args.verbose,
    });
    procs.push(server);
    // Every "Scrape finished" line, in order, from the moment the server starts.
    const scrapes: SeenScrape[] = [];
    // The "Tick finished" duration of scrape i (the line follows its "Scrape finished" line).
    const tickDurationsMs: number[] = [];
    const scrapeWaiters: (() => void)[] = [];
    server.onLine((line) => {
      const tickMs = parseTickFinished(line);
      if (tickMs !== undefined && scrapes.length > 0) tickDurationsMs[scrapes.length - 1] = tickMs;
      const s = parseScrapeFinished(line);
      if (!s) return;
      scrapes.push({ ...s, atMs: performance.now() });
      for (const w of scrapeWaiters.splice(0)) w();
    });
    const waitForScrapes = (count: number, what: string, timeoutMs: number): Promise<void> =>
      new Promise((resolveWait, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out waiting for ${what} (${scrapes.length} scrapes so far); server output:\n${server.tail()}`,
              ),
            ),
          timeoutMs,
        );
        const check = (): void => {
          if (server.exited || sim.exited) {
            clearTimeout(timer);
            const who = server.exited ? server : sim;
            reject(new Error(`${who.name} exited while waiting for ${what}; last output:\n${who.tail()}`));
          } else if (scrapes.length >= count) {
            clearTimeout(timer);
            resolveWait();
          } else scrapeWaiters.push(check);
        };
        check();
      });

    await server.waitFor(
      '"Serving securely on"',
      (l) => (l.includes("Serving securely on") ? true : undefined),
      scaleTimeoutMs,
    );
    const serverStartupSeconds = (performance.now() - t0) / 1000;
    const session = connect(authority, admin.cert, admin.key);
    // /metrics before and after the window, each on a connection of its own: the server closes a
    // connection left idle (as kube-apiserver does), and the window is longer than that timeout, so
    // a kept session would be gone by the end (a transport error, status 0).
    const getOnce = async (path: string): Promise<Awaited<ReturnType<typeof h2Get>>> => {
      const own = connect(authority, admin.cert, admin.key);
      try {
        return await h2Get(own, path, 30_000);
      } finally {
        own.destroy();
      }
    };
    try {
      await poll(
        "/readyz 200",
        async () => ((await h2Get(session, "/readyz", 10_000)).status === 200 ? true : undefined),
        scaleTimeoutMs,
        500,
      );
      // The first tick that reached every node: from here on the store is warm.
      const tickTimeoutMs = 3 * args.resolutionMs + 120_000;
      let firstFull = -1;
      await poll(
        "the first full scrape",
        async () => {
          firstFull = scrapes.findIndex((s) => s.nodeCount >= args.nodes);
          if (server.exited) throw new Error(`metrics-server exited; last output:\n${server.tail()}`);
          return firstFull >= 0 ? true : undefined;
        },
        scaleTimeoutMs,
        500,
      );
      // When its log line arrived: /readyz (waited for above) comes only after a second point.
      const firstFullTickSeconds = (scrapes[firstFull]!.atMs - t0) / 1000;
      status(`first full scrape after ${firstFullTickSeconds.toFixed(1)} s`);
      // Usage is a rate, so a node is served from its second point on: the first moment the API
      // answers for every node is what a user (kubectl top, the HPA) waits for after a start.
      await poll(
        "metrics for every node from the API",
        async () => {
          const r = await h2Get(session, "/apis/metrics.k8s.io/v1beta1/nodes", 30_000);
          if (r.status !== 200) return undefined;
          const items = (JSON.parse(r.body.toString("utf8")) as { items?: unknown[] }).items;
          return (items?.length ?? 0) >= args.nodes ? true : undefined;
        },
        tickTimeoutMs,
        1000,
      );
      const firstFullMetricsSeconds = (performance.now() - t0) / 1000;
      status(
        `metrics for every node after ${firstFullMetricsSeconds.toFixed(1)} s; ${args.warmup} warm-up tick(s)`,
      );
      await waitForScrapes(
        firstFull + 1 + args.warmup,
        "the warm-up ticks",
        (args.warmup + 1) * tickTimeoutMs,
      );

      // A rate of 0 turns a call off (all off: an idle API, the small preset).
      const active = loadTargets(hpa, args);
      // Each call kind gets its own thread and connection, up before the window opens.
      const workers = await LoadWorkers.start(active, {
        authority,
        cert: admin.cert,
        key: admin.key,
        concurrency: args.concurrency,
        durationMs: args.cycles * args.resolutionMs,
      });
      try {
        status(`measuring ${args.cycles} tick(s) under load`);
        const windowFirstScrape = scrapes.length;
        // Before the first scheduled request: fetching and parsing ~10 MB of /metrics is not load.
        const metricsBefore = await getOnce("/metrics");
        if (metricsBefore.status !== 200) throw new Error(`GET /metrics: HTTP ${metricsBefore.status}`);
        const serverMeter = new ProcessMeter(server.pid);
        const simMeter = new ProcessMeter(sim.pid);
        const clientCpuStart = process.cpuUsage();
        const mainThreadCpuStart = process.threadCpuUsage();
        const windowStart = performance.now();
        serverMeter.start();
        simMeter.start();
        const measuredTicks = waitForScrapes(
          windowFirstScrape + args.cycles,
          "the measured ticks",
          args.cycles * tickTimeoutMs,
        );
        const load = workers.run().then(async (results) => {
          // With no calls the client's span is the window's, so its CPU is read over the same time.
          if (active.length === 0) await measuredTicks.catch(() => {});
          // The load client's cost over the load's own span: every thread of this process, and
          // this (main) thread alone — it only reads logs and samples /proc meanwhile.
          const processCpu = process.cpuUsage(clientCpuStart);
          const mainCpu = process.threadCpuUsage(mainThreadCpuStart);
          return {
            results,
            wallSeconds: (performance.now() - windowStart) / 1000,
            processCpuSeconds: (processCpu.user + processCpu.system) / 1e6,
            mainThreadCpuSeconds: (mainCpu.user + mainCpu.system) / 1e6,
          };
        });
        await measuredTicks;
        const wallSeconds = (performance.now() - windowStart) / 1000;
        const serverCost = serverMeter.finish(wallSeconds, args.cycles, args.nodes);
        const simCost = simMeter.finish(wallSeconds, args.cycles, args.nodes);
        const loadRun = await load;
        // After the last request completed (or was given up), so /metrics is outside the load.
        const metricsAfter = await getOnce("/metrics");
        if (metricsAfter.status !== 200) {
          throw new Error(`GET /metrics: HTTP ${metricsAfter.status} ${metricsAfter.error ?? ""}`);
        }

        const before = parseHistogram(metricsBefore.body.toString("utf8"), TICK_HISTOGRAM);
        const afterText = metricsAfter.body.toString("utf8");
        const after = parseHistogram(afterText, TICK_HISTOGRAM);
        if (!before || !after) throw new Error(`/metrics has no ${TICK_HISTOGRAM} histogram`);
        const delta = histogramDelta(before, after);
        const windowScrapes = scrapes.slice(windowFirstScrape, windowFirstScrape + args.cycles);
        // The last tick's store may still be running when its scrape line ends the window: wait for it.
        await poll(
          "the last tick's store",
          async () =>
            windowScrapes.every((_, i) => tickDurationsMs[windowFirstScrape + i] !== undefined)
              ? true
              : undefined,
          60_000,
          500,
        );
        const windowTicks = windowScrapes.map((_, i) => tickDurationsMs[windowFirstScrape + i]!);
        const api = Object.fromEntries(
          loadRun.results.map((r) => [r.result.name, toApiResult(r.result)]),
        ) as BenchResult["api"];
        const threads: Record<string, ThreadCpu> = {
          main: threadCpu(loadRun.mainThreadCpuSeconds, loadRun.wallSeconds),
        };
        for (const r of loadRun.results) threads[r.result.name] = r.thread;

        const result: BenchResult = {
          schema: "metrics-server-ts/bench/v1",
          label: args.label,
          startedAt,
          params: {
            nodes: args.nodes,
            podsPerNode: args.podsPerNode,
            containersPerPod: args.containersPerPod,
            resolution: args.resolution,
            resolutionMs: args.resolutionMs,
            cycles: args.cycles,
            warmup: args.warmup,
            concurrency: args.concurrency,
            preset: args.preset,
            coldCompileCache: args.coldCompileCache,
            rate: args.rate,
            listRate: args.listRate,
            getRate: args.getRate,
            hpaReplicas: args.hpaReplicas,
            label: args.label,
            serverNodeArgs: args.serverNodeArgs,
            simNodeArgs: args.simNodeArgs,
          },
          machine,
          cluster: {
            nodes: args.nodes,
            pods,
            simStartupSeconds,
            serverStartupSeconds,
            firstFullTickSeconds,
            firstFullMetricsSeconds,
            hpaNamespace: hpa.namespace,
            hpaLabelSelector: hpa.selector,
            hpaPodsMatched: hpa.matchedPods,
          },
          window: { wallSeconds, ticks: windowScrapes.length, loadWallSeconds: loadRun.wallSeconds },
          server: serverCost,
          sim: simCost,
          loadClient: {
            ...threadCpu(loadRun.processCpuSeconds, loadRun.wallSeconds),
            threads: threads as BenchResult["loadClient"]["threads"],
          },
          ticks: {
            tickLogMs: summarize(windowTicks),
            tickLogDurationsMs: windowTicks,
            scrapeLogMs: summarize(windowScrapes.map((s) => s.durationMs)),
            scrapeLogDurationsMs: windowScrapes.map((s) => s.durationMs),
            scrapeNodeCounts: windowScrapes.map((s) => s.nodeCount),
            scrapePodCounts: windowScrapes.map((s) => s.podCount),
            histogram: {
              count: delta.count,
              meanSeconds: delta.count > 0 ? delta.sum / delta.count : Number.NaN,
              p50Seconds: histogramQuantile(delta, 0.5),
              p99Seconds: histogramQuantile(delta, 0.99),
              bounds: delta.bounds.map((b) => (b === Number.POSITIVE_INFINITY ? "+Inf" : String(b))),
              bucketCounts: delta.counts,
            },
          },
          api,
          serverInternals: serverInternals(afterText),
        };
        mkdirSync(args.outDir, { recursive: true });
        const stamp = startedAt.replace(/[:.]/g, "-");
        const jsonPath = join(args.outDir, `${args.label}-${stamp}.json`);
        const mdPath = join(args.outDir, `${args.label}-${stamp}.md`);
        writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
        writeFileSync(mdPath, renderMarkdown(result));
        return { result, jsonPath, mdPath };
      } finally {
        await workers.stop();
      }
    } finally {
      session.destroy();
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    reservation.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2), join(root, "bench", "results"));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
      process.exit(1);
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const { result, jsonPath, mdPath } = await runBench(args);
  process.stdout.write(`${renderMarkdown(result)}\nwrote ${jsonPath}\nwrote ${mdPath}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
