// The load client, one worker thread per call kind. In one event loop, receiving and handling a
// 64 MiB "list all pods" answer stalled the timers and the latency measurement of every other call
// for up to a second; in separate threads (separate event loops and heaps, so separate GCs) a call
// kind can only delay itself. All threads share one schedule start, given as a wall-clock instant.
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import type { LoadOptions, LoadTarget, TargetResult } from "./load.ts";
import type { FromLoadWorker, LoadWorkerData, ToLoadWorker } from "./load-worker.ts";

/** CPU one thread of the load client spent. */
export interface ThreadCpu {
  cpuSeconds: number;
  /** The span the CPU was measured over. */
  wallSeconds: number;
  /** cpuSeconds / wallSeconds, in millicores. */
  mCpu: number;
}

export interface ThreadedTargetResult {
  result: TargetResult;
  /** This call kind's worker thread, from the schedule's start to the end of its drain. */
  thread: ThreadCpu;
}

const WORKER_URL = new URL("./load-worker.ts", import.meta.url);

export function threadCpu(cpuSeconds: number, wallSeconds: number): ThreadCpu {
  return { cpuSeconds, wallSeconds, mCpu: wallSeconds > 0 ? (cpuSeconds / wallSeconds) * 1000 : 0 };
}

/** What a call kind reports when its thread died: every scheduled request is lost. */
function failedResult(target: LoadTarget, why: string): TargetResult {
  return {
    name: target.name,
    path: target.path,
    ratePerSecond: target.ratePerSecond,
    scheduled: 0,
    completed: 0,
    errors: 0,
    unfinished: 0,
    statuses: {},
    latenciesMs: [],
    meanResponseBytes: 0,
    errorSamples: [`load worker failed: ${why}`],
    items: 0,
  };
}

class LoadWorker {
  readonly target: LoadTarget;
  readonly #worker: Worker;
  readonly #ready: Promise<void>;
  readonly #result: Promise<ThreadedTargetResult>;

  constructor(target: LoadTarget, data: LoadWorkerData) {
    this.target = target;
    this.#worker = new Worker(WORKER_URL, { workerData: data });
    let onReady: () => void = () => {};
    let onEarlyFailure: (err: Error) => void = () => {};
    this.#ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onEarlyFailure = reject;
    });
    this.#result = new Promise<ThreadedTargetResult>((resolve) => {
      const fail = (why: string): void => {
        onEarlyFailure(new Error(`load worker for ${target.name}: ${why}`));
        resolve({ result: failedResult(target, why), thread: threadCpu(0, 0) });
      };
      this.#worker.on("message", (msg: FromLoadWorker) => {
        if (msg.type === "ready") onReady();
        else resolve({ result: msg.result, thread: threadCpu(msg.threadCpuSeconds, msg.threadWallSeconds) });
      });
      this.#worker.on("error", (err) => fail(err.stack ?? err.message));
      this.#worker.on("exit", (code) => fail(`exited with code ${code} before reporting a result`));
    });
    // Either promise may be left unobserved when the other settles first.
    this.#ready.catch(() => {});
  }

  get ready(): Promise<void> {
    return this.#ready;
  }

  start(startEpochMs: number): Promise<ThreadedTargetResult> {
    this.#worker.postMessage({ type: "start", startEpochMs } satisfies ToLoadWorker);
    return this.#result;
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}

/** One worker thread per target, connected and waiting for the common start. */
export class LoadWorkers {
  readonly #workers: LoadWorker[];

  private constructor(workers: LoadWorker[]) {
    this.#workers = workers;
  }

  /**
   * Starts a worker per target and waits until each has its connection up (or gave up trying
   * after warmUpTimeoutMs). Rejects, with every worker stopped, if a worker dies before that:
   * that is a bug in the harness, not a measurement.
   */
  static async start(
    targets: readonly LoadTarget[],
    options: LoadOptions,
    warmUpTimeoutMs = 10_000,
  ): Promise<LoadWorkers> {
    // PEM as strings: a Buffer would reach the worker as a plain Uint8Array.
    const pem = (v: Buffer | string): string => (typeof v === "string" ? v : v.toString("utf8"));
    const workers = targets.map(
      (target) =>
        new LoadWorker(target, {
          target,
          options: { ...options, cert: pem(options.cert), key: pem(options.key) },
          warmUpTimeoutMs,
        }),
    );
    const all = new LoadWorkers(workers);
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (err) {
      await all.stop();
      throw err;
    }
    return all;
  }

  /**
   * Starts every schedule now and resolves, in target order, when every worker has reported
   * (a worker that died reports a failed result). Never rejects.
   */
  async run(): Promise<ThreadedTargetResult[]> {
    const startEpochMs = performance.timeOrigin + performance.now();
    const results = await Promise.all(this.#workers.map((w) => w.start(startEpochMs)));
    await this.stop();
    return results;
  }

  /** Terminates every worker (after run, or to abandon the load). */
  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.stop()));
  }
}
