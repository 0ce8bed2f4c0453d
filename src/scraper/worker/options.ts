// WorkerScraper's options, and how they divide between the kubelet client and the Scraper (both built
// in the worker thread from plain data) and what stays on the main thread (functions: the token
// source and the report sinks).
import type { DuplicatePodSink } from "../batch.ts";
import type { KubeletClientOptions } from "../kubelet/index.ts";
import type { ScrapeReportSink, ScraperOptions } from "../scraper.ts";

export interface WorkerScraperOptions
  extends Omit<ScraperOptions, "client" | "random" | "now">,
    Omit<KubeletClientOptions, "bearerToken"> {
  /** Read on the main thread once per tick; the worker uses that token for the tick's requests. */
  bearerToken?: () => string | undefined | Promise<string | undefined>;
  /** A result message holds whole nodes up to about this many containers. Default 4096. */
  containersPerMessage?: number;
  /** How long a worker may keep running past the tick deadline before it is restarted. Default 2 s. */
  abortGraceMs?: number;
}

/** WorkerScraperOptions by who takes them: the kubelet client, the Scraper, and the rest. */
export function splitScraperOptions(opts: WorkerScraperOptions): {
  client: Omit<KubeletClientOptions, "bearerToken">;
  scraper: Omit<ScraperOptions, "client" | "random" | "now" | "onReport" | "onDuplicatePods">;
  bearerToken: WorkerScraperOptions["bearerToken"];
  onReport: ScrapeReportSink | undefined;
  onDuplicatePods: DuplicatePodSink | undefined;
  containersPerMessage: number | undefined;
  abortGraceMs: number | undefined;
} {
  const {
    bearerToken,
    containersPerMessage,
    abortGraceMs,
    addressTypes,
    port,
    useNodeStatusPort,
    scheme,
    requestTimeoutMs,
    maxConcurrency,
    endpoint,
    resourceRetryMs,
    onReport,
    onDuplicatePods,
    ...client
  } = opts;
  const scraper = {
    addressTypes: [...addressTypes],
    port,
    useNodeStatusPort,
    scheme,
    requestTimeoutMs,
    maxConcurrency,
    endpoint,
    resourceRetryMs,
  };
  return { client, scraper, bearerToken, onReport, onDuplicatePods, containersPerMessage, abortGraceMs };
}
