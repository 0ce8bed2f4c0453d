// The metrics.k8s.io/v1beta1 API as a transport-independent request handler: the server passes in
// method, path, query and Accept, and writes back status, content type and body.
// Routes and semantics follow reference §3.1–§3.5 (upstream pkg/api plus generic-apiserver rules).

import type {
  FieldRequirement,
  LabelSelector,
  Node,
  ObjectStore,
  PartialObjectMetadata,
} from "../kube/index.ts";
import { parseFieldSelector, parseLabelSelector } from "../kube/index.ts";
import * as log from "../log/index.ts";
import { goQuote } from "../log/index.ts";
import type { MetricsReader, PodRef } from "../storage/index.ts";
import { type DiscoveryDocuments, discoveryDocuments, GROUP, VERSION } from "./discovery.ts";
import { labelsJSON } from "./json.ts";
import { metricFreshness } from "./metrics.ts";
import { acceptsDiscoveryJSON, acceptsObjectJSON, SUPPORTED_MEDIA_TYPES } from "./negotiation.ts";
import { listJSON, nodeMetricsJSON, objectContext, podMetricsJSON } from "./objects.ts";
import {
  type ApiResponse,
  badRequest,
  internalError,
  JSON_CONTENT_TYPE,
  methodNotAllowed,
  nodeMetricsNotFound,
  nodeNotFound,
  notAcceptable,
  pathNotFound,
  podMetricsNotFound,
  podNotFound,
  watchNotSupported,
} from "./status.ts";

export type { ApiResponse } from "./status.ts";

export interface ApiRequest {
  method: string;
  /** URL path without the query, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  accept: string | undefined;
}

export interface MetricsApiDeps {
  nodes: ObjectStore<Node>;
  /** The Running-pod metadata cache. */
  pods: ObjectStore<PartialObjectMetadata>;
  metrics: MetricsReader;
  /** The server's --node-selector; applied to node LIST only (a GET by name ignores it, as upstream). */
  nodeSelector?: LabelSelector;
  /** host:port advertised in /apis serverAddressByClientCIDRs. */
  serverAddress: string;
  /** Unix milliseconds; defaults to Date.now. */
  now?: () => number;
}

/** Parsed list options (labelSelector, fieldSelector, watch); limit/continue/resourceVersion are ignored. */
interface ListOptions {
  labels: LabelSelector | undefined;
  fields: FieldRequirement[];
}

// Fields each resource can be selected by. Node objects have no namespace, so for nodes
// `metadata.namespace` is accepted (apiserver's generic rule) but always reads as "".
const KNOWN_FIELDS = new Set(["metadata.name", "metadata.namespace"]);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function matchesFields(fields: readonly FieldRequirement[], name: string, namespace: string): boolean {
  for (const f of fields) {
    const actual = f.field === "metadata.name" ? name : namespace;
    if ((f.operator === "!=") === (actual === f.value)) return false;
  }
  return true;
}

/** The value an equality requirement pins `field` to, so a lookup can replace a scan. */
function pinnedValue(fields: readonly FieldRequirement[], field: string): string | undefined {
  return fields.find((f) => f.field === field && f.operator !== "!=")?.value;
}

function jsonResponse(body: string): ApiResponse {
  return { status: 200, contentType: JSON_CONTENT_TYPE, body };
}

export class MetricsApi {
  readonly #deps: MetricsApiDeps;
  readonly #now: () => number;
  readonly #discovery: DiscoveryDocuments;

  constructor(deps: MetricsApiDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#discovery = discoveryDocuments(deps.serverAddress);
  }

