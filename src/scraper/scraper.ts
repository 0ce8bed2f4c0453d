// One scrape of every node's kubelet, as kubernetes-sigs/metrics-server pkg/scraper/scraper.go does
// it: a short random start jitter per node, a per-request timeout under the tick deadline, decode, and
// merge. A broken
// kubelet costs only its own node and one error line; scrape() never throws because of a node.
// Each node is read from /metrics/resource or, as a fallback, the Summary API (see endpoint.ts).

import { formatGoDuration } from "../go/index.ts";
import type { Node } from "../kube/index.ts";
import * as log from "../log/index.ts";
import {
  type LeftOutPod,
  MAX_LEFT_OUT_PER_NODE,
  type NodeScrape,
  type NodeScrapeReport,
} from "../storage/index.ts";
import { AbortFanout, abortableSleep } from "./abort-fanout.ts";
import { isNodeReady, type KubeletEndpoint, resolveKubeletEndpoint } from "./address.ts";
import { countPods, type DuplicatePodSink, finishBatch } from "./batch.ts";
import { nodeCapacity } from "./capacity.ts";
import { decodeResourceMetrics, decodeSummary } from "./decode/index.ts";
import {
  DEFAULT_RESOURCE_RETRY_MS,
  EndpointSelector,
  type KubeletEndpointMode,
  type ScrapeEndpoint,
} from "./endpoint.ts";
import { Interner } from "./interner.ts";
import type { KubeletClient } from "./kubelet/index.ts";
import { forgetNode, observeKubeletRequest } from "./monitoring.ts";
import { type DecoderResult, NodeLog } from "./node-log.ts";
import { classifyScrapeError } from "./scrape-error.ts";
import { Semaphore } from "./semaphore.ts";

export interface ScraperOptions {
  client: KubeletClient;
  /** --kubelet-preferred-address-types, in priority order. */
  addressTypes: readonly string[];
  /** --kubelet-port. */
  port: number;
  /** --kubelet-use-node-status-port. */
  useNodeStatusPort: boolean;
  scheme: "https" | "http";
  /** --kubelet-request-timeout in ms. */
  requestTimeoutMs: number;
  /** Requests in flight at once. Default 256. */
  maxConcurrency?: number;
  /** Source of the start jitter, [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * --kubelet-endpoint. "resource": /metrics/resource only (upstream). "summary": the Summary API
   * only. "auto" (default): resource, falling back per node to the Summary API on a 404.
   */
  endpoint?: KubeletEndpointMode;
  /** In "auto", how often a node on the Summary API tries /metrics/resource again. Default 10 min. */
  resourceRetryMs?: number;
  /** Monotonic clock in ms for the retry period. Default performance.now (tests inject one). */
  now?: () => number;
  /**
   * Hand out the same string for a name in every scrape (default true), so the store that keeps a
   * batch shares one string per pod. The scrape worker passes false: its batches are copied to the
   * main thread, which interns them there, and a cross-scrape table in the worker cost ~25 MiB at
   * 150,000 pods for no measurable CPU gain (identity: 499 ms vs 489-503 ms per 5,000 bodies).
   */
  internAcrossScrapes?: boolean;
  /**
   * A node whose scrape keeps failing with the same cause is logged again after this long (default
   * 5 min, REPEAT_LOG_INTERVAL_MS); a new cause and a recovery are logged at once.
   */
  repeatLogIntervalMs?: number;
  /**
   * Told each node's outcome in each tick as soon as it is known (the scrape status). Not set: no
   * report is built.
   */
  onReport?: ScrapeReportSink;
  /** Told the pods a tick's merge dropped from `node` because an earlier node reported them too. */
  onDuplicatePods?: DuplicatePodSink;
}

export type ScrapeReportSink = (report: NodeScrapeReport) => void;

/** What one node's request(s) got, filled in as they go (for its report). */
interface Attempt {
  endpoint: "resource" | "summary" | undefined;
  url: string | undefined;
  bytes: number;
}

/** A decoder's NodeScrape with what it left out (decode/accumulators.ts DecodedScrape). */
type WithLeftOut = DecoderResult & { leftOut?: LeftOutPod[]; leftOutCount?: number };

// Upstream sleeps a uniform [0, min(8ms × nodes, 4s)) before each node's request.
// Upstream caps the spread at 4 s, so from 500 nodes on every tick lasts at least ~4 s of pure waiting.
// Its purpose is to avoid a burst of simultaneous requests; the semaphore below already bounds the
// burst, so we cap the spread at 1 s and ticks end sooner (README, "Differences from upstream").
const JITTER_PER_NODE_MS = 8;
const MAX_JITTER_MS = 1000;

class RequestTimeout extends Error {}

/**
 * Told each node's outcome as soon as it is known: its scrape, or undefined when the node failed or
 * is not Ready. Duplicate pods across nodes are not dropped yet (scrape()'s result drops them).
 */
export type NodeResultSink = (node: string, scrape: NodeScrape | undefined) => void;

