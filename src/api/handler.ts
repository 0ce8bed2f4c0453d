// The metrics.k8s.io/v1beta1 API as a transport-independent request handler: the server passes in
// method, path, query and Accept, and writes back status, content type and body.
// Routes and semantics follow reference §3.1–§3.6 (upstream pkg/api plus generic-apiserver rules):
// discovery (legacy and aggregated), objects as JSON, Table or protobuf, Status errors, OpenAPI.

import {
  type ApiRequest,
  type ApiResponse,
  badRequest,
  internalError,
  JSON_CONTENT_TYPE,
  methodNotAllowed,
  notAcceptable,
  pathNotFound,
} from "../apiserver/index.ts";
import { goQuote, labelsJSON } from "../go/index.ts";
import type {
  FieldRequirement,
  LabelSelector,
  Node,
  ObjectStore,
  PartialObjectMetadata,
} from "../kube/index.ts";
import { parseFieldSelector, parseLabelSelector } from "../kube/index.ts";
import * as log from "../log/index.ts";
import type { MetricsReader, NodeMetricsPoint, PodMetricsPoint, PodRef } from "../storage/index.ts";
import {
  aggregatedDiscoveryContentType,
  type DiscoveryDocuments,
  discoveryDocuments,
  GROUP,
  VERSION,
} from "./discovery.ts";
import {
  nodeMetricsNotFound,
  nodeNotFound,
  podMetricsNotFound,
  podNotFound,
  watchNotSupported,
} from "./errors.ts";
import { metricFreshness } from "./monitoring.ts";
import { type Negotiation, negotiateDiscovery, negotiateObject, PROTOBUF_MEDIA_TYPE } from "./negotiation.ts";
import {
  formatWindow,
  itemMetadataJSON,
  listHeadJSON,
  listJSON,
  METRICS_API_VERSION,
  type NodeMetricsJSON,
  type NodeMetricsListJSON,
  nodeMetricsJSON,
  nodeMetricsObject,
  objectContext,
  type PodMetricsJSON,
  type PodMetricsListJSON,
  podMetricsJSON,
  podMetricsObject,
  usageObject,
} from "./objects.ts";
import { OPENAPI_V3_GROUP_PATH, type OpenApiDocuments, openApiDocuments } from "./openapi.ts";
import { bufferedListChunks, ITEMS_PER_CHUNK, listChunks, STREAM_MIN_ITEMS } from "./stream.ts";
import { parseIncludeObject, type TableItem, TableWriter, tableJSON } from "./table.ts";

/** Protobuf encoders for the four kinds (each returns the whole `k8s\0` envelope). */
export interface ProtobufEncoder {
  encodeNodeMetrics(o: NodeMetricsJSON): Uint8Array;
  encodeNodeMetricsList(o: NodeMetricsListJSON): Uint8Array;
  encodePodMetrics(o: PodMetricsJSON): Uint8Array;
  encodePodMetricsList(o: PodMetricsListJSON): Uint8Array;
  /**
   * Optional, for large lists encoded in batches (all three or none): a batch of items as the list's
   * `items` fields, and the bytes around all of them given their total length. Head, batches and
   * tail concatenated equal the one-shot list encoding. Without them, lists are encoded in one step.
   */
  encodeNodeMetricsListItems?(items: readonly NodeMetricsJSON[]): Uint8Array;
  encodePodMetricsListItems?(items: readonly PodMetricsJSON[]): Uint8Array;
  encodeListEnvelope?(
    kind: "NodeMetricsList" | "PodMetricsList",
    itemsByteLength: number,
  ): { head: Uint8Array; tail: Uint8Array };
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
  /**
   * Enables `application/vnd.kubernetes.protobuf` for NodeMetrics/PodMetrics and their lists.
   * Without it, protobuf-first clients (`application/vnd.kubernetes.protobuf, *\/*`) get JSON.
   */
  protobuf?: ProtobufEncoder;
  /**
   * --swap-usage: add `swap` to usage where the kubelet reports it (kubectl top --show-swap reads it;
   * the HPA ignores unknown keys). Off by default: upstream never serves it.
   */
  swapUsage?: boolean;
}

/** One node to serve: its cache labels and its metrics point. */
interface NodeItem {
  name: string;
  labels: Readonly<Record<string, string>> | undefined;
  point: NodeMetricsPoint;
}

interface PodItem {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>> | undefined;
  point: PodMetricsPoint;
}

/** The representation chosen for an object response (never "not-acceptable" here). */
type ObjectFormat = Exclude<Negotiation, { representation: "not-acceptable" }>;

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

