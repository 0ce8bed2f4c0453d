// The diagnostics.metrics-server.x-k8s.io/v1alpha1 API (docs/diagnostics.md): nodescrapes and
// serverstatuses, read-only and cluster-scoped, as a transport-independent request handler beside
// the metrics API. Discovery, errors and negotiation follow the metrics API's rules (and reuse its
// negotiation); objects are JSON or Table, never protobuf (protobuf-first clients also accept JSON).

import { negotiateDiscovery, negotiateObject, parseIncludeObject, wantsWatch } from "../api/index.ts";
import {
  type ApiRequest,
  type ApiResponse,
  type GroupDiscovery,
  groupDocument,
  internalError,
  JSON_CONTENT_TYPE,
  methodNotAllowed,
  notAcceptable,
  notFound,
  pathNotFound,
  resourceListDocument,
  statusResponse,
} from "../apiserver/index.ts";
import { goQuote } from "../go/index.ts";
import type { LabelSelector, Node, ObjectStore } from "../kube/index.ts";
import * as log from "../log/index.ts";
import type { ScrapeStatusReader } from "../storage/index.ts";
import {
  API_VERSION,
  compareViews,
  GROUP,
  type NodeScrapeJSON,
  type NodeScrapeView,
  nodeScrapeJSON,
  nodeScrapeView,
  type ServerInfo,
  type ServerStatusJSON,
  serverStatusJSON,
  type TickInfo,
  VERSION,
} from "./objects.ts";
import { nodeScrapeRow, serverStatusRow, type TableKind, type TableRow, tableJSON } from "./table.ts";
import type { SelfCheckReader } from "./types.ts";

export interface DiagnosticsApiDeps {
  nodes: ObjectStore<Node>;
  /** The server's --node-selector: nodes it leaves out are Excluded. */
  nodeSelector?: LabelSelector;
  /** Each node's latest scrape report; without it every selected node is Pending or NotReady. */
  scrapeStatus?: ScrapeStatusReader;
  /** The start-up self-check; without it a ServerStatus has no `checks`. */
  selfCheck?: SelfCheckReader;
  server: ServerInfo;
  /** The latest finished tick, undefined before the first. */
  lastTick?: () => TickInfo | undefined;
  /** Unix milliseconds; defaults to Date.now. */
  now?: () => number;
}

/** How one resource is read and shown. */
interface ResourceKind<T> {
  kind: TableKind;
  synced: () => boolean;
  /** One object by name (undefined: not found), or the list. */
  objects: (name: string | undefined) => T[] | undefined;
  row: (object: T, nowMs: number) => TableRow;
}

const READ_VERBS = ["get", "list"] as const;

/** The group as discovery describes it (the metrics API lists it in `/apis` too). */
export const DIAGNOSTICS_GROUP: GroupDiscovery = {
  group: GROUP,
  version: VERSION,
  resources: [
    {
      name: "nodescrapes",
      singularName: "nodescrape",
      namespaced: false,
      kind: "NodeScrape",
      verbs: READ_VERBS,
      responseKindQualified: true,
    },
    {
      name: "serverstatuses",
      singularName: "serverstatus",
      namespaced: false,
      kind: "ServerStatus",
      verbs: READ_VERBS,
      responseKindQualified: true,
    },
  ],
};

const GROUP_PATH = `/apis/${GROUP}`;
const GROUP_DOCUMENT = groupDocument(DIAGNOSTICS_GROUP);
const RESOURCE_LIST_DOCUMENT = resourceListDocument(DIAGNOSTICS_GROUP);

function json(body: string): ApiResponse {
  return { status: 200, contentType: JSON_CONTENT_TYPE, body };
}

/** `?watch=true` on a list: nothing here can be watched (the metrics API's wording). */
function watchNotSupported(resource: string): ApiResponse {
  return statusResponse(
    405,
    "MethodNotAllowed",
    `watch is not supported on resources of kind ${goQuote(`${resource}.${GROUP}`)}`,
    { group: GROUP, kind: resource },
  );
}

export class DiagnosticsApi {
  readonly #deps: DiagnosticsApiDeps;
  readonly #now: () => number;

