// The benchmark's result document and its markdown rendering.
import type { BenchArgs } from "./args.ts";
import type { ThreadCpu } from "./load-threads.ts";
import type { Summary } from "./stats.ts";

export interface ProcessCost {
  pid: number;
  /** utime + stime spent inside the measured window. */
  cpuSeconds: number;
  cpuSecondsPerCycle: number;
  /** cpuSeconds / wall seconds of the window, in millicores. */
  mCpu: number;
  mCpuPerNode: number;
  /** Median VmRSS of the per-second samples in the window. */
  rssSteadyKiB: number;
  rssSteadyKiBPerNode: number;
  /** Highest VmRSS sample in the window. */
  rssMaxSampledKiB: number;
  /** VmHWM at the end: the peak over the process's whole life, start-up included. */
  vmHwmKiB: number;
  vmHwmKiBPerNode: number;
  rssSamplesKiB: number[];
  /** RssAnon and RssFile at the end of the window. */
  rssAnonKiB: number;
  rssFileKiB: number;
  /** mCPU over the window by thread name (MainThread, WorkerThread, V8Worker, ...). */
  threadsMCpu: Record<string, number>;
}

export interface ServerInternals {
  /**
   * The API thread's event-loop delay over the window: prom-client's, sampled every 100 ms, so each
   * value includes that period (~100 ms means no delay).
   */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** V8's view at the end of the window; NaN where the server did not report it. */
  memoryBytes: {
    mainHeapUsed: number;
    mainHeapTotal: number;
    mainExternal: number;
    workerHeapUsed: number;
    workerHeapTotal: number;
    workerExternal: number;
  };
}

export interface ApiResult {
  path: string;
  ratePerSecond: number;
  scheduled: number;
  completed: number;
  errors: number;
  unfinished: number;
  statuses: Record<string, number>;
  latencyMs: Summary;
  meanResponseBytes: number;
  errorSamples: string[];
  /** Items in the last successful answer whose body was kept (one is kept at a time). */
  items: number;
  latenciesMs: number[];
}

export type ApiCall = "listPods" | "listPodsProtobuf" | "listNodes" | "hpaNamespaceSelector" | "getPod";

export interface BenchResult {
  schema: "metrics-server-ts/bench/v1";
  label: string;
  startedAt: string;
  params: Omit<BenchArgs, "help" | "verbose" | "outDir">;
  machine: {
    cpuModel: string;
    cores: number;
    totalMemoryBytes: number;
    nodeVersion: string;
    kernel: string;
    gitCommit: string;
    gitDirty: boolean;
  };
  cluster: {
    nodes: number;
    pods: number;
    simStartupSeconds: number;
    serverStartupSeconds: number;
    /** From the server's start to the end of its first scrape that reached every node. */
    firstFullTickSeconds: number;
    /** From the server's start until the API first listed metrics for every node (1 s polls). */
    firstFullMetricsSeconds: number;
    hpaNamespace: string;
    hpaLabelSelector: string;
    /** Pods of the simulator's fixed-size HPA target (0 when the bench ran with --hpa-replicas 0). */
    hpaPodsMatched: number;
  };
  window: {
    wallSeconds: number;
    /** "Scrape finished" lines seen in the window (should equal cycles). */
    ticks: number;
    /** From the window's start until every call kind's last request was answered or given up. */
    loadWallSeconds: number;
  };
  server: ProcessCost;
  sim: ProcessCost;
  /**
   * This process (the load client) over window.loadWallSeconds: it shares the cores too.
   * cpuSeconds/mCpu cover every thread of the process; `threads` splits it by thread: "main" (logs,
   * /proc sampling) and one worker thread per call kind (keys as in `api`), each over its own span.
   */
  loadClient: {
    cpuSeconds: number;
    mCpu: number;
    wallSeconds: number;
    threads: Partial<Record<"main" | ApiCall, ThreadCpu>>;
  };
  ticks: {
    /** Exact tick durations (scrape, hand-off and store) from the server's -v=1 "Tick finished" lines. */
    tickLogMs: Summary;
    tickLogDurationsMs: number[];
    /** Exact scrape durations from the server's -v=1 "Scrape finished" lines (scrape only, no store). */
    scrapeLogMs: Summary;
    scrapeLogDurationsMs: number[];
    scrapeNodeCounts: number[];
    scrapePodCounts: number[];
    /**
     * metrics_server_manager_tick_duration_seconds between two /metrics scrapes (scrape + store):
     * quantiles are bucket-resolution (linear interpolation in the bucket, as histogram_quantile).
     */
    histogram: {
      count: number;
      meanSeconds: number;
      p50Seconds: number;
      p99Seconds: number;
      bounds: string[];
      bucketCounts: number[];
    };
  };
  /** Each call kind the run made (a rate of 0 leaves it out). */
  api: Partial<Record<ApiCall, ApiResult>>;
  serverInternals: ServerInternals;
}

