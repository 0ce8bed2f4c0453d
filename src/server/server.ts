// The running metrics-server (upstream pkg/server/server.go): node and Running-pod caches, the scrape
// loop into the store, and the API, health checks and self-metrics behind the HTTPS listener. The
// listener starts while the caches sync (upstream waits for them): /readyz then fails on the informer
// checks, so an API server that is down at start leaves the process running and not ready.
import type http2 from "node:http2";
import { flushCompileCache } from "node:module";
import { hostname } from "node:os";
import { boundedPodLookup, METRICS_API_RESOURCES, MetricsApi, protobufEncoder } from "../api/index.ts";
import type { ApiRequest, RequestAuth } from "../apiserver/index.ts";
import { type ServeOptions, shutdownServer, startServer } from "../apiserver/index.ts";
import { DIAGNOSTICS_GROUP, DiagnosticsApi, type SelfCheckReader } from "../diagnostics/index.ts";
import {
  getPod,
  type KubeClient,
  type LabelSelector,
  type Node,
  newNodeReflector,
  newRunningPodReflector,
  type PartialObjectMetadata,
  type Reflector,
} from "../kube/index.ts";
import * as log from "../log/index.ts";
import { AdaptiveScraper, type AdaptiveScraperOptions, kubeletNodeFamilies } from "../scraper/index.ts";
import { ScrapeStatusBook, type ScrapeStatusReader, TwoPointStore } from "../storage/index.ts";
import { DIAGNOSTICS_APISERVICE, publishCABundle } from "./apiservice.ts";
import { healthEndpoints } from "./health.ts";
import { type BatchScraper, ScrapeManager } from "./manager.ts";
import { createTickDuration, newRegistry } from "./monitoring.ts";
import { SelfCheck } from "./self-check.ts";

export interface MetricsServerConfig {
  kube: KubeClient;
  auth: RequestAuth;
  scraper: AdaptiveScraperOptions;
  nodeSelector: LabelSelector;
  resolutionMs: number;
  /** --swap-usage. */
  swapUsage: boolean;
  /** Address, port, certificates, TLS settings and limits of the HTTPS listener. */
  listener: Omit<ServeOptions, "auth" | "health" | "api" | "registry" | "appendedMetrics" | "version">;
  /** The /version body. */
  version: object;
  /** With --manage-apiservice-ca-bundle: the serving CA to write into the APIService. */
  caPem?: string;
  /** The request-header client CAs in force, for the self-check (absent: that check is Skipped). */
  requestHeaderCAs?: () => number;
}

/**
 * How long requests in flight at shutdown may take to finish before their connections are cut. A
 * healthy client gets even a 5,000-node list in a few seconds; one that stops reading must not hold
 * the process past the pod's termination grace period (30 s by default), after which the kubelet
 * kills it without a word in the log.
 */
export const SHUTDOWN_DRAIN_MS = 10_000;

/** The package version from the /version body ({gitVersion}). */
function versionText(version: object): string {
  const v = (version as { gitVersion?: unknown }).gitVersion;
  return typeof v === "string" ? v : "";
}

async function waitFor(cond: () => boolean, signal: AbortSignal): Promise<void> {
  while (!cond() && !signal.aborted) await new Promise((r) => setTimeout(r, 100));
}

export class MetricsServer {
  readonly #config: MetricsServerConfig;
  readonly #nodes: Reflector<Node>;
  readonly #pods: Reflector<PartialObjectMetadata>;
  readonly #stopping = new AbortController();
  /** Each node's latest scrape outcome and what the store refused from it. */
  readonly #scrapeStatus = new ScrapeStatusBook();
  #shuttingDown = false;
  #scraper: AdaptiveScraper | undefined;
  #manager: ScrapeManager | undefined;
  #listener: http2.Http2SecureServer | undefined;

  readonly #selfCheck: SelfCheck;