  constructor(deps: DiagnosticsApiDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Answers a request under /apis/diagnostics.metrics-server.x-k8s.io; undefined for any other path. */
  handle(req: ApiRequest): ApiResponse | undefined {
    if (req.path !== GROUP_PATH && !req.path.startsWith(`${GROUP_PATH}/`)) return undefined;
    try {
      return this.#route(req);
    } catch (err) {
      log.error(err, "Failed serving diagnostics API request", { path: req.path });
      return internalError(err instanceof Error ? err.message : String(err));
    }
  }

  #route(req: ApiRequest): ApiResponse {
    let segments: string[];
    try {
      segments = req.path
        .slice(GROUP_PATH.length + 1)
        .split("/")
        .map(decodeURIComponent);
    } catch {
      return pathNotFound();
    }
    if (req.path === GROUP_PATH) return this.#discovery(req, GROUP_DOCUMENT);
    if (segments.some((s) => s === "")) return pathNotFound();
    const [version, resource, name, ...rest] = segments;
    if (version !== VERSION || rest.length > 0) return pathNotFound();
    if (resource === undefined) return this.#discovery(req, RESOURCE_LIST_DOCUMENT);
    if (resource === "nodescrapes") {
      return this.#resource(req, resource, name, {
        kind: "NodeScrape",
        synced: () => this.#deps.nodes.hasSynced(),
        objects: (name) => this.#nodeScrapes(name),
        row: nodeScrapeRow,
      });
    }
    if (resource === "serverstatuses") {
      return this.#resource(req, resource, name, {
        kind: "ServerStatus",
        // Served while the caches sync: a replica that cannot reach the API server says so here.
        synced: () => true,
        objects: (name) => this.#serverStatuses(name),
        row: serverStatusRow,
      });
    }
    return pathNotFound();
  }

  #discovery(req: ApiRequest, body: string): ApiResponse {
    if (req.method !== "GET") return methodNotAllowed();
    const n = negotiateDiscovery(req.accept, false);
    if (n.representation === "not-acceptable") return notAcceptable(n.supported);
    return json(body);
  }

  // As the generic server: the output type is negotiated before the request's parameters are read.
  #resource<T>(req: ApiRequest, resource: string, name: string | undefined, r: ResourceKind<T>): ApiResponse {
    if (req.method !== "GET") return methodNotAllowed();
    const n = negotiateObject(req.accept, false);
    if (n.representation === "not-acceptable") return notAcceptable(n.supported);
    const include = parseIncludeObject(req.query.get("includeObject"));
    if (typeof include !== "string") return include;
    if (name === undefined && wantsWatch(req.query)) return watchNotSupported(resource);
    if (!r.synced()) return statusResponse(503, "ServiceUnavailable", "the node cache has not synced yet");
    const objects = r.objects(name);
    if (objects === undefined) return notFound(resource, GROUP, name ?? "");
    if (n.representation === "table") {
      const nowMs = this.#now();
      const rows = objects.map((o) => r.row(o, nowMs));
      return json(tableJSON(r.kind, rows, n.version, include));
    }
    if (name !== undefined) return json(JSON.stringify(objects[0]) + "\n");
    const list = { kind: `${r.kind}List`, apiVersion: API_VERSION, metadata: {}, items: objects };
    return json(JSON.stringify(list) + "\n");
  }

  #views(): NodeScrapeView[] {
    const { nodes, nodeSelector, scrapeStatus } = this.#deps;
    return nodes.list().map((n) => nodeScrapeView(n, scrapeStatus?.status(n.metadata.name), nodeSelector));
  }

  /** One node's object, or all in list order; undefined for a node not in the cache. */
  #nodeScrapes(name: string | undefined): NodeScrapeJSON[] | undefined {
    const { nodes, nodeSelector, scrapeStatus } = this.#deps;
    if (name !== undefined) {
      const node = nodes.get(name);
      if (node === undefined) return undefined;
      return [nodeScrapeJSON(nodeScrapeView(node, scrapeStatus?.status(name), nodeSelector))];
    }
    return this.#views().sort(compareViews).map(nodeScrapeJSON);
  }

  /** This replica's one object; undefined for any other name. */
  #serverStatuses(name: string | undefined): ServerStatusJSON[] | undefined {
    const { server, lastTick, selfCheck } = this.#deps;
    if (name !== undefined && name !== server.name) return undefined;
    return [serverStatusJSON(server, this.#views(), lastTick?.(), selfCheck?.results())];
  }
}