  /** Answers a request under /apis; returns undefined for any other path (health, /metrics, …). */
  handle(req: ApiRequest): ApiResponse | undefined {
    if (req.path !== "/apis" && !req.path.startsWith("/apis/")) return undefined;
    try {
      return this.#route(req);
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

    if (group === undefined) return this.#discoveryDoc(req, this.#discovery.groupList);
    if (group !== GROUP) return pathNotFound();
    if (version === undefined) return this.#discoveryDoc(req, this.#discovery.group);
    if (version !== VERSION) return pathNotFound();
    if (rest.length === 0) return this.#discoveryDoc(req, this.#discovery.resourceList);

    if (rest[0] === "nodes" && rest.length <= 2) {
      return this.#resource(req, () => (rest.length === 1 ? this.#listNodes(req) : this.#getNode(rest[1])));
    }
    if (rest[0] === "pods" && rest.length === 1) {
      return this.#resource(req, () => this.#listPods(req, undefined));
    }
    if (rest[0] === "namespaces" && rest[2] === "pods" && rest.length <= 4) {
      const namespace = rest[1];
      return this.#resource(req, () =>
        rest.length === 3 ? this.#listPods(req, namespace) : this.#getPod(namespace, rest[3]),
      );
    }
    return pathNotFound();
  }