const MiB = 1024;

function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return "n/a";
  return n.toFixed(digits);
}

/** "main 3.1, listPods 40.2, …": the load client's mCPU by thread. */
function clientThreads(r: BenchResult): string {
  return Object.entries(r.loadClient.threads)
    .map(([name, t]) => `${name} ${fmt(t.mCpu)}`)
    .join(", ");
}

/** Where the server's CPU and memory went, and how long its API thread's event loop waited. */
function serverLines(r: BenchResult): string[] {
  const threads = Object.entries(r.server.threadsMCpu)
    .sort((a, b) => b[1] - a[1])
    .map(([name, m]) => `${name} ${fmt(m)}`)
    .join(", ");
  const m = r.serverInternals.memoryBytes;
  const mib = (b: number): string => fmt(b / 2 ** 20, 0);
  // No scrape thread (a small cluster is scraped inline): its heap and external are not there.
  const worker = (b: number): number => (Number.isFinite(b) ? b : 0);
  const known =
    m.mainHeapTotal +
    m.mainExternal +
    worker(m.workerHeapTotal) +
    worker(m.workerExternal) +
    r.server.rssFileKiB * 1024;
  const rest = r.server.rssSteadyKiB * 1024 - known;
  const d = r.serverInternals.eventLoopDelayMs;
  return [
    `Server CPU by thread (mCPU): ${threads}.`,
    `Server memory at the end (MiB): API thread heap ${mib(m.mainHeapUsed)} used / ${mib(m.mainHeapTotal)} total, ` +
      `external ${mib(m.mainExternal)}; ` +
      (Number.isFinite(m.workerHeapTotal)
        ? `scrape thread heap ${mib(m.workerHeapUsed)} / ${mib(m.workerHeapTotal)}, external ${mib(m.workerExternal)}; `
        : "no scrape thread (scraped inline); ") +
      `file-backed ${mib(r.server.rssFileKiB * 1024)}; the rest of RSS steady ` +
      `(native: TLS, malloc, V8 new space) ${mib(rest)}.`,
    `API thread event-loop delay over the window (sampled every 100 ms, which each value includes): p50 ${fmt(d.p50, 1)} / p99 ${fmt(d.p99, 1)} / max ${fmt(d.max, 1)} ms.`,
  ];
}