export class Scraper {
  readonly #opts: ScraperOptions;
  readonly #random: () => number;
  // Upstream starts all node requests at once. We bound them: 5,000 simultaneous TLS handshakes and
  // response buffers would spike CPU, memory and file descriptors on one event loop for no gain in
  // throughput, and 256 in flight still finishes a 5,000-node tick within seconds.
  readonly #semaphore: Semaphore;
  readonly #interner: Interner | undefined;
  readonly #intern: (s: string) => string;
  /** Nodes that currently have per-node metric series. */
  readonly #nodesWithMetrics = new Set<string>();
  readonly #endpoints: EndpointSelector;
  readonly #utf8 = new TextDecoder("utf-8");
  /** Each node's failures and recoveries, logged rarely when they repeat. */
  readonly #log: NodeLog;

  constructor(opts: ScraperOptions) {
    if (!(opts.requestTimeoutMs > 0))
      throw new Error(`requestTimeoutMs must be > 0, got ${opts.requestTimeoutMs}`);
    this.#opts = opts;
    this.#interner = opts.internAcrossScrapes === false ? undefined : new Interner();
    this.#intern = this.#interner?.intern ?? ((name) => name);
    this.#random = opts.random ?? Math.random;
    this.#semaphore = new Semaphore(opts.maxConcurrency ?? 256);
    this.#log = new NodeLog(formatGoDuration(opts.requestTimeoutMs), opts.repeatLogIntervalMs, opts.now);
    this.#endpoints = new EndpointSelector(
      opts.endpoint ?? "auto",
      opts.resourceRetryMs ?? DEFAULT_RESOURCE_RETRY_MS,
      opts.now ?? (() => performance.now()),
    );
  }

  /** The endpoint a node was last scraped from: "resource", "summary", or undefined if never scraped. */
  endpointOf(node: string): ScrapeEndpoint | undefined {
    return this.#endpoints.endpointOf(node);
  }

  /**
   * Scrapes every Ready node; failed nodes are logged and left out of the result, a pod reported by
   * two nodes is kept from the first in node order. `onResult` hears of each node as it finishes.
   */
  async scrape(
    nodes: readonly Node[],
    deadline: AbortSignal,
    onResult?: NodeResultSink,
  ): Promise<NodeScrape[]> {
    const startMs = performance.now();
    const scrapes = new Map<string, NodeScrape>();
    const order = await this.scrapeEach(nodes, deadline, (node, scrape) => {
      if (scrape !== undefined) scrapes.set(node, scrape);
      onResult?.(node, scrape);
    });
    return finishBatch(order, scrapes, startMs, this.#opts.onDuplicatePods);
  }

  /**
   * Scrapes every Ready node and tells `onResult` each node's outcome as it comes. Resolves with the
   * node names in node order (each once) when every node has finished or the deadline has passed.
   */
  async scrapeEach(
    nodes: readonly Node[],
    deadline: AbortSignal,
    onResult: NodeResultSink,
  ): Promise<string[]> {
    log.V(1).info("Scraping metrics from nodes", { nodeCount: nodes.length });

    const unique: Node[] = [];
    const names = new Set<string>();
    for (const node of nodes) {
      const name = node?.metadata?.name;
      if (typeof name !== "string") continue;
      if (names.has(name)) {
        log.error(undefined, "Got duplicate node point", { node: name });
        continue;
      }
      names.add(name);
      unique.push(node);
    }

    const maxJitterMs = Math.min(JITTER_PER_NODE_MS * unique.length, MAX_JITTER_MS);
    // Every node's jitter sleep, queue wait and request hang off this one listener on the deadline.
    const abort = new AbortFanout(deadline);
    const tickStartMs = Date.now();
    try {
      await Promise.all(
        unique.map(async (n) =>
          onResult(n.metadata.name, await this.#scrapeNode(n, maxJitterMs, abort, tickStartMs)),
        ),
      );
    } finally {
      abort.dispose();
    }

    for (const name of this.#nodesWithMetrics) {
      if (!names.has(name)) {
        forgetNode(name);
        this.#nodesWithMetrics.delete(name);
      }
    }
    this.#endpoints.retain(names);
    this.#log.retain(names);
    this.#interner?.rotate();

    return unique.map((n) => n.metadata.name);
  }

  async #scrapeNode(
    node: Node,
    maxJitterMs: number,
    deadline: AbortFanout,
    tickStartMs: number,
  ): Promise<NodeScrape | undefined> {
    const name = node.metadata.name;
    try {
      if (!isNodeReady(node)) {
        log.V(4).info("Failed to scrape node, node is not ready", { node: name });
        this.#opts.onReport?.(emptyReport(name, "NotReady", tickStartMs, 0));
        return undefined;
      }
      const jitterMs = Math.floor(this.#random() * maxJitterMs);
      if (jitterMs > 0) await abortableSleep(jitterMs, deadline);
      const release = await this.#semaphore.acquire(deadline);
      try {
        return await this.#request(node, deadline);
      } finally {
        release();
      }
    } catch (err) {
      // Only aborts of the tick deadline (during the jitter or the queue) reach here.
      this.#log.failed(name, err, deadline.aborted);
      const report = this.#opts.onReport;
      if (report !== undefined) {
        const failed = emptyReport(name, "Failed", tickStartMs, Date.now() - tickStartMs);
        failed.error = classifyScrapeError(err, deadline.aborted);
        report(failed);
      }
      return undefined;
    }
  }

  async #request(node: Node, deadline: AbortFanout): Promise<NodeScrape | undefined> {
    const name = node.metadata.name;
    const controller = new AbortController();
    const unsubscribe = deadline.subscribe((reason) => controller.abort(reason));
    const timer = setTimeout(
      () => controller.abort(new RequestTimeout("context deadline exceeded")),
      this.#opts.requestTimeoutMs,
    );
    const startMs = performance.now();
    const startWallMs = Date.now();
    const attempt: Attempt = { endpoint: undefined, url: undefined, bytes: 0 };
    let success = false;
    try {
      const o = this.#opts;
      const endpoint = resolveKubeletEndpoint(node, {
        preferredAddressTypes: o.addressTypes,
        port: o.port,
        useNodeStatusPort: o.useNodeStatusPort,
        scheme: o.scheme,
      });
      const scrape: WithLeftOut = await this.#fetch(name, endpoint, controller.signal, attempt);
      success = true;
      this.#log.scraped(name, scrape);
      const report = this.#opts.onReport;
      if (report !== undefined) {
        const r = emptyReport(name, "Succeeded", startWallMs, performance.now() - startMs);
        setAttempt(r, attempt);
        r.nodePoint = scrape.nodeTimestampMs !== 0;
        r.pods = countPods(scrape);
        r.containers = scrape.containerCount;
        if (scrape.leftOut !== undefined) {
          r.leftOut = scrape.leftOut.slice(0, MAX_LEFT_OUT_PER_NODE);
          r.leftOutCount = scrape.leftOutCount ?? scrape.leftOut.length;
        }
        report(r);
      }
      delete scrape.leftOut;
      delete scrape.leftOutCount;
      // What the store checks values against (a CPU rate or memory the node cannot have).
      const capacity = nodeCapacity(node);
      if (capacity.cpuNanocores !== undefined) scrape.cpuCapacityNanocores = capacity.cpuNanocores;
      if (capacity.memoryBytes !== undefined) scrape.memoryCapacityBytes = capacity.memoryBytes;
      // Logged here, in the scrape thread: it does not travel to the store.
      delete scrape.problems;
      return scrape;
    } catch (err) {
      this.#log.failed(name, err, controller.signal.aborted);
      const report = this.#opts.onReport;
      if (report !== undefined) {
        const r = emptyReport(name, "Failed", startWallMs, performance.now() - startMs);
        setAttempt(r, attempt);
        r.error = classifyScrapeError(err, controller.signal.aborted);
        report(r);
      }
      return undefined;
    } finally {
      clearTimeout(timer);
      unsubscribe();
      // One observation per node and tick, even when the Summary fallback makes it two requests: the
      // metrics describe what scraping the node cost and whether it gave a batch.
      observeKubeletRequest(name, (performance.now() - startMs) / 1000, success);
      this.#nodesWithMetrics.add(name);
    }
  }

  /** The node's batch from the endpoint the selector picks; both requests share the node's deadline. */
  async #fetch(
    name: string,
    endpoint: KubeletEndpoint,
    signal: AbortSignal,
    attempt: Attempt,
  ): Promise<NodeScrape> {
    const client = this.#opts.client;
    if (this.#endpoints.first(name) === "resource") {
      log.V(2).info("Scraping node", { node: name, endpoint: "resource" });
      attempt.endpoint = "resource";
      attempt.url = endpoint.url;
      // Samples without their own timestamp get the time the request was sent, as upstream.
      const requestTimeMs = Date.now();
      let body: Uint8Array | undefined;
      try {
        body = await client.get(endpoint.url, signal, name);
      } catch (err) {
        if (signal.aborted || !this.#endpoints.resourceFailed(name, endpoint.path, err)) throw err;
      }
      if (body !== undefined) {
        attempt.bytes = body.length;
        this.#endpoints.resourceWorked(name);
        return decodeResourceMetrics(body, name, requestTimeMs, this.#intern);
      }
    }
    // Nodes on the Summary API, and in the same tick a node whose kubelet has just answered 404 on the
    // resource path, so the switch costs no point.
    log.V(2).info("Scraping node", { node: name, endpoint: "summary" });
    attempt.endpoint = "summary";
    attempt.url = endpoint.summaryUrl;
    const body = await client.get(endpoint.summaryUrl, signal, name);
    attempt.bytes = body.length;
    return decodeSummary(this.#utf8.decode(body), name, this.#intern);
  }
}

/** A report with nothing scraped; the caller fills in what it has. */
function emptyReport(
  node: string,
  outcome: NodeScrapeReport["outcome"],
  startMs: number,
  durationMs: number,
): NodeScrapeReport {
  return { node, outcome, startMs, durationMs, bytes: 0, nodePoint: false, pods: 0, containers: 0 };
}

function setAttempt(r: NodeScrapeReport, a: Attempt): void {
  if (a.endpoint !== undefined) r.endpoint = a.endpoint;
  if (a.url !== undefined) r.url = a.url;
  r.bytes = a.bytes;
}