function compareNodes(a: Node, b: Node): number {
  return compareStrings(a.metadata.name, b.metadata.name);
}

function comparePods(a: PartialObjectMetadata, b: PartialObjectMetadata): number {
  return (
    compareStrings(a.metadata.namespace ?? "", b.metadata.namespace ?? "") ||
    compareStrings(a.metadata.name, b.metadata.name)
  );
}

// The reflector hands out the same array until its cache changes, so the sorted copy of each array is
// kept beside it: listing 150,000 pods then does not sort them again on every request.
const sortedCopies = new WeakMap<object, readonly object[]>();

/** `objects` without undefined entries, sorted; cached per array (never mutate either). */
function sortedObjects<T extends object>(
  objects: readonly (T | undefined)[],
  compare: (a: T, b: T) => number,
): readonly T[] {
  const cached = sortedCopies.get(objects);
  if (cached !== undefined) return cached as readonly T[];
  const sorted = objects.filter((o): o is T => o !== undefined).sort(compare);
  sortedCopies.set(objects, sorted);
  return sorted;
}

// Up to this many pods picked through a store's label index are sorted directly; beyond it the
// cached sorted list is scanned instead (sorting 100,000 pods on every request would cost far more).
const SORT_PICKED_MAX = 4096;

/** The value an equality requirement pins `field` to, so a lookup can replace a scan. */
function pinnedValue(fields: readonly FieldRequirement[], field: string): string | undefined {
  return fields.find((f) => f.field === field && f.operator !== "!=")?.value;
}

function jsonResponse(body: string): ApiResponse {
  return { status: 200, contentType: JSON_CONTENT_TYPE, body };
}

