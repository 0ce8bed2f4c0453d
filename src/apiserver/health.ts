// /healthz, /livez and /readyz in the generic apiserver's text format (k8s.io/apiserver
// pkg/server/healthz), so probes, dashboards and upstream's e2e assertions read the same bodies.
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

/**
 * The generic apiserver's own checks, first on every endpoint. max-in-flight-filter is listed
 * because the filter is there (inflight.ts): upstream registers the hook whenever priority and
 * fairness is off, whatever the limits.
 */
export function genericChecks(): HealthCheck[] {
  const always = (name: string): HealthCheck => ({ name, check: () => undefined });
  return [
    always("ping"),
    always("log"),
    always("poststarthook/max-in-flight-filter"),
    always("poststarthook/storage-object-count-tracker-hook"),
  ];
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
