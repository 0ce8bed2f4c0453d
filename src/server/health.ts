// /healthz, /livez and /readyz with the generic apiserver's check names, order and text format
// (reference §4.2), so probes, dashboards and upstream's e2e assertions read the same bodies.
import * as log from "../log/index.ts";

export interface HealthCheck {
  name: string;
  /** Returns undefined when healthy, or the reason it is not. */
  check(): string | undefined;
}

export interface HealthResponse {
  status: number;
  body: string;
}

export interface HealthEndpoints {
  healthz: HealthCheck[];
  livez: HealthCheck[];
  readyz: HealthCheck[];
}

const always = (name: string): HealthCheck => ({ name, check: () => undefined });

export interface HealthSources {
  /** False until the first node and pod lists have been applied. */
  nodeSynced(): boolean;
  podSynced(): boolean;
  /** Storage has something to serve (reference §2.5). */
  storageReady(): boolean;
  /** Start time (ms) of the last scrape tick, 0 before the first. */
  tickLastStartMs(): number;
  resolutionMs: number;
  shuttingDown(): boolean;
  now?: () => number;
}

export function healthEndpoints(src: HealthSources): HealthEndpoints {
  const now = src.now ?? Date.now;
  const base = [
    always("ping"),
    always("log"),
    always("poststarthook/max-in-flight-filter"),
    always("poststarthook/storage-object-count-tracker-hook"),
  ];
  const metadataInformerSync: HealthCheck = {
    name: "metadata-informer-sync",
    check: () => (src.podSynced() ? undefined : "1 informers not started yet: [/v1, Resource=pods]"),
  };
  const metricCollectionTimely: HealthCheck = {
    name: "metric-collection-timely",
    check: () => {
      const last = src.tickLastStartMs();
      if (last === 0) return undefined;
      return now() - last > 1.5 * src.resolutionMs ? "metric collection didn't finish on time" : undefined;
    },
  };
  const metricStorageReady: HealthCheck = {
    name: "metric-storage-ready",
    check: () => (src.storageReady() ? undefined : "no metrics to serve"),
  };
  const metricInformerSync: HealthCheck = {
    name: "metric-informer-sync",
    check: () => {
      if (!src.nodeSynced()) return "cache for node informer has not synced";
      if (!src.podSynced()) return "cache for pod informer has not synced";
      return undefined;
    },
  };
  const shutdown: HealthCheck = {
    name: "shutdown",
    check: () => (src.shuttingDown() ? "process is shutting down" : undefined),
  };
  return {
    healthz: [...base, metadataInformerSync],
    livez: [...base, metricCollectionTimely, metadataInformerSync],
    readyz: [...base, metricStorageReady, metricInformerSync, metadataInformerSync, shutdown],
  };
}

/**
 * Answers `/<endpoint>[/<check>]?verbose&exclude=…` in the generic apiserver's format.
 * Returns undefined when `path` is not a health path.
 */
export function serveHealth(
  endpoints: HealthEndpoints,
  path: string,
  query: URLSearchParams,
): HealthResponse | undefined {
  const m = /^\/(healthz|livez|readyz)(?:\/(.+))?$/.exec(path);
  if (!m) return undefined;
  const endpoint = m[1] as keyof HealthEndpoints;
  const checks = endpoints[endpoint];
  const sub = m[2];
  if (sub !== undefined) {
    const c = checks.find((x) => x.name === sub);
    if (!c) return { status: 404, body: "404 page not found\n" };
    const err = c.check();
    if (err === undefined) return { status: 200, body: "ok" };
    log.info("Failed probe", { probe: c.name, err });
    return { status: 500, body: `internal server error: ${err}\n` };
  }
  const excluded = new Set(
    query
      .getAll("exclude")
      .flatMap((e) => e.split(","))
      .filter((e) => e !== ""),
  );
  const verbose = query.has("verbose");
  let failed = false;
  const lines: string[] = [];
  for (const c of checks) {
    if (excluded.has(c.name)) {
      excluded.delete(c.name);
      lines.push(`[+]${c.name} excluded: ok`);
      continue;
    }
    const err = c.check();
    if (err === undefined) {
      lines.push(`[+]${c.name} ok`);
    } else {
      failed = true;
      lines.push(`[-]${c.name} failed: reason withheld`);
      log.info("Failed probe", { probe: c.name, err });
    }
  }
  if (excluded.size > 0) {
    const names = [...excluded].map((e) => JSON.stringify(e)).join(", ");
    lines.push(`warn: some health checks cannot be excluded: no matches for ${names}`);
  }
  if (failed) {
    return { status: 500, body: lines.join("\n") + `\n${endpoint} check failed\n` };
  }
  if (!verbose) return { status: 200, body: "ok" };
  return { status: 200, body: lines.join("\n") + `\n${endpoint} check passed\n` };
}