  constructor(config: MetricsServerConfig) {
    this.#config = config;
    this.#selfCheck = new SelfCheck({
      kube: config.kube,
      requestHeaderCAs: config.requestHeaderCAs,
      resolutionMs: config.resolutionMs,
      kubeletTlsUnverified: !!config.scraper.insecureSkipVerify || !!config.scraper.completelyInsecure,
    });
    this.#nodes = newNodeReflector(config.kube);
    this.#pods = newRunningPodReflector(config.kube);
  }

  /** Each node's latest scrape report (inline and worker ticks alike), for the diagnostics API. */
  get scrapeStatus(): ScrapeStatusReader {
    return this.#scrapeStatus;
  }

  /** The start-up self-check's results, for the diagnostics API. */
  get selfCheck(): SelfCheckReader {
    return this.#selfCheck;
  }

  /** Start of the latest tick, Unix ms; undefined before the first. */
  get tickLastStartMs(): number | undefined {
    const start = this.#manager?.tickLastStartMs;
    return start === 0 ? undefined : start;
  }

  /** Duration of the latest finished tick (store included), ms; undefined before the first. */
  get tickLastDurationMs(): number | undefined {
    return this.#manager?.tickLastDurationMs;
  }

  /**
   * Starts the caches and the listener; resolves once serving. The scrape loop starts in the
   * background once both caches have synced.
   */
  async run(): Promise<void> {
    const c = this.#config;
    const startedAtMs = Date.now();
    const nodes = this.#nodes;
    const pods = this.#pods;
    nodes.start();
    pods.start();

    const book = this.#scrapeStatus;
    const selfCheck = this.#selfCheck;
    const store = new TwoPointStore({
      resolutionMs: c.resolutionMs,
      onRefused: (node, refused, nodeRefused) => book.recordRefused(node, refused, nodeRefused),
    });
    // Kubelet requests (TLS, gzip) and decoding run on this thread for small clusters and in a worker
    // thread for large ones, so a 5,000-node tick does not stall API requests (adaptive-scraper.ts).
    const scraper = new AdaptiveScraper({
      ...c.scraper,
      onReport: (report) => {
        book.record(report);
        selfCheck.observe(report);
      },
      onDuplicatePods: (node, pods) => book.recordDuplicates(node, pods),
    });
    this.#scraper = scraper;
    // The book keeps the nodes of the latest tick: a node deleted or no longer selected is forgotten.
    const tickScraper: BatchScraper = {
      scrape: async (nodes, deadline, onResult) => {
        try {
          return await scraper.scrape(nodes, deadline, onResult);
        } finally {
          book.retain(new Set(nodes.map((n) => n?.metadata?.name)));
          selfCheck.afterTick();
        }
      },
    };
    const tickDuration = createTickDuration(c.resolutionMs / 1000);
    const manager = new ScrapeManager({
      scraper: tickScraper,
      store,
      nodes,
      nodeSelector: c.nodeSelector,
      resolutionMs: c.resolutionMs,
      tickDuration,
    });
    this.#manager = manager;
    const registry = newRegistry(scraper, tickDuration);

    const { bindAddress, port } = c.listener;
    const address = bindAddress.includes(":") ? `[${bindAddress}]:${port}` : `${bindAddress}:${port}`;
    const api = new MetricsApi({
      nodes,
      pods,
      metrics: store,
      nodeSelector: c.nodeSelector,
      serverAddress: address,
      protobuf: protobufEncoder,
      swapUsage: c.swapUsage,
      scrapeStatus: book,
      describer: store,
      otherGroups: [DIAGNOSTICS_GROUP],
      // Explained 404s: the pod as the API server has it, and the server's rhythm.
      lookupPod: boundedPodLookup((namespace, name, signal) => getPod(c.kube, namespace, name, signal)),
      resolutionMs: c.resolutionMs,
      startedAtMs,
    });
    const diagnostics = new DiagnosticsApi({
      nodes,
      nodeSelector: c.nodeSelector,
      scrapeStatus: book,
      selfCheck: this.#selfCheck,
      server: {
        name: hostname(),
        startedAtMs: performance.timeOrigin,
        version: versionText(c.version),
        resolutionMs: c.resolutionMs,
      },
      lastTick: () => manager.lastTick,
    });
    // The diagnostics group answers its own paths; everything else under /apis is the metrics API's.
    const apis = { handle: (req: ApiRequest) => diagnostics.handle(req) ?? api.handle(req) };
    const health = healthEndpoints({
      nodeSynced: () => nodes.hasSynced(),
      podSynced: () => pods.hasSynced(),
      podInformerStarted: () => pods.started,
      // Upstream needs pod metrics too, so a cluster with no Running pods never becomes ready (and an
      // APIService backed by it stays unavailable). We accept node metrics alone when the pod cache
      // holds no Running pod: there is nothing that could have pod metrics.
      storageReady: () => store.ready() || (store.nodeReady() && pods.size === 0),
      tickLastStartMs: () => manager.tickLastStartMs,
      resolutionMs: c.resolutionMs,
      shuttingDown: () => this.#shuttingDown,
    });

    this.#listener = await startServer({
      ...c.listener,
      auth: c.auth,
      health,
      api: apis,
      registry,
      // The per-node kubelet families: too large for prom-client's one-step render at 5,000 nodes.
      appendedMetrics: kubeletNodeFamilies,
      version: c.version,
      resources: METRICS_API_RESOURCES,
    });
    log.info(`Serving securely on ${address}`);
    selfCheck.start();
    void this.#scrapeOnceSynced(manager);
    // Everything the server runs is loaded by now: write Node's compile cache (when the launcher
    // enabled it) so that the next start, even after a kill, skips TypeScript stripping.
    flushCompileCache();
    if (c.caPem) {
      void publishCABundle(c.kube, c.caPem);
      void publishCABundle(c.kube, c.caPem, DIAGNOSTICS_APISERVICE, true);
    }
  }

  async #scrapeOnceSynced(manager: ScrapeManager): Promise<void> {
    const nodes = this.#nodes;
    const pods = this.#pods;
    if (!(nodes.hasSynced() && pods.hasSynced())) log.info("Waiting for node and pod caches to sync");
    await waitFor(() => nodes.hasSynced() && pods.hasSynced(), this.#stopping.signal);
    if (this.#stopping.signal.aborted) return;
    log.V(1).info("Caches synced", { nodes: nodes.size, pods: pods.size });
    this.#selfCheck.scrapingStarted();
    manager.start();
  }

  /**
   * Graceful shutdown, in k8s.io/apiserver's order: /readyz fails at once (the `shutdown` check);
   * after delayMs (--shutdown-delay-duration, default 0) of serving as usual, so that endpoints and
   * load balancers can take the pod out, the listener stops accepting connections and tells HTTP/2
   * clients with GOAWAY, requests in flight finish (for up to SHUTDOWN_DRAIN_MS) while the scrape
   * loop stops; then the watches and the kubelet connections (or the scrape thread) close.
   */
  async stop(delayMs = 0): Promise<void> {
    this.#shuttingDown = true;
    if (delayMs > 0 && this.#listener) await new Promise((r) => setTimeout(r, delayMs));
    this.#stopping.abort();
    this.#selfCheck.stop();
    const listener = this.#listener;
    const [, cut] = await Promise.all([
      this.#manager?.stop(),
      listener ? shutdownServer(listener, SHUTDOWN_DRAIN_MS) : 0,
    ]);
    if (cut > 0) log.info("Closed connections whose requests did not finish in time", { connections: cut });
    await Promise.allSettled([this.#nodes.stop(), this.#pods.stop(), this.#scraper?.close()]);
  }
}
