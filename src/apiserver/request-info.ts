// Which requests the generic API server's request families count, and under which labels, as
// k8s.io/apiserver does: pkg/endpoints/installer.go wraps each resource route with its verb and
// scope (pkg/endpoints/metrics/metrics.go MonitorRequest), pkg/server/healthz/healthz.go wraps
// /healthz, /livez and /readyz, and pkg/endpoints/discovery/aggregated/handler.go the aggregated
// /apis document. Nothing else is counted there: a path no route serves (a 404 for an unknown path,
// /metrics, /version, legacy discovery, OpenAPI) and a request refused before routing (401, 403,
// 413, 414) never reach an instrumented handler. So every label value comes from a closed set:
// the served resources, three health paths, a fixed verb list.
//
// A request's label objects are built once per route, verb and dry-run value and then shared, so
// observing a request allocates nothing of ours.

/** One resource a handler serves with get and list (as metrics.k8s.io's nodes and pods). */
export interface ServedResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

/** Labels of apiserver_request_duration_seconds. */
export interface DurationLabels {
  readonly verb: string;
  readonly dry_run: string;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string;
  readonly scope: string;
  readonly component: string;
}

/** Labels of apiserver_request_total: the duration's plus the response code. */
export type TotalLabels = DurationLabels & { readonly code: string };

/** Labels of apiserver_response_sizes and apiserver_request_sli_duration_seconds (no dry_run). */
export type SizeLabels = Omit<DurationLabels, "dry_run">;

/** The label sets one request is observed with. */
export interface RequestSeries {
  readonly duration: DurationLabels;
  readonly size: SizeLabels;
  /** Upstream observes the SLI latency only for requests that are not dry runs. */
  readonly dryRun: boolean;
  total(code: number): TotalLabels;
}

/** What the dispatcher knows of a request once it is answered. */
export interface AnsweredRequest {
  method: string;
  /** The URL path as received (percent-encoded). */
  pathname: string;
  query: URLSearchParams;
  /** The request's Content-Type (APPLY is a PATCH with the apply-patch type). */
  contentType: string | undefined;
  /** The response's Content-Type: tells an aggregated discovery answer from a legacy one. */
  responseContentType: string | undefined;
}

const HEALTH_PATHS = ["/healthz", "/livez", "/readyz"];
const AGGREGATED_DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;";
const APPLY_PATCH_TYPE = "application/apply-patch+yaml";

// metrics.go validRequestMethods; any other verb is reported as "other".
const VALID_VERBS = new Set([
  "APPLY",
  "CONNECT",
  "CREATE",
  "DELETE",
  "DELETECOLLECTION",
  "GET",
  "LIST",
  "PATCH",
  "POST",
  "PROXY",
  "PUT",
  "UPDATE",
  "WATCH",
  "WATCHLIST",
]);

/** A route: the label values fixed by where it is installed. */
class Route {
  readonly #fixed: Omit<SizeLabels, "verb">;
  readonly #byVerb = new Map<string, Map<string, CachedSeries>>();

  constructor(fixed: Omit<SizeLabels, "verb">) {
    this.#fixed = fixed;
  }

  get scope(): string {
    return this.#fixed.scope;
  }

  series(verb: string, dryRun: string): RequestSeries {
    let byDryRun = this.#byVerb.get(verb);
    if (!byDryRun) {
      byDryRun = new Map();
      this.#byVerb.set(verb, byDryRun);
    }
    let s = byDryRun.get(dryRun);
    if (!s) {
      s = new CachedSeries({ verb, ...this.#fixed }, dryRun);
      byDryRun.set(dryRun, s);
    }
    return s;
  }
}

class CachedSeries implements RequestSeries {
  readonly duration: DurationLabels;
  readonly size: SizeLabels;
  readonly dryRun: boolean;
  readonly #byCode = new Map<number, TotalLabels>();

  constructor(size: SizeLabels, dryRun: string) {
    this.size = size;
    this.dryRun = dryRun !== "";
    this.duration = {
      verb: size.verb,
      dry_run: dryRun,
      group: size.group,
      version: size.version,
      resource: size.resource,
      subresource: size.subresource,
      scope: size.scope,
      component: size.component,
    };
  }

  total(code: number): TotalLabels {
    let labels = this.#byCode.get(code);
    if (!labels) {
      labels = { ...this.duration, code: String(code) };
      this.#byCode.set(code, labels);
    }
    return labels;
  }
}

interface ResourceRoutes {
  /** GET …/<resource>: every object (all namespaces for a namespaced resource), scope "cluster". */
  list: Route;
  /** GET …/namespaces/<ns>/<resource>, scope "namespace" (namespaced resources only). */
  namespaceList?: Route;
  /** GET …[/namespaces/<ns>]/<resource>/<name>, scope "resource". */
  get: Route;
}

const NO_RESOURCE = { group: "", version: "", resource: "" };

/**
 * The instrumented routes of one server: its resources' get and list, the health paths and the
 * aggregated discovery document. `match` finds the label sets a request is observed with.
 */
export class RequestRoutes {
  /** "/apis/<group>/<version>/" → resource name → its routes. */
  readonly #resources = new Map<string, Map<string, ResourceRoutes>>();
  readonly #health = new Map<string, Route>();
  readonly #aggregatedDiscovery = new Route({
    ...NO_RESOURCE,
    subresource: "/apis",
    scope: "",
    component: "apiserver",
  });

