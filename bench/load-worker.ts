// The worker-thread side of the load client: one call kind per thread (see load-threads.ts for why).
// Protocol: workerData is a LoadWorkerData; the worker warms its connection up and posts "ready";
// the parent posts "start" with the schedule's start as a wall-clock time (each thread's
// performance.now() has its own origin, so a shared instant must be absolute); the worker runs the
// schedule and posts "result". Latency is measured here, on this thread's clock, from each
// request's scheduled send time.
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { type LoadOptions, type LoadTarget, runSchedule, type TargetResult, TargetRunner } from "./load.ts";

export interface LoadWorkerData {
  target: LoadTarget;
  options: LoadOptions & { cert: string; key: string };
  /** Longest wait for the connection before reporting ready anyway. */
  warmUpTimeoutMs: number;
}

export type ToLoadWorker = { type: "start"; startEpochMs: number };

export type FromLoadWorker =
  | { type: "ready" }
  | {
      type: "result";
      result: TargetResult;
      /** CPU of this thread from the start message to the end of the drain (the sample parse excluded). */
      threadCpuSeconds: number;
      /** Wall time of the same span. */
      threadWallSeconds: number;
    };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("load-worker.ts must run in a worker thread");
  const data = workerData as LoadWorkerData;
  const runner = new TargetRunner(data.target, data.options);
  await runner.warmUp(data.warmUpTimeoutMs);
  const started = new Promise<ToLoadWorker>((resolve) => port.once("message", resolve));
  port.postMessage({ type: "ready" } satisfies FromLoadWorker);
  const msg = await started;
  const cpuStart = process.threadCpuUsage();
  const wallStart = performance.now();
  await runSchedule(runner, data.options, msg.startEpochMs - performance.timeOrigin, data.target.phase);
  const cpu = process.threadCpuUsage(cpuStart);
  const threadWallSeconds = (performance.now() - wallStart) / 1000;
  runner.countSampleItems();
  port.postMessage({
    type: "result",
    result: runner.result,
    threadCpuSeconds: (cpu.user + cpu.system) / 1e6,
    threadWallSeconds,
  } satisfies FromLoadWorker);
}

await main();