  #discoveryDoc(req: ApiRequest, body: string): ApiResponse {
    if (req.method !== "GET") return methodNotAllowed();
    if (!acceptsDiscoveryJSON(req.accept)) return notAcceptable(SUPPORTED_MEDIA_TYPES);
    return jsonResponse(body);
  }

  // The generic server negotiates the output type before it looks at the request's parameters.
  #resource(req: ApiRequest, serve: () => ApiResponse): ApiResponse {
    if (req.method !== "GET") return methodNotAllowed();
    if (!acceptsObjectJSON(req.accept)) return notAcceptable(SUPPORTED_MEDIA_TYPES);
    return serve();
  }

  /** Decodes list options in apiserver's order: selectors (400 on error), then `watch` (405). */
  #listOptions(req: ApiRequest, resource: string): ListOptions | ApiResponse {
    const labelText = req.query.get("labelSelector") ?? "";
    const fieldText = req.query.get("fieldSelector") ?? "";
    let labels: LabelSelector | undefined;
    let fields: FieldRequirement[];
    try {
      labels = labelText.trim() === "" ? undefined : parseLabelSelector(labelText);
      fields = parseFieldSelector(fieldText);
    } catch (err) {
      return badRequest(errorText(err));
    }
    if (labels?.empty) labels = undefined;
    for (const f of fields) {
      if (!KNOWN_FIELDS.has(f.field)) {
        return badRequest(
          `${goQuote(f.field)} is not a known field selector: only "metadata.name", "metadata.namespace"`,
        );
      }
    }
    // Go's query-parameter bool: absent, "0" or "false" (any case) is false; anything else, even "", is true.
    const watch = req.query.get("watch");
    if (watch !== null && watch !== "0" && watch.toLowerCase() !== "false")
      return watchNotSupported(resource);
    return { labels, fields };
  }

  #listNodes(req: ApiRequest): ApiResponse {
    const options = this.#listOptions(req, "nodes");
    if ("status" in options) return options;
    const { labels, fields } = options;
    const { nodes, nodeSelector } = this.#deps;
    let candidates: readonly (Node | undefined)[];
    try {
      const name = pinnedValue(fields, "metadata.name");
      candidates = name === undefined ? nodes.list() : [nodes.get(name)];
    } catch (err) {
      return this.#listerFailure("failed listing nodes", err);
    }
    const selected: Node[] = [];
    for (const node of candidates) {
      if (node === undefined) continue;
      const nodeLabels = node.metadata.labels;
      if (labels && !labels.matches(nodeLabels)) continue;
      if (nodeSelector && !nodeSelector.empty && !nodeSelector.matches(nodeLabels)) continue;
      if (!matchesFields(fields, node.metadata.name, "")) continue;
      selected.push(node);
    }
    selected.sort((a, b) => compareStrings(a.metadata.name, b.metadata.name));

    const now = this.#now();
    const ctx = objectContext(now);
    const points = this.#deps.metrics.getNodeMetrics(selected.map((n) => n.metadata.name));
    const items: string[] = [];
    for (let i = 0; i < selected.length; i++) {
      const point = points[i];
      if (!point) continue;
      const node = selected[i];
      items.push(nodeMetricsJSON(ctx, node.metadata.name, labelsJSON(node.metadata.labels), point));
      observeFreshness(now, point.timestampMs);
    }
    return jsonResponse(listJSON("NodeMetricsList", items) + "\n");
  }

  #getNode(name: string): ApiResponse {
    const node = this.#deps.nodes.get(name);
    if (!node) return nodeNotFound(name);
    const [point] = this.#deps.metrics.getNodeMetrics([name]);
    if (!point) return nodeMetricsNotFound(name);
    const now = this.#now();
    observeFreshness(now, point.timestampMs);
    const body = nodeMetricsJSON(objectContext(now), name, labelsJSON(node.metadata.labels), point);
    return jsonResponse(body + "\n");
  }

  #listPods(req: ApiRequest, urlNamespace: string | undefined): ApiResponse {
    const options = this.#listOptions(req, "pods");
    if ("status" in options) return options;
    const { labels, fields } = options;
    const { pods } = this.#deps;
    // Never scan the whole cluster when the URL or the field selector names one namespace.
    const namespace = urlNamespace ?? pinnedValue(fields, "metadata.namespace");
    const name = pinnedValue(fields, "metadata.name");
    let candidates: readonly (PartialObjectMetadata | undefined)[];
    try {
      if (namespace === undefined) candidates = pods.list();
      else if (name === undefined) candidates = pods.listNamespace(namespace);
      else candidates = [pods.get(`${namespace}/${name}`)];
    } catch (err) {
      return this.#listerFailure("failed listing pods", err);
    }
    const selected: PartialObjectMetadata[] = [];
    for (const pod of candidates) {
      if (pod === undefined) continue;
      const meta = pod.metadata;
      const podNamespace = meta.namespace ?? "";
      if (urlNamespace !== undefined && podNamespace !== urlNamespace) continue;
      if (labels && !labels.matches(meta.labels)) continue;
      if (!matchesFields(fields, meta.name, podNamespace)) continue;
      selected.push(pod);
    }
    selected.sort(
      (a, b) =>
        compareStrings(a.metadata.namespace ?? "", b.metadata.namespace ?? "") ||
        compareStrings(a.metadata.name, b.metadata.name),
    );

    const refs = new Array<PodRef>(selected.length);
    for (let i = 0; i < selected.length; i++) {
      const meta = selected[i].metadata;
      refs[i] = { namespace: meta.namespace ?? "", name: meta.name };
    }
    const now = this.#now();
    const ctx = objectContext(now);
    const points = this.#deps.metrics.getPodMetrics(refs);
    const items: string[] = [];
    for (let i = 0; i < selected.length; i++) {
      const point = points[i];
      if (!point) continue;
      const ref = refs[i];
      items.push(
        podMetricsJSON(ctx, ref.namespace, ref.name, labelsJSON(selected[i].metadata.labels), point),
      );
      observeFreshness(now, point.timestampMs);
    }
    return jsonResponse(listJSON("PodMetricsList", items) + "\n");
  }

  #getPod(namespace: string, name: string): ApiResponse {
    const pod = this.#deps.pods.get(`${namespace}/${name}`);
    if (!pod) return podNotFound(name);
    const [point] = this.#deps.metrics.getPodMetrics([{ namespace, name }]);
    if (!point) return podMetricsNotFound(namespace, name);
    const now = this.#now();
    observeFreshness(now, point.timestampMs);
    const body = podMetricsJSON(objectContext(now), namespace, name, labelsJSON(pod.metadata.labels), point);
    return jsonResponse(body + "\n");
  }

  #listerFailure(what: string, err: unknown): ApiResponse {
    log.error(err, "Failed listing objects for the metrics API", { what });
    return internalError(`${what}: ${errorText(err)}`);
  }
}

// A pod whose containers were all skipped has no timestamp (Go's zero time); upstream would record
// an age of ~56 years, which only pollutes +Inf, so such items are not observed.
function observeFreshness(nowMs: number, timestampMs: number): void {
  if (timestampMs > 0) metricFreshness.observe((nowMs - timestampMs) / 1000);
}
