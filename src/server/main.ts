// metrics-server: the process. Parses upstream's flags, reads every file it was pointed at (so a bad
// flag or path exits 1 before anything starts), syncs the node and Running-pod caches, then starts the
// scrape loop and the HTTPS server (reference §0: nothing listens before the caches sync).
import { readFileSync } from "node:fs";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { MetricsApi, protobufEncoder, registerApiMetrics } from "../api/index.ts";
import {
  Credentials,
  KubeClient,
  loadRestConfig,
  newNodeReflector,
  newRunningPodReflector,
  parseLabelSelector,
} from "../kube/index.ts";
import * as log from "../log/index.ts";
import { kubeletNodeFamilies, registerScraperMetrics, WorkerScraper } from "../scraper/index.ts";
import { registerStorageMetrics, TwoPointStore } from "../storage/index.ts";
import { DelegatedAuth } from "./auth.ts";
import { generateServingCA, loadServingCert, readFileOrThrow } from "./certs.ts";
import { healthEndpoints } from "./health.ts";
import { ScrapeManager } from "./manager.ts";
import { createTickDuration, registerServerMetrics } from "./metrics.ts";
import { type Options, parseOptions } from "./options.ts";
import { startServer } from "./serve.ts";

function version(): { gitVersion: string } {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return { gitVersion: `v${pkg.version}` };
}

/** Names the serving cert covers: the bind address (unless a wildcard), localhost, and the service's DNS names. */
function servingHosts(bindAddress: string): string[] {
  const hosts = ["localhost", "127.0.0.1", "metrics-server.kube-system.svc", "metrics-server.kube-system"];
  if (bindAddress !== "0.0.0.0" && bindAddress !== "::") hosts.unshift(bindAddress);
  return hosts;
}

const APISERVICE_PATH = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io";

/**
 * Writes our CA into the APIService (spec.caBundle, insecureSkipTLSVerify false), retrying until it
 * sticks: the APIService may not exist yet when we start.
 */
