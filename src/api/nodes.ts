// NodeMetrics: list and get, in JSON, Table or protobuf. Nodes are served in name order.

import type { ApiRequest, ApiResponse } from "../apiserver/index.ts";
import { labelsJSON } from "../go/index.ts";
import type { Node } from "../kube/index.ts";
import type { MetricsApiDeps } from "./deps.ts";
import { nodeNotFoundExplained } from "./explained.ts";
import { writeNodeMetricsJSON } from "./json-writer.ts";
import { compareStrings, listOptions, matchesFields, pinnedValue, sortedObjects } from "./list-options.ts";
import { observeFreshness } from "./monitoring.ts";
import {
  formatWindow,
  itemMetadataJSON,
  listJSON,
  METRICS_API_VERSION,
  type NodeSource,
  nodeMetricsJSON,
  nodeMetricsObject,
  type ObjectContext,
  objectContext,
  usageObject,
} from "./objects.ts";
import { jsonResponse, listerFailure, type ObjectFormat, protobufResponse } from "./responses.ts";
import { STREAM_MIN_ITEMS, streamList } from "./stream.ts";
import { parseIncludeObject, type TableItem, tableJSON } from "./table.ts";

type NodeItem = NodeSource;

function compareNodes(a: Node, b: Node): number {
  return compareStrings(a.metadata.name, b.metadata.name);
}

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

export function listNodes(
  deps: MetricsApiDeps,
  clock: () => number,
  req: ApiRequest,
  format: ObjectFormat,
): ApiResponse {
  const options = listOptions(req, "nodes");
  if ("status" in options) return options;
  const { labels, fields } = options;
  const { nodes } = deps;
  const nodeSelector = deps.nodeSelector?.empty ? undefined : deps.nodeSelector;
  let sorted: readonly Node[];
  try {
    const name = pinnedValue(fields, "metadata.name");
    sorted = sortedObjects(name === undefined ? nodes.list() : [nodes.get(name)], compareNodes);
  } catch (err) {
    return listerFailure("failed listing nodes", err);
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
  const now = clock();
  if (selected.length >= STREAM_MIN_ITEMS) {
    const streamed = streamList(deps, req, format, now, selected.length, {
      listKind: "NodeMetricsList",
      batch: (from, to) => nodeItems(deps, now, selected, from, to),
      tableItem: nodeTableItem,
      writeJSON: (w, b, item) => writeNodeMetricsJSON(w, b, item.name, item.labels, item.point),
      encodeItems: (encoder) => encoder?.encodeNodeListItems,
    });
    if (streamed) return streamed;
  }
  const items = nodeItems(deps, now, selected, 0, selected.length);
  return renderNodes(deps, req, format, now, items, true);
}

/** Nodes [from, to) of `nodes` that have metrics, with their points (observed as served). */
function nodeItems(
  deps: MetricsApiDeps,
  now: number,
  nodes: readonly Node[],
  from: number,
  to: number,
): NodeItem[] {
  const names = new Array<string>(to - from);
  for (let i = from; i < to; i++) names[i - from] = nodes[i].metadata.name;
  const points = deps.metrics.getNodeMetrics(names);
  const items: NodeItem[] = [];
  for (let i = 0; i < names.length; i++) {
    const point = points[i];
    if (!point) continue;
    items.push({ name: names[i], labels: nodes[from + i].metadata.labels, point });
    observeFreshness(now, point.timestampMs);
  }
  return items;
}

export function getNode(
  deps: MetricsApiDeps,
  clock: () => number,
  req: ApiRequest,
  format: ObjectFormat,
  name: string,
): ApiResponse {
  const node = deps.nodes.get(name);
  if (!node) return nodeNotFoundExplained(deps, clock, name, false);
  const [point] = deps.metrics.getNodeMetrics([name]);
  if (!point) return nodeNotFoundExplained(deps, clock, name, true);
  const now = clock();
  observeFreshness(now, point.timestampMs);
  return renderNodes(deps, req, format, now, [{ name, labels: node.metadata.labels, point }], false);
}

// Rendering happens after the lookup, as in the generic server: a missing object is a 404 even
// when the Table options are bad.
function renderNodes(
  deps: MetricsApiDeps,
  req: ApiRequest,
  format: ObjectFormat,
  now: number,
  items: readonly NodeItem[],
  isList: boolean,
): ApiResponse {
  const swap = deps.swapUsage === true;
  const ctx = objectContext(now, swap);
  const json = (item: NodeItem) => nodeMetricsJSON(ctx, item.name, labelsJSON(item.labels), item.point);
  if (format.representation === "table") {
    const include = parseIncludeObject(req.query.get("includeObject"));
    if (typeof include !== "string") return include;
    const rows = items.map((item) => nodeTableItem(ctx, item, swap));
    return jsonResponse(tableJSON(format.version, rows, include));
  }
  const encoder = deps.protobuf;
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
