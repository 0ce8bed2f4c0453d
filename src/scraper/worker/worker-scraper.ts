// Scraper in a worker thread. At thousands of nodes the TLS handshakes, gunzip and decoding of kubelet
// bodies block the event loop that also serves the API; WorkerScraper runs a real KubeletClient and
// Scraper (thread.ts) in a node:worker_threads Worker and keeps only the cheap parts here: writing the
// worker's log lines, recording its metric observations, and taking in the decoded batch.
//
// Results come back while the tick runs (so nodes that answered can be stored before the slow ones
// have), in messages of up to a few thousand containers; only a few are sent ahead of the ones taken
// in, each after the event loop has had a turn: Node delivers all queued worker messages in one go, so
// pulling bounds how long a delivery blocks API requests.
import { Worker } from "node:worker_threads";
import type { Node } from "../../kube/index.ts";
import * as log from "../../log/index.ts";
import type { NodeScrape, NodeScrapeReport } from "../../storage/index.ts";
import { type DuplicatePodSink, finishBatch } from "../batch.ts";
import type { ScrapeEndpoint } from "../endpoint.ts";
import { Interner } from "../interner.ts";
import { KubeletClient } from "../kubelet/index.ts";
import { forgetNode, observeKubeletRequest } from "../monitoring.ts";
import { type NodeResultSink, type ScrapeReportSink, Scraper } from "../scraper.ts";
import { type NodeForWorker, nodeForWorker } from "./node-json.ts";
import { splitScraperOptions, type WorkerScraperOptions } from "./options.ts";
import { unpackMessage } from "./packing.ts";
import type { FromWorker, ToWorker, WorkerEvent, WorkerInit } from "./protocol.ts";

const WORKER_URL = new URL("./thread.ts", import.meta.url);
const MIN_RESTART_DELAY_MS = 1000;
const WORKER_YOUNG_GENERATION_MB = 12;
const MAX_RESTART_DELAY_MS = 60_000;

interface Tick {
  id: number;
  /** Ready nodes sent: the ones that get a failure line if the worker dies before answering. */
  ready: string[];
  /** Every node name sent, once each, in node order (the order duplicate pods are decided in). */
  order: string[];
  received: Map<string, NodeScrape>;
  onResult: NodeResultSink | undefined;
  /** Nodes whose failure the worker has already logged (a failed request observation). */
  failed: Set<string>;
  /** Nodes whose report has arrived. */
  reported: Set<string>;
  /** Wall-clock start of the tick, Unix ms (the reports of nodes the worker did not answer for). */
  startWallMs: number;
  finish: () => void;
  graceTimer?: NodeJS.Timeout;
}

/** Writes a line the worker has already formatted to wherever this thread's log lines go now. */
function writeLogLine(line: string): void {
  const sink = log.setSink(() => {});
  log.setSink(sink);
  sink(line);
}

export class WorkerScraper {
  readonly #init: WorkerInit;
  readonly #bearerToken: WorkerScraperOptions["bearerToken"];
  readonly #abortGraceMs: number;
  readonly #onReport: ScrapeReportSink | undefined;
  readonly #onDuplicatePods: DuplicatePodSink | undefined;
  readonly #endpoints = new Map<string, ScrapeEndpoint>();
  // Strings arrive as fresh copies each tick; interning hands the store the previous tick's instances.
  // Names arrive as whole strings from postMessage: no copies needed.
  readonly #interner = new Interner(false);
  #worker: Worker | undefined;
  /** Settles when the current worker is running (or has exited before it could). */
  #workerOnline: Promise<void> = Promise.resolve();
  /** Why the current worker is being stopped by us (restart after a missed deadline). */
  #stopReason: Error | undefined;
  #workerError: unknown;
  #tick: Tick | undefined;
  #nextTickId = 1;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartDelayMs = MIN_RESTART_DELAY_MS;