  constructor(resources: readonly ServedResource[]) {
    for (const r of resources) {
      const prefix = `/apis/${r.group}/${r.version}/`;
      let byName = this.#resources.get(prefix);
      if (!byName) {
        byName = new Map();
        this.#resources.set(prefix, byName);
      }
      const route = (scope: string) =>
        new Route({
          group: r.group,
          version: r.version,
          resource: r.resource,
          subresource: "",
          scope,
          component: "apiserver",
        });
      byName.set(r.resource, {
        list: route("cluster"),
        ...(r.namespaced ? { namespaceList: route("namespace") } : {}),
        get: route("resource"),
      });
    }
    // healthz.go passes no component for these.
    for (const path of HEALTH_PATHS)
      this.#health.set(path, new Route({ ...NO_RESOURCE, subresource: path, scope: "", component: "" }));
  }

  /** The label sets `req` is counted under, or undefined when no instrumented route served it. */
  match(req: AnsweredRequest): RequestSeries | undefined {
    const route = this.#route(req);
    if (!route) return undefined;
    return route.series(reportedVerb(req, route.scope), dryRunValue(req.query));
  }

  #route(req: AnsweredRequest): Route | undefined {
    const path = req.pathname;
    const health = this.#health.get(path);
    // The health handlers answer every method; the API's routes are GETs only.
    if (health) return health;
    if (req.method !== "GET") return undefined;
    if (path === "/apis")
      return req.responseContentType?.startsWith(AGGREGATED_DISCOVERY_TYPE)
        ? this.#aggregatedDiscovery
        : undefined;
    return this.#resourceRoute(path);
  }

  // /apis/<group>/<version>/<resource>[/<name>] or …/namespaces/<ns>/<resource>[/<name>], by
  // scanning for slashes rather than splitting, to allocate nothing.
  #resourceRoute(path: string): Route | undefined {
    if (!path.startsWith("/apis/")) return undefined;
    const groupEnd = path.indexOf("/", 6);
    const versionEnd = groupEnd < 0 ? -1 : path.indexOf("/", groupEnd + 1);
    if (versionEnd < 0) return undefined;
    const byName = this.#resources.get(path.slice(0, versionEnd + 1));
    if (!byName) return undefined;
    let start = versionEnd + 1;
    let namespaced = false;
    if (path.startsWith("namespaces/", start)) {
      const nsEnd = path.indexOf("/", start + 11);
      // "…/namespaces/<ns>" alone would be the namespaces resource, which no one here serves.
      if (nsEnd < 0 || nsEnd === start + 11) return undefined;
      namespaced = true;
      start = nsEnd + 1;
    }
    const resourceEnd = path.indexOf("/", start);
    const routes = byName.get(resourceEnd < 0 ? path.slice(start) : path.slice(start, resourceEnd));
    if (!routes || (namespaced && !routes.namespaceList)) return undefined;
    if (resourceEnd < 0) return namespaced ? routes.namespaceList : routes.list;
    // One more non-empty segment, the name; subresources are not served.
    const nameStart = resourceEnd + 1;
    if (nameStart === path.length || path.indexOf("/", nameStart) >= 0) return undefined;
    return routes.get;
  }
}

/**
 * The verb label: GET (and HEAD) become LIST below a named object, WATCH when the query asks to
 * watch, APPLY for an apply patch, "other" for verbs outside upstream's list (metrics.go
 * CanonicalVerb, CleanVerb, cleanVerb).
 */
function reportedVerb(req: AnsweredRequest, scope: string): string {
  const method = req.method.toUpperCase();
  let verb = method;
  if (method === "GET" || method === "HEAD") verb = scope !== "resource" && scope !== "" ? "LIST" : "GET";
  if ((method === "GET" || method === "LIST") && watchRequested(req.query)) verb = "WATCH";
  if (verb === "WATCHLIST") verb = "WATCH";
  if (verb === "PATCH" && req.contentType === APPLY_PATCH_TYPE) verb = "APPLY";
  return VALID_VERBS.has(verb) ? verb : "other";
}

/**
 * Whether a request asks to watch: the apiserver reads the first `watch` value as a boolean the
 * lenient way, anything but "0" and "false" is true.
 */
export function watchRequested(query: URLSearchParams): boolean {
  const value = query.get("watch");
  if (value === null) return false;
  const lower = value.toLowerCase();
  return lower !== "0" && lower !== "false";
}

/** The dry_run label: "" without dryRun, "All" when every value is All, else "invalid". */
function dryRunValue(query: URLSearchParams): string {
  if (!query.has("dryRun")) return "";
  for (const v of query.getAll("dryRun")) if (v !== "All") return "invalid";
  return "All";
}