async function publishCABundle(kube: KubeClient, caPem: string): Promise<void> {
  const caBundle = Buffer.from(caPem).toString("base64");
  for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 60_000)) {
    try {
      const current = await kube.getJSON<{ spec?: Record<string, unknown> }>(APISERVICE_PATH);
      if (current.spec?.caBundle === caBundle && current.spec?.insecureSkipTLSVerify !== true) return;
      const spec = { ...current.spec, caBundle, insecureSkipTLSVerify: false };
      await kube.putJSON(APISERVICE_PATH, { ...current, spec });
      log.info("Wrote the serving CA into the APIService caBundle", { apiservice: "v1beta1.metrics.k8s.io" });
      return;
    } catch (err) {
      log.error(err, "Failed to write the serving CA into the APIService; retrying", {
        retryIn: `${delayMs}ms`,
      });
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
}

async function waitFor(cond: () => boolean, signal: AbortSignal): Promise<void> {
  while (!cond() && !signal.aborted) await new Promise((r) => setTimeout(r, 100));
}

async function run(o: Options): Promise<void> {
  // Everything that can be wrong with the configuration is found here, before anything starts.
  const restConfig = loadRestConfig(o.kubeconfig || undefined);
  const nodeSelector = parseLabelSelector(o.nodeSelector);
  const authnConfig = o.authenticationKubeconfig ? loadRestConfig(o.authenticationKubeconfig) : restConfig;
  const authzConfig = o.authorizationKubeconfig ? loadRestConfig(o.authorizationKubeconfig) : restConfig;
  const kubeletCA = o.kubeletCertificateAuthority
    ? readFileOrThrow(o.kubeletCertificateAuthority, "--kubelet-certificate-authority")
    : o.kubeletCertificateAuthorityText
      ? Buffer.from(o.kubeletCertificateAuthorityText)
      : restConfig.ca;
  const kubeletCert = o.kubeletClientCertificate
    ? readFileOrThrow(o.kubeletClientCertificate, "--kubelet-client-certificate")
    : restConfig.cert;
  const kubeletKey = o.kubeletClientKey
    ? readFileOrThrow(o.kubeletClientKey, "--kubelet-client-key")
    : restConfig.key;
  // --manage-apiservice-ca-bundle: a CA of our own signs the serving cert, and its PEM goes into the
  // APIService so kube-apiserver verifies us instead of skipping verification.
  const servingCA =
    o.manageApiserviceCaBundle && !o.tlsCertFile
      ? await generateServingCA(servingHosts(o.bindAddress), o.certDir)
      : undefined;
  const serving =
    servingCA ??
    (await loadServingCert({
      certFile: o.tlsCertFile,
      keyFile: o.tlsPrivateKeyFile,
      certDir: o.certDir,
      hosts: [o.bindAddress],
    }));
  if (o.manageApiserviceCaBundle && o.tlsCertFile) {
    log.warning(
      "--manage-apiservice-ca-bundle is ignored with --tls-cert-file: the given cert's CA is not known",
    );
  }
  const sniCertKeys = o.tlsSniCertKeys.map((e) => ({
    names: e.names,
    cert: readFileOrThrow(e.certFile, "--tls-sni-cert-key"),
    key: readFileOrThrow(e.keyFile, "--tls-sni-cert-key"),
  }));
  if (o.kubeletInsecureTls) {
    log.warning("--kubelet-insecure-tls: kubelet serving certificates are not verified");
  }

  let shuttingDown = false;
  const stopping = new AbortController();

  // One credential source for both hops, as client-go shares one rest config: the API server and the
  // kubelets see the same bearer token (static, a rotating service-account file, or an exec plugin).
  const credentials = new Credentials(restConfig);
  const kube = new KubeClient(restConfig, { credentials });
  const authnClient = authnConfig === restConfig ? kube : new KubeClient(authnConfig);
  const authzClient = authzConfig === restConfig ? kube : new KubeClient(authzConfig);
  // Before anything else: a required lookup of the authentication ConfigMap that fails stops the start.
  const auth = await DelegatedAuth.start(
    {
      clientCaFile: o.clientCaFile,
      requestheaderClientCaFile: o.requestheaderClientCaFile,
      requestheaderAllowedNames: o.requestheaderAllowedNames,
      requestheaderUsernameHeaders: o.requestheaderUsernameHeaders,
      requestheaderGroupHeaders: o.requestheaderGroupHeaders,
      requestheaderExtraHeadersPrefix: o.requestheaderExtraHeadersPrefix,
      authenticationSkipLookup: o.authenticationSkipLookup,
      authenticationTolerateLookupFailure: o.authenticationTolerateLookupFailure,
      authenticationTokenWebhookCacheTtlMs: o.authenticationTokenWebhookCacheTtlMs,
      authorizationAlwaysAllowPaths: o.authorizationAlwaysAllowPaths,
      authorizationWebhookCacheAuthorizedTtlMs: o.authorizationWebhookCacheAuthorizedTtlMs,
      authorizationWebhookCacheUnauthorizedTtlMs: o.authorizationWebhookCacheUnauthorizedTtlMs,
    },
    authnClient,
    authzClient,
  );
  const nodes = newNodeReflector(kube);
  const pods = newRunningPodReflector(kube);
  nodes.start();
  pods.start();
  log.info("Waiting for node and pod caches to sync");
  await waitFor(() => nodes.hasSynced() && pods.hasSynced(), stopping.signal);
  log.V(1).info("Caches synced", { nodes: nodes.size, pods: pods.size });

  const store = new TwoPointStore({ resolutionMs: o.metricResolutionMs });
  // Kubelet requests (TLS, gzip) and decoding run in a worker thread, so a 5,000-node tick does not
  // stall API requests on this event loop (BENCHMARKS.md); logs and self-metrics come back here.
  const scraper = new WorkerScraper({
    ca: kubeletCA,
    cert: kubeletCert,
    key: kubeletKey,
    bearerToken: () => credentials.bearerToken(),
    insecureSkipVerify: o.kubeletInsecureTls,
    completelyInsecure: o.deprecatedKubeletCompletelyInsecure,
    addressTypes: o.kubeletPreferredAddressTypes,
    port: o.kubeletPort,
    useNodeStatusPort: o.kubeletUseNodeStatusPort,
    scheme: o.deprecatedKubeletCompletelyInsecure ? "http" : "https",
    requestTimeoutMs: o.kubeletRequestTimeoutMs,
    endpoint: o.kubeletEndpoint,
  });
  const tickDuration = createTickDuration(o.metricResolutionMs / 1000);
  const manager = new ScrapeManager({
    scraper,
    store,
    nodes,
    nodeSelector,
    resolutionMs: o.metricResolutionMs,
    tickDuration,
  });

  const registry = new Registry();
  registerScraperMetrics(registry);
  registerStorageMetrics(registry);
  registerApiMetrics(registry);
  registerServerMetrics(registry, tickDuration);
  // process_* and nodejs_* families: other prefixes than metrics_server_ (reference §4.3).
  collectDefaultMetrics({ register: registry });
  // The scrape worker's heap: the default nodejs_heap_* families describe this thread only.
  new Gauge({
    name: "nodejs_scraper_worker_heap_size_bytes",
    help: "V8 heap of the scrape worker thread in bytes, by kind (total, used, external).",
    labelNames: ["kind"] as const,
    registers: [registry],
    async collect() {
      const h = await scraper.heapStatistics();
      if (!h) return;
      this.set({ kind: "total" }, h.totalBytes);
      this.set({ kind: "used" }, h.usedBytes);
      this.set({ kind: "external" }, h.externalBytes);
    },
  });

  const address = o.bindAddress.includes(":")
    ? `[${o.bindAddress}]:${o.securePort}`
    : `${o.bindAddress}:${o.securePort}`;
  const api = new MetricsApi({
    nodes,
    pods,
    metrics: store,
    nodeSelector,
    serverAddress: address,
    protobuf: protobufEncoder,
    swapUsage: o.swapUsage,
  });
  const health = healthEndpoints({
    nodeSynced: () => nodes.hasSynced(),
    podSynced: () => pods.hasSynced(),
    // Upstream needs pod metrics too, so a cluster with no Running pods never becomes ready (and an
    // APIService backed by it stays unavailable). We accept node metrics alone when the pod cache holds
    // no Running pod: there is nothing that could have pod metrics.
    storageReady: () => store.ready() || (store.nodeReady() && pods.size === 0),
    tickLastStartMs: () => manager.tickLastStartMs,
    resolutionMs: o.metricResolutionMs,
    shuttingDown: () => shuttingDown,
  });

  manager.start();
  const server = await startServer({
    bindAddress: o.bindAddress,
    port: o.securePort,
    cert: serving.cert,
    key: serving.key,
    certFile: servingCA ? undefined : o.tlsCertFile || undefined,
    keyFile: servingCA ? undefined : o.tlsPrivateKeyFile || undefined,
    tlsMinVersion: o.tlsMinVersion || undefined,
    tlsCipherSuites: o.tlsCipherSuites,
    auth,
    health,
    api,
    registry,
    // The per-node kubelet families: too large for prom-client's one-step render at 5,000 nodes.
    appendedMetrics: kubeletNodeFamilies,
    version: version(),
    sniCertKeys,
    limits:
      o.http2MaxStreamsPerConnection > 0 ? { http2MaxConcurrentStreams: o.http2MaxStreamsPerConnection } : {},
  });
  log.info(`Serving securely on ${address}`);
  if (servingCA) void publishCABundle(kube, servingCA.caPem);

  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info("Shutting down", { signal });
    stopping.abort();
    const hardStop = setTimeout(() => process.exit(0), 5000);
    hardStop.unref();
    await manager.stop();
    await new Promise<void>((r) => server.close(() => r()));
    await Promise.allSettled([
      auth.stop(),
      nodes.stop(),
      pods.stop(),
      scraper.close(),
      kube.close(),
      authnClient === kube ? undefined : authnClient.close(),
      authzClient === kube ? undefined : authzClient.close(),
    ]);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

function main(): void {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (parsed.kind !== "run") {
    process.stdout.write(parsed.text);
    process.exit(0);
  }
  log.setVerbosity(parsed.options.verbosity);
  for (const w of parsed.warnings) log.warning(w);
  run(parsed.options).catch((err: unknown) => {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exit(1);
  });
}

main();