function protobufResponse(bytes: Uint8Array): ApiResponse {
  return {
    status: 200,
    contentType: PROTOBUF_MEDIA_TYPE,
    body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}

/** A pod's Table usage: the sum over its containers ({} when it has none). */
function podUsageSum(point: PodMetricsPoint, includeSwap: boolean): Record<string, string> {
  if (point.containers.length === 0) return {};
  let cpu = 0;
  let memory = 0;
  let swap: number | undefined = 0;
  for (const c of point.containers) {
    cpu += c.cpuNanocores;
    memory += c.memoryBytes;
    swap = swap === undefined || c.swapBytes === undefined ? undefined : swap + c.swapBytes;
  }
  return usageObject(cpu, memory, includeSwap ? swap : undefined);
}

type ObjectContext = ReturnType<typeof objectContext>;

function nodeTableItem(ctx: ObjectContext, item: NodeItem, swap: boolean): TableItem {
  return {
    name: item.name,
    usage: usageObject(
      item.point.cpuNanocores,
      item.point.memoryBytes,
      swap ? item.point.swapBytes : undefined,
    ),
    window: formatWindow(item.point.windowMs),
    metadataJSON: itemMetadataJSON(ctx, item.name, undefined, labelsJSON(item.labels)),
    objectJSON: () => nodeMetricsJSON(ctx, item.name, labelsJSON(item.labels), item.point),
  };
}

function podTableItem(ctx: ObjectContext, item: PodItem, swap: boolean): TableItem {
  return {
    name: item.name,
    usage: podUsageSum(item.point, swap),
    window: formatWindow(item.point.windowMs),
    metadataJSON: itemMetadataJSON(ctx, item.name, item.namespace, labelsJSON(item.labels)),
    objectJSON: () => podMetricsJSON(ctx, item.namespace, item.name, labelsJSON(item.labels), item.point),
  };
}

/** A Table list's text, one batch of rows per chunk (an empty chunk still lets other requests run). */
function* tableChunks(
  count: number,
  table: TableWriter,
  rowsOf: (from: number, to: number) => TableItem[],
): Generator<string, void, undefined> {
  for (let from = 0; from < count; from += ITEMS_PER_CHUNK) {
    yield table.add(rowsOf(from, Math.min(count, from + ITEMS_PER_CHUNK)));
  }
  yield table.end();
}

function protobufChunksResponse(chunks: Iterable<Buffer>): ApiResponse {
  return { status: 200, contentType: PROTOBUF_MEDIA_TYPE, body: Buffer.alloc(0), chunks };
}

/** What #streamList needs to know about one kind of list (nodes or pods). */
interface ListKind<I, O> {
  listKind: "NodeMetricsList" | "PodMetricsList";
  /** Items [from, to) of the selection that have metrics. */
  batch(from: number, to: number): I[];
  tableItem(ctx: ObjectContext, item: I, swap: boolean): TableItem;
  object(now: number, item: I, swap: boolean): O;
  json(ctx: ObjectContext, item: I): string;
  encodeItems(encoder: ProtobufEncoder | undefined): ((objects: readonly O[]) => Uint8Array) | undefined;
}

export class MetricsApi {
  readonly #deps: MetricsApiDeps;
  readonly #now: () => number;
  readonly #discovery: DiscoveryDocuments;
  readonly #openapi: OpenApiDocuments;

  constructor(deps: MetricsApiDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#discovery = discoveryDocuments(deps.serverAddress);
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

    if (rest[0] === "nodes" && rest.length <= 2) {
      return this.#resource(req, (format) =>
        rest.length === 1 ? this.#listNodes(req, format) : this.#getNode(req, format, rest[1]),
      );
    }
    if (rest[0] === "pods" && rest.length === 1) {
      return this.#resource(req, (format) => this.#listPods(req, format, undefined));
    }
    if (rest[0] === "namespaces" && rest[2] === "pods" && rest.length <= 4) {
      const namespace = rest[1];
      return this.#resource(req, (format) =>
        rest.length === 3
          ? this.#listPods(req, format, namespace)
          : this.#getPod(req, format, namespace, rest[3]),
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
    return serve(n);
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

  #listNodes(req: ApiRequest, format: ObjectFormat): ApiResponse {
    const options = this.#listOptions(req, "nodes");
    if ("status" in options) return options;
    const { labels, fields } = options;
    const { nodes } = this.#deps;
    const nodeSelector = this.#deps.nodeSelector?.empty ? undefined : this.#deps.nodeSelector;
    let sorted: readonly Node[];
    try {
      const name = pinnedValue(fields, "metadata.name");
      sorted = sortedObjects(name === undefined ? nodes.list() : [nodes.get(name)], compareNodes);
    } catch (err) {
      return this.#listerFailure("failed listing nodes", err);
    }
    const filtered = labels !== undefined || nodeSelector !== undefined || fields.length > 0;
    const selected = !filtered
      ? sorted
      : sorted.filter((node) => {
          const nodeLabels = node.metadata.labels;
          if (labels && !labels.matches(nodeLabels)) return false;
          if (nodeSelector && !nodeSelector.matches(nodeLabels)) return false;
          return matchesFields(fields, node.metadata.name, "");
        });
    const now = this.#now();
    if (selected.length >= STREAM_MIN_ITEMS) {
      const streamed = this.#streamList(req, format, now, selected.length, {
        listKind: "NodeMetricsList",
        batch: (from, to) => this.#nodeItems(now, selected, from, to),
        tableItem: nodeTableItem,
        object: (at, item: NodeItem, swap) => nodeMetricsObject(at, item.name, item.labels, item.point, swap),
        json: (ctx, item) => nodeMetricsJSON(ctx, item.name, labelsJSON(item.labels), item.point),
        encodeItems: (encoder) => encoder?.encodeNodeMetricsListItems,
      });
      if (streamed) return streamed;
    }
    const items = this.#nodeItems(now, selected, 0, selected.length);
    return this.#renderNodes(req, format, now, items, true);
  }

  /** Nodes [from, to) of `nodes` that have metrics, with their points (observed as served). */
  #nodeItems(now: number, nodes: readonly Node[], from: number, to: number): NodeItem[] {
    const names = new Array<string>(to - from);
    for (let i = from; i < to; i++) names[i - from] = nodes[i].metadata.name;
    const points = this.#deps.metrics.getNodeMetrics(names);
    const items: NodeItem[] = [];
    for (let i = 0; i < names.length; i++) {
      const point = points[i];
      if (!point) continue;
      items.push({ name: names[i], labels: nodes[from + i].metadata.labels, point });
      observeFreshness(now, point.timestampMs);
    }
    return items;
  }

  /**
   * A NodeMetricsList / PodMetricsList in chunks, in any format; metrics are read per chunk (see
   * stream.ts). Undefined when the format cannot be streamed (an encoder without batch support).
   */
  #streamList<I, O>(
    req: ApiRequest,
    format: ObjectFormat,
    now: number,
    count: number,
    kind: ListKind<I, O>,
  ): ApiResponse | undefined {
    const swap = this.#deps.swapUsage === true;
    const ctx = objectContext(now, swap);
    if (format.representation === "table") {
      const include = parseIncludeObject(req.query.get("includeObject"));
      if (typeof include !== "string") return include;
      const table = new TableWriter(format.version, include);
      return {
        status: 200,
        contentType: JSON_CONTENT_TYPE,
        body: "",
        chunks: tableChunks(count, table, (from, to) =>
          kind.batch(from, to).map((item) => kind.tableItem(ctx, item, swap)),
        ),
      };
    }
    if (format.representation === "protobuf") {
      const encodeItems = kind.encodeItems(this.#deps.protobuf);
      const encodeListEnvelope = this.#deps.protobuf?.encodeListEnvelope;
      if (!encodeItems || !encodeListEnvelope) return undefined;
      return protobufChunksResponse(
        bufferedListChunks(
          count,
          (from, to) => encodeItems(kind.batch(from, to).map((item) => kind.object(now, item, swap))),
          (length) => encodeListEnvelope(kind.listKind, length),
        ),
      );
    }
    const renderBatch = (from: number, to: number): string => {
      let text = "";
      for (const item of kind.batch(from, to)) text += (text === "" ? "" : ",") + kind.json(ctx, item);
      return text;
    };
    return {
      status: 200,
      contentType: JSON_CONTENT_TYPE,
      body: listHeadJSON(kind.listKind),
      chunks: listChunks(count, renderBatch),
    };
  }

  #getNode(req: ApiRequest, format: ObjectFormat, name: string): ApiResponse {
    const node = this.#deps.nodes.get(name);
    if (!node) return nodeNotFound(name);
    const [point] = this.#deps.metrics.getNodeMetrics([name]);
    if (!point) return nodeMetricsNotFound(name);
    const now = this.#now();
    observeFreshness(now, point.timestampMs);
    return this.#renderNodes(req, format, now, [{ name, labels: node.metadata.labels, point }], false);
  }

  #listPods(req: ApiRequest, format: ObjectFormat, urlNamespace: string | undefined): ApiResponse {
    const options = this.#listOptions(req, "pods");
    if ("status" in options) return options;
    let selected: readonly PartialObjectMetadata[];
    try {
      selected = this.#selectPods(urlNamespace, options);
    } catch (err) {
      return this.#listerFailure("failed listing pods", err);
    }
    const now = this.#now();
    if (selected.length >= STREAM_MIN_ITEMS) {
      const streamed = this.#streamList(req, format, now, selected.length, {
        listKind: "PodMetricsList",
        batch: (from, to) => this.#podItems(now, selected, from, to),
        tableItem: podTableItem,
        object: (at, item: PodItem, swap) =>
          podMetricsObject(at, item.namespace, item.name, item.labels, item.point, swap),
        json: (ctx, item) =>
          podMetricsJSON(ctx, item.namespace, item.name, labelsJSON(item.labels), item.point),
        encodeItems: (encoder) => encoder?.encodePodMetricsListItems,
      });
      if (streamed) return streamed;
    }
    const items = this.#podItems(now, selected, 0, selected.length);
    return this.#renderPods(req, format, now, items, true);
  }

  /** The pods a list serves, sorted by namespace then name (comparePods). */
  #selectPods(urlNamespace: string | undefined, options: ListOptions): readonly PartialObjectMetadata[] {
    const { labels, fields } = options;
    const { pods } = this.#deps;
    // Never scan the whole cluster when the URL or the field selector names one namespace.
    const namespace = urlNamespace ?? pinnedValue(fields, "metadata.namespace");
    const name = pinnedValue(fields, "metadata.name");
    const inNamespaceAndFields = (pod: PartialObjectMetadata): boolean => {
      const meta = pod.metadata;
      const podNamespace = meta.namespace ?? "";
      if (urlNamespace !== undefined && podNamespace !== urlNamespace) return false;
      return matchesFields(fields, meta.name, podNamespace);
    };

    // With a label selector, a store that groups pods by their shared label maps judges each map
    // once (the HPA's call: O(label maps in the namespace + matches) instead of O(pods)).
    if (labels !== undefined && name === undefined) {
      const matches = (l: Readonly<Record<string, string>> | undefined): boolean => labels.matches(l);
      const picked =
        namespace === undefined ? pods.selectAll?.(matches) : pods.selectNamespace?.(namespace, matches);
      // With many matches, the scan below over the cached sorted list beats sorting them, and costs
      // little beside rendering thousands of items.
      if (picked !== undefined && picked.length <= SORT_PICKED_MAX)
        return picked.sort(comparePods).filter(inNamespaceAndFields);
    }

    let candidates: readonly (PartialObjectMetadata | undefined)[];
    if (namespace === undefined) candidates = pods.list();
    else if (name === undefined) candidates = pods.listNamespace(namespace);
    else candidates = [pods.get(`${namespace}/${name}`)];
    const sorted = sortedObjects(candidates, comparePods);
    const filtered = urlNamespace !== undefined || labels !== undefined || fields.length > 0;
    if (!filtered) return sorted;
    return sorted.filter(
      (pod) => (labels === undefined || labels.matches(pod.metadata.labels)) && inNamespaceAndFields(pod),
    );
  }

  /** Pods [from, to) of `pods` that have metrics, with their points (observed as served). */
  #podItems(now: number, pods: readonly PartialObjectMetadata[], from: number, to: number): PodItem[] {
    const refs = new Array<PodRef>(to - from);
    for (let i = from; i < to; i++) {
      const meta = pods[i].metadata;
      refs[i - from] = { namespace: meta.namespace ?? "", name: meta.name };
    }
    const points = this.#deps.metrics.getPodMetrics(refs);
    const items: PodItem[] = [];
    for (let i = 0; i < refs.length; i++) {
      const point = points[i];
      if (!point) continue;
      const ref = refs[i];
      items.push({ namespace: ref.namespace, name: ref.name, labels: pods[from + i].metadata.labels, point });
      observeFreshness(now, point.timestampMs);
    }
    return items;
  }

  #getPod(req: ApiRequest, format: ObjectFormat, namespace: string, name: string): ApiResponse {
    const pod = this.#deps.pods.get(`${namespace}/${name}`);
    if (!pod) return podNotFound(name);
    const [point] = this.#deps.metrics.getPodMetrics([{ namespace, name }]);
    if (!point) return podMetricsNotFound(namespace, name);
    const now = this.#now();
    observeFreshness(now, point.timestampMs);
    return this.#renderPods(
      req,
      format,
      now,
      [{ namespace, name, labels: pod.metadata.labels, point }],
      false,
    );
  }

  // Rendering happens after the lookup, as in the generic server: a missing object is a 404 even
  // when the Table options are bad.
  #renderNodes(
    req: ApiRequest,
    format: ObjectFormat,
    now: number,
    items: readonly NodeItem[],
    isList: boolean,
  ): ApiResponse {
    const swap = this.#deps.swapUsage === true;
    const ctx = objectContext(now, swap);
    const json = (item: NodeItem) => nodeMetricsJSON(ctx, item.name, labelsJSON(item.labels), item.point);
    if (format.representation === "table") {
      const include = parseIncludeObject(req.query.get("includeObject"));
      if (typeof include !== "string") return include;
      const rows = items.map((item) => nodeTableItem(ctx, item, swap));
      return jsonResponse(tableJSON(format.version, rows, include));
    }
    const encoder = this.#deps.protobuf;
    if (format.representation === "protobuf" && encoder) {
      const objects = items.map((item) => nodeMetricsObject(now, item.name, item.labels, item.point, swap));
      if (!isList) return protobufResponse(encoder.encodeNodeMetrics(objects[0]));
      return protobufResponse(
        encoder.encodeNodeMetricsList({
          kind: "NodeMetricsList",
          apiVersion: METRICS_API_VERSION,
          metadata: {},
          items: objects,
        }),
      );
    }
    if (!isList) return jsonResponse(json(items[0]) + "\n");
    return jsonResponse(listJSON("NodeMetricsList", items.map(json)) + "\n");
  }

  #renderPods(
    req: ApiRequest,
    format: ObjectFormat,
    now: number,
    items: readonly PodItem[],
    isList: boolean,
  ): ApiResponse {
    const swap = this.#deps.swapUsage === true;
    const ctx = objectContext(now, swap);
    const json = (item: PodItem) =>
      podMetricsJSON(ctx, item.namespace, item.name, labelsJSON(item.labels), item.point);
    if (format.representation === "table") {
      const include = parseIncludeObject(req.query.get("includeObject"));
      if (typeof include !== "string") return include;
      const rows = items.map((item) => podTableItem(ctx, item, swap));
      return jsonResponse(tableJSON(format.version, rows, include));
    }
    const encoder = this.#deps.protobuf;
    if (format.representation === "protobuf" && encoder) {
      const objects = items.map((item) =>
        podMetricsObject(now, item.namespace, item.name, item.labels, item.point, swap),
      );
      if (!isList) return protobufResponse(encoder.encodePodMetrics(objects[0]));
      return protobufResponse(
        encoder.encodePodMetricsList({
          kind: "PodMetricsList",
          apiVersion: METRICS_API_VERSION,
          metadata: {},
          items: objects,
        }),
      );
    }
    if (!isList) return jsonResponse(json(items[0]) + "\n");
    return jsonResponse(listJSON("PodMetricsList", items.map(json)) + "\n");
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
