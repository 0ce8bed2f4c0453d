// PodMetrics: list (in a namespace or across all) and get, in JSON, Table or protobuf. Pods are served
// in namespace, then name order.

import type { ApiRequest, ApiResponse } from "../apiserver/index.ts";
import { labelsJSON } from "../go/index.ts";
import type { PartialObjectMetadata } from "../kube/index.ts";
import type { PodMetricsPoint } from "../storage/index.ts";
import type { MetricsApiDeps } from "./deps.ts";
import { podNotFoundExplained } from "./explained.ts";
import { writePodMetricsJSON } from "./json-writer.ts";
import {
  compareStrings,
  type ListOptions,
  listOptions,
  matchesFields,
  pinnedValue,
  sortedObjects,
} from "./list-options.ts";
import { observeFreshness } from "./monitoring.ts";
import {
  formatWindow,
  itemMetadataJSON,
  listJSON,
  METRICS_API_VERSION,
  type ObjectContext,
  objectContext,
  type PodSource,
  podMetricsJSON,
  podMetricsObject,
  usageObject,
} from "./objects.ts";
import { jsonResponse, listerFailure, type ObjectFormat, protobufResponse } from "./responses.ts";
import { STREAM_MIN_ITEMS, streamList } from "./stream.ts";
import { parseIncludeObject, type TableItem, tableJSON } from "./table.ts";

function comparePods(a: PartialObjectMetadata, b: PartialObjectMetadata): number {
  return (
    compareStrings(a.metadata.namespace ?? "", b.metadata.namespace ?? "") ||
    compareStrings(a.metadata.name, b.metadata.name)
  );
}

// Up to this many pods picked through a store's label index are sorted directly; beyond it the
// cached sorted list is scanned instead (sorting 100,000 pods on every request would cost far more).
const SORT_PICKED_MAX = 4096;

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

function podTableItem(ctx: ObjectContext, item: PodSource, swap: boolean): TableItem {
  return {
    name: item.name,
    usage: podUsageSum(item.point, swap),
    window: formatWindow(item.point.windowMs),
    metadataJSON: itemMetadataJSON(ctx, item.name, item.namespace, labelsJSON(item.labels)),
    objectJSON: () => podMetricsJSON(ctx, item.namespace, item.name, labelsJSON(item.labels), item.point),
  };
}

export function listPods(
  deps: MetricsApiDeps,
  clock: () => number,
  req: ApiRequest,
  format: ObjectFormat,
  urlNamespace: string | undefined,
): ApiResponse {
  const options = listOptions(req, "pods");
  if ("status" in options) return options;
  let selected: readonly PartialObjectMetadata[];
  try {
    selected = selectPods(deps, urlNamespace, options);
  } catch (err) {
    return listerFailure("failed listing pods", err);
  }
  const now = clock();
  if (selected.length >= STREAM_MIN_ITEMS) {
    const streamed = streamList(deps, req, format, now, selected.length, {
      listKind: "PodMetricsList",
      batch: (from, to) => podItems(deps, now, selected, from, to),
      tableItem: podTableItem,
      writeJSON: (w, b, item) =>
        writePodMetricsJSON(w, b, item.namespace, item.name, item.labels, item.point),
      encodeItems: (encoder) => encoder?.encodePodListItems,
    });
    if (streamed) return streamed;
  }
  const items = podItems(deps, now, selected, 0, selected.length);
  return renderPods(deps, req, format, now, items, true);
}

/** The pods a list serves, sorted by namespace then name (comparePods). */
function selectPods(
  deps: MetricsApiDeps,
  urlNamespace: string | undefined,
  options: ListOptions,
): readonly PartialObjectMetadata[] {
  const { labels, fields } = options;
  const { pods } = deps;
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
  // Without selectors, the candidates are the URL's namespace already (listNamespace): the cached
  // sorted array is served as it is, and storage remembers where its pods are (getListPodMetrics).
  const filtered = labels !== undefined || fields.length > 0;
  if (!filtered) return sorted;
  return sorted.filter(
    (pod) => (labels === undefined || labels.matches(pod.metadata.labels)) && inNamespaceAndFields(pod),
  );
}

/** Pods [from, to) of `pods` that have metrics, with their points (observed as served). */
function podItems(
  deps: MetricsApiDeps,
  now: number,
  pods: readonly PartialObjectMetadata[],
  from: number,
  to: number,
): PodSource[] {
  const points = deps.metrics.getListPodMetrics(pods, from, to);
  const items: PodSource[] = [];
  for (let i = 0; i < points.length; i++) {
    const point = points[i];
    if (!point) continue;
    const meta = pods[from + i].metadata;
    items.push({ namespace: meta.namespace ?? "", name: meta.name, labels: meta.labels, point });
    observeFreshness(now, point.timestampMs);
  }
  return items;
}

export function getPod(
  deps: MetricsApiDeps,
  clock: () => number,
  req: ApiRequest,
  format: ObjectFormat,
  namespace: string,
  name: string,
): ApiResponse {
  const pod = deps.pods.get(`${namespace}/${name}`);
  if (!pod) return podNotFoundExplained(deps, clock, namespace, name, false);
  const [point] = deps.metrics.getPodMetrics([{ namespace, name }]);
  if (!point) return podNotFoundExplained(deps, clock, namespace, name, true);
  const now = clock();
  observeFreshness(now, point.timestampMs);
  return renderPods(deps, req, format, now, [{ namespace, name, labels: pod.metadata.labels, point }], false);
}

// Rendering happens after the lookup, as in the generic server: a missing object is a 404 even
// when the Table options are bad.
function renderPods(
  deps: MetricsApiDeps,
  req: ApiRequest,
  format: ObjectFormat,
  now: number,
  items: readonly PodSource[],
  isList: boolean,
): ApiResponse {
  const swap = deps.swapUsage === true;
  const ctx = objectContext(now, swap);
  const json = (item: PodSource) =>
    podMetricsJSON(ctx, item.namespace, item.name, labelsJSON(item.labels), item.point);
  if (format.representation === "table") {
    const include = parseIncludeObject(req.query.get("includeObject"));
    if (typeof include !== "string") return include;
    const rows = items.map((item) => podTableItem(ctx, item, swap));
    return jsonResponse(tableJSON(format.version, rows, include));
  }
  const encoder = deps.protobuf;
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
