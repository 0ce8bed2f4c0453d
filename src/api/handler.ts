// The metrics.k8s.io/v1beta1 API as a transport-independent request handler: the server passes in
// method, path, query and Accept, and writes back status, content type and body. Routes and semantics
// follow kubernetes-sigs/metrics-server pkg/api plus the generic API server's rules (k8s.io/apiserver):
// discovery (legacy and aggregated), objects as JSON, Table or protobuf, Status errors, OpenAPI.
// docs/metrics-api.md describes them; nodes.ts and pods.ts serve the objects.

import {
  type ApiRequest,
  type ApiResponse,
  internalError,
  methodNotAllowed,
  notAcceptable,
  pathNotFound,
  statusResponse,
} from "../apiserver/index.ts";
import * as log from "../log/index.ts";
import type { MetricsApiDeps } from "./deps.ts";
import {
  aggregatedDiscoveryContentType,
  type DiscoveryDocuments,
  discoveryDocuments,
  GROUP,
  VERSION,
} from "./discovery.ts";
import { negotiateDiscovery, negotiateObject } from "./negotiation.ts";
import { getNode, listNodes } from "./nodes.ts";
import { OPENAPI_V3_GROUP_PATH, type OpenApiDocuments, openApiDocuments } from "./openapi.ts";
import { getPod, listPods } from "./pods.ts";
import { errorText, jsonResponse, type ObjectFormat } from "./responses.ts";

export class MetricsApi {
  readonly #deps: MetricsApiDeps;
  readonly #now: () => number;
  readonly #discovery: DiscoveryDocuments;
  readonly #openapi: OpenApiDocuments;

  constructor(deps: MetricsApiDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#discovery = discoveryDocuments(deps.serverAddress, deps.otherGroups);
    this.#openapi = openApiDocuments();
  }

  /**
   * Answers a request under /apis or /openapi; returns undefined for any other path (health,
   * /metrics, …).
   */
  handle(req: ApiRequest): ApiResponse | undefined {
    const { path } = req;
    const isApi = path === "/apis" || path.startsWith("/apis/");
    if (!isApi && path !== "/openapi" && !path.startsWith("/openapi/")) return undefined;
    try {
      return isApi ? this.#route(req) : this.#openApi(req);
    } catch (err) {
      log.error(err, "Failed serving metrics API request", { path: req.path });
      return internalError(errorText(err));
    }
  }

  #route(req: ApiRequest): ApiResponse {
    let segments: string[];
    try {
      segments = req.path.slice(1).split("/").map(decodeURIComponent);
    } catch {
      return pathNotFound(); // malformed percent-encoding cannot name anything we serve
    }
    if (segments.some((s) => s === "")) return pathNotFound();
    const [, group, version, ...rest] = segments;

    if (group === undefined) return this.#discoveryDoc(req, this.#discovery.groupList, true);
    if (group !== GROUP) return pathNotFound();
    if (version === undefined) return this.#discoveryDoc(req, this.#discovery.group, false);
    if (version !== VERSION) return pathNotFound();
    if (rest.length === 0) return this.#discoveryDoc(req, this.#discovery.resourceList, false);

    const deps = this.#deps;
    const clock = this.#now;
    if (rest[0] === "nodes" && rest.length <= 2) {
      return this.#resource(req, (format) =>
        rest.length === 1 ? listNodes(deps, clock, req, format) : getNode(deps, clock, req, format, rest[1]),
      );
    }
    if (rest[0] === "pods" && rest.length === 1) {
      return this.#resource(req, (format) => listPods(deps, clock, req, format, undefined));
    }
    if (rest[0] === "namespaces" && rest[2] === "pods" && rest.length <= 4) {
      const namespace = rest[1];
      return this.#resource(req, (format) =>
        rest.length === 3
          ? listPods(deps, clock, req, format, namespace)
          : getPod(deps, clock, req, format, namespace, rest[3]),
      );
    }
    return pathNotFound();
  }

  #discoveryDoc(req: ApiRequest, legacyBody: string, root: boolean): ApiResponse {
    if (req.method !== "GET") return methodNotAllowed();
    const n = negotiateDiscovery(req.accept, root);
    if (n.representation === "not-acceptable") return notAcceptable(n.supported);
    if (n.representation === "discovery-aggregated") {
      const body = n.version === "v2" ? this.#discovery.aggregatedV2 : this.#discovery.aggregatedV2beta1;
      return { status: 200, contentType: aggregatedDiscoveryContentType(n.version), body };
    }
    return jsonResponse(legacyBody);
  }

  /** `/openapi/v2`, `/openapi/v3` and the v3 group-version document; anything else there is a 404. */
  #openApi(req: ApiRequest): ApiResponse {
    let body: string;
    if (req.path === "/openapi/v2") body = this.#openapi.v2;
    else if (req.path === "/openapi/v3") body = this.#openapi.v3Index;
    else if (req.path === OPENAPI_V3_GROUP_PATH) body = this.#openapi.v3GroupVersion;
    else return pathNotFound();
    if (req.method !== "GET") return methodNotAllowed();
    return jsonResponse(body);
  }

  // The generic server negotiates the output type before it looks at the request's parameters.
  #resource(req: ApiRequest, serve: (format: ObjectFormat) => ApiResponse): ApiResponse {
    if (req.method !== "GET") return methodNotAllowed();
    const n = negotiateObject(req.accept, this.#deps.protobuf !== undefined);
    if (n.representation === "not-acceptable") return notAcceptable(n.supported);
    // The listener starts while the caches sync (an API server that is down at start must not keep
    // the process from serving its health checks); until both have synced, an empty list would be
    // a wrong answer, so the resources are unavailable, as an aggregated API without endpoints is.
    if (!this.#deps.nodes.hasSynced() || !this.#deps.pods.hasSynced()) {
      return statusResponse(503, "ServiceUnavailable", "the node and pod caches have not synced yet");
    }
    return serve(n);
  }
}