  constructor(opts: WorkerScraperOptions) {
    const {
      client,
      scraper,
      bearerToken,
      onReport,
      onDuplicatePods,
      containersPerMessage = 4096,
      abortGraceMs = 2000,
    } = splitScraperOptions(opts);
    if (!(Number.isInteger(containersPerMessage) && containersPerMessage > 0)) {
      throw new Error(`containersPerMessage must be a positive integer, got ${containersPerMessage}`);
    }
    if (!(Number.isFinite(abortGraceMs) && abortGraceMs >= 0)) {
      throw new Error(`abortGraceMs must be a non-negative number, got ${abortGraceMs}`);
    }
    // Build both here once so bad options fail the constructor, as they do in-process, rather than
    // crash the worker over and over.
    const probe = new KubeletClient(client);
    void probe.close();
    new Scraper({ ...scraper, client: probe });

    this.#init = {
      client,
      hasBearerToken: bearerToken !== undefined && client.completelyInsecure !== true,
      scraper,
      reports: onReport !== undefined,
      verbosity: log.getVerbosity(),
      containersPerMessage,
    };
    this.#bearerToken = this.#init.hasBearerToken ? bearerToken : undefined;
    this.#abortGraceMs = abortGraceMs;
    this.#onReport = onReport;
    this.#onDuplicatePods = onDuplicatePods;
    this.#startWorker();
  }

  /** The worker isolate's V8 heap (undefined while no worker runs), for the memory self-metrics. */
  async heapStatistics(): Promise<
    { totalBytes: number; usedBytes: number; externalBytes: number } | undefined
  > {
    const worker = this.#worker;
    if (!worker) return undefined;
    try {
      // A worker that is still starting has no isolate to ask yet.
      await this.#workerOnline;
      const h = await worker.getHeapStatistics();
      // ArrayBuffers and other memory V8 was told about outside the heap (kubelet bodies, buffers).
      return { totalBytes: h.total_heap_size, usedBytes: h.used_heap_size, externalBytes: h.external_memory };
    } catch {
      return undefined; // the worker exited meanwhile
    }
  }

  /** The endpoint a node was last scraped from, as of the last finished tick. */
  endpointOf(node: string): ScrapeEndpoint | undefined {
    return this.#endpoints.get(node);
  }

  /**
   * Scrapes every Ready node in the worker; failed nodes are logged and left out. `onResult` hears of
   * each node as its result arrives. Ticks run one at a time.
   */
  scrape(nodes: readonly Node[], deadline: AbortSignal, onResult?: NodeResultSink): Promise<NodeScrape[]> {
    const run = this.#queue.then(() => this.#scrapeOnce(nodes, deadline, onResult));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Stops the worker; a tick in progress returns what it has. Later scrapes are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    const worker = this.#worker;
    this.#worker = undefined;
    this.#finishTick();
    await worker?.terminate();
  }

  /** Test hook: makes the worker throw an uncaught exception, as a bug in it would. */
  crashWorkerForTesting(): void {
    this.#worker?.postMessage({ type: "crash" } satisfies ToWorker);
  }

  async #scrapeOnce(
    nodes: readonly Node[],
    deadline: AbortSignal,
    onResult: NodeResultSink | undefined,
  ): Promise<NodeScrape[]> {
    if (this.#closed) throw new Error("WorkerScraper is closed");
    const { token, tokenError } = await this.#currentToken(deadline);
    const worker = this.#worker ?? this.#startWorker();

    const parts = new Array<string>(nodes.length);
    const ready: string[] = [];
    const order: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < nodes.length; i++) {
      let n: NodeForWorker;
      try {
        n = nodeForWorker(nodes[i]);
      } catch (err) {
        // Only a node holding something JSON cannot write (a BigInt, a cycle) gets here.
        throw new Error(`cannot pass the nodes to the scraper worker: ${String(err)}`);
      }
      parts[i] = n.json;
      if (n.name !== undefined && !seen.has(n.name)) {
        seen.add(n.name);
        order.push(n.name);
        if (n.ready) ready.push(n.name);
      }
    }
    const nodesJSON = `[${parts.join(",")}]`;

    const id = this.#nextTickId++;
    const startMs = performance.now();
    return new Promise<NodeScrape[]>((resolve, reject) => {
      const onDeadline = (): void => {
        this.#worker?.postMessage({ type: "abort", id } satisfies ToWorker);
        tick.graceTimer = setTimeout(() => {
          this.#restart(
            new Error(`scraper worker still busy ${this.#abortGraceMs}ms after the tick deadline`),
          );
        }, this.#abortGraceMs);
      };
      const tick: Tick = {
        id,
        ready,
        order,
        received: new Map(),
        onResult,
        failed: new Set(),
        reported: new Set(),
        startWallMs: Date.now(),
        finish: () => {
          clearTimeout(tick.graceTimer);
          deadline.removeEventListener("abort", onDeadline);
          this.#worker?.unref();
          this.#interner.rotate();
          resolve(finishBatch(tick.order, tick.received, startMs, this.#onDuplicatePods));
        },
      };
      const msg: ToWorker = {
        type: "tick",
        id,
        nodesJSON,
        verbosity: log.getVerbosity(),
        aborted: deadline.aborted,
      };
      if (token !== undefined) msg.token = token;
      if (tokenError !== undefined) msg.tokenError = tokenError;
      try {
        worker.postMessage(msg);
      } catch (err) {
        // Only a failing worker gets here (its nodes are one string).
        reject(new Error(`cannot pass the nodes to the scraper worker: ${String(err)}`));
        return;
      }
      this.#tick = tick;
      worker.ref();
      if (deadline.aborted) onDeadline();
      else deadline.addEventListener("abort", onDeadline, { once: true });
    });
  }

  /** The token source's answer for this tick (waiting at most until the deadline). */
  async #currentToken(deadline: AbortSignal): Promise<{ token?: string; tokenError?: string }> {
    const source = this.#bearerToken;
    if (!source) return {};
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error("context deadline exceeded"));
      if (deadline.aborted) onAbort();
      else deadline.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const token = await Promise.race([Promise.resolve().then(source), aborted]);
      return typeof token === "string" ? { token } : {};
    } catch (err) {
      return { tokenError: err instanceof Error ? err.message : String(err) };
    } finally {
      if (onAbort) deadline.removeEventListener("abort", onAbort);
      aborted.catch(() => {});
    }
  }

  #startWorker(): Worker {
    // A small young generation: without pointer compression V8 lets an isolate's new space grow to
    // 128 MiB, all of it resident, for garbage that dies within a tick (kubelet bodies, decode
    // temporaries). 12 MiB measured ~120 MiB less RSS at 1,000 nodes for a few more scavenges.
    const worker = new Worker(WORKER_URL, {
      workerData: this.#init,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    worker.unref();
    this.#worker = worker;
    this.#workerOnline = new Promise<void>((resolve) => {
      worker.once("online", resolve);
      worker.once("exit", () => resolve());
    });
    this.#stopReason = undefined;
    this.#workerError = undefined;
    worker.on("message", (msg: FromWorker) => {
      if (this.#worker === worker) this.#onMessage(worker, msg);
    });
    worker.on("error", (err) => {
      if (this.#worker === worker) this.#workerError = err;
    });
    worker.on("exit", (code) => {
      if (this.#worker === worker) this.#onExit(code);
    });
    return worker;
  }

  #onMessage(worker: Worker, msg: FromWorker): void {
    if (msg.type === "events") {
      for (const event of msg.events) this.#onEvent(event);
      return;
    }
    const tick = this.#tick;
    if (msg.type !== "result" || tick === undefined || msg.id !== tick.id) return;
    // The scrape has ended in time; what remains is handing its results over.
    if (msg.done) clearTimeout(tick.graceTimer);
    if (msg.packed !== null) {
      let scrapes: NodeScrape[] = [];
      try {
        scrapes = unpackMessage(msg.packed, this.#interner.intern);
      } catch (err) {
        // Only a bug in the worker gets here; every node of the message gets its failure line.
        const nodes = Array.isArray(msg.packed?.nodes) ? msg.packed.nodes : ["<unknown>"];
        for (const node of nodes) log.error(err, "Failed to scrape node", { node: String(node) });
      }
      for (const scrape of scrapes) {
        tick.received.set(scrape.node, scrape);
        tick.onResult?.(scrape.node, scrape);
      }
    }
    if (Array.isArray(msg.failed)) {
      for (const node of msg.failed) if (typeof node === "string") tick.onResult?.(node, undefined);
    }
    if (!msg.last) {
      // Ask for the rest only after this turn, so API requests queued meanwhile are served first.
      setImmediate(() => {
        if (this.#worker === worker && this.#tick === tick) worker.postMessage({ type: "next", id: tick.id });
      });
      return;
    }
    for (const [node, endpoint] of msg.endpoints ?? []) {
      if (endpoint === null) this.#endpoints.delete(node);
      else this.#endpoints.set(node, endpoint);
    }
    this.#restartDelayMs = MIN_RESTART_DELAY_MS;
    this.#finishTick();
  }

  #onEvent(event: WorkerEvent): void {
    switch (event.kind) {
      case "log":
        writeLogLine(event.line);
        return;
      case "observe":
        observeKubeletRequest(event.node, event.seconds, event.success, event.endTimeMs);
        if (!event.success) this.#tick?.failed.add(event.node);
        return;
      case "forget":
        forgetNode(event.node);
        return;
      case "report":
        if (this.#tick !== undefined) this.#tick.reported.add(event.report.node);
        this.#onReport?.(event.report);
    }
  }

  /** The report of a node whose outcome the worker did not tell before it stopped. */
  #reportLost(node: string, tick: Tick, failure: Error): void {
    const report: NodeScrapeReport = {
      node,
      outcome: "Failed",
      startMs: tick.startWallMs,
      durationMs: Date.now() - tick.startWallMs,
      bytes: 0,
      nodePoint: false,
      pods: 0,
      containers: 0,
      error: { kind: "Other", message: failure.message },
    };
    this.#onReport?.(report);
  }

  #finishTick(): void {
    const tick = this.#tick;
    this.#tick = undefined;
    tick?.finish();
  }

  /** Stops a worker that overran the deadline; its exit goes through the crash path. */
  #restart(reason: Error): void {
    const worker = this.#worker;
    if (!worker) return;
    this.#stopReason = reason;
    void worker.terminate();
  }

  #onExit(code: number): void {
    const cause =
      this.#stopReason ??
      (this.#workerError instanceof Error
        ? this.#workerError
        : new Error(`scraper worker exited with code ${code}`));
    this.#worker = undefined;
    if (this.#closed) return;
    log.error(cause, "Scraper worker stopped, restarting it");
    const tick = this.#tick;
    if (tick) {
      const failure = new Error(`scraper worker stopped: ${cause.message}`);
      for (const node of tick.ready) {
        if (!tick.received.has(node) && !tick.failed.has(node)) {
          log.error(failure, "Failed to scrape node", { node });
        }
        if (!tick.reported.has(node)) this.#reportLost(node, tick, failure);
      }
      this.#finishTick();
    }
    // Restart soon, but back off while it keeps dying without finishing a tick (the next scrape
    // starts one at once anyway).
    const delay = this.#restartDelayMs;
    this.#restartDelayMs = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
    this.#restartTimer = setTimeout(() => {
      if (!this.#closed && !this.#worker) this.#startWorker();
    }, delay);
    this.#restartTimer.unref();
  }
}