/** The markdown tables printed and written beside the JSON. */
export function renderMarkdown(r: BenchResult): string {
  const p = r.params;
  const n = r.cluster.nodes;
  const upstreamCpu = n <= 100 ? "100m total" : `${n} m (1 m/node)`;
  const upstreamMem = n <= 100 ? "200 MiB total" : `${fmt((n * 2) as number, 0)} MiB (2 MiB/node)`;
  const lines: string[] = [];
  lines.push(
    `### ${r.label}: ${n} nodes × ${p.podsPerNode} pods × ${p.containersPerPod} containers, resolution ${p.resolution}`,
    "",
    `${r.machine.cpuModel}, ${r.machine.cores} cores (shared by simulator, server and load client), ` +
      `${fmt(r.machine.totalMemoryBytes / 2 ** 30, 1)} GiB RAM, Node ${r.machine.nodeVersion}, ` +
      `commit ${r.machine.gitCommit.slice(0, 12)}${r.machine.gitDirty ? " (dirty)" : ""}, ${r.startedAt}.`,
    `Window: ${r.window.ticks} ticks in ${fmt(r.window.wallSeconds, 1)} s after ${p.warmup} warm-up tick(s); ` +
      `Server started with ${p.coldCompileCache ? "an empty compile cache" : "a compile cache filled as the image's"}; ` +
      `first full tick ${fmt(r.cluster.firstFullTickSeconds, 1)} s and metrics for every node from the API ` +
      `${fmt(r.cluster.firstFullMetricsSeconds, 1)} s after the server started.`,
    "",
    "| | metrics-server | per node | simulator | upstream budget |",
    "|---|---:|---:|---:|---:|",
    `| CPU (mCPU, window average) | ${fmt(r.server.mCpu)} | ${fmt(r.server.mCpuPerNode, 3)} | ${fmt(r.sim.mCpu)} | ${upstreamCpu} |`,
    `| CPU seconds per cycle | ${fmt(r.server.cpuSecondsPerCycle, 3)} | | ${fmt(r.sim.cpuSecondsPerCycle, 3)} | |`,
    `| RSS steady (median, MiB) | ${fmt(r.server.rssSteadyKiB / MiB)} | ${fmt(r.server.rssSteadyKiBPerNode)} KiB | ${fmt(r.sim.rssSteadyKiB / MiB)} | ${upstreamMem} |`,
    `| RSS peak (VmHWM, MiB) | ${fmt(r.server.vmHwmKiB / MiB)} | ${fmt(r.server.vmHwmKiBPerNode)} KiB | ${fmt(r.sim.vmHwmKiB / MiB)} | |`,
    `| tick p50 / max (log, exact: scrape + hand-off + store) | ${fmt(r.ticks.tickLogMs.p50, 0)} / ${fmt(r.ticks.tickLogMs.max, 0)} ms | | | |`,
    `| scrape p50 / p99 / max (log, exact) | ${fmt(r.ticks.scrapeLogMs.p50, 0)} / ${fmt(r.ticks.scrapeLogMs.p99, 0)} / ${fmt(r.ticks.scrapeLogMs.max, 0)} ms | | | |`,
    `| tick p50 / p99 (histogram, bucket-resolution) | ${fmt(r.ticks.histogram.p50Seconds * 1000, 0)} / ${fmt(r.ticks.histogram.p99Seconds * 1000, 0)} ms (mean ${fmt(r.ticks.histogram.meanSeconds * 1000, 0)}) | | | |`,
    `| load client CPU (mCPU) | | | | ${fmt(r.loadClient.mCpu)} (this process: ${clientThreads(r)}) |`,
    "",
    ...serverLines(r),
    "",
    "| API call (client-side, HTTP/2, from scheduled send) | rate/s | done | errors | p50 ms | p99 ms | max ms | items | body KiB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  const names: Record<ApiCall, string> = {
    listPods: "list all pods",
    listPodsProtobuf: "list all pods, protobuf (kubectl top)",
    listNodes: "list all nodes",
    hpaNamespaceSelector: `namespace ${r.cluster.hpaNamespace}, ${r.cluster.hpaLabelSelector} (HPA)`,
    getPod: "get one pod",
  };
  if (Object.keys(r.api).length === 0) lines.push("| (none: an idle API) | 0 | | | | | | | |");
  for (const key of Object.keys(names) as ApiCall[]) {
    const a = r.api[key];
    if (a === undefined) continue;
    lines.push(
      `| ${names[key]} | ${a.ratePerSecond} | ${a.completed}/${a.scheduled} | ${a.errors + a.unfinished} | ` +
        `${fmt(a.latencyMs.p50, 2)} | ${fmt(a.latencyMs.p99, 2)} | ${fmt(a.latencyMs.max, 2)} | ${a.items} | ${fmt(a.meanResponseBytes / 1024, 1)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}
