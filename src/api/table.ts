// meta.k8s.io Table output for `kubectl get nodes.metrics.k8s.io` / `kubectl get podmetrics`
// (upstream's table convertor plus the generic server's `asTable`; docs/metrics-api.md#table).
// Columns come from the first item that has usage (its resource names, sorted), framed by Name and
// Window; each row is [name, one quantity per column, window]. Pods show the sum over containers.

import { type ApiResponse, badRequest } from "../apiserver/index.ts";
import { goJSONString } from "../go/index.ts";
import type { TableVersion } from "./negotiation.ts";
import type { UsageJSON } from "./objects.ts";

/** What each row carries in `object` (the `includeObject` query parameter). */
export type IncludeObject = "None" | "Metadata" | "Object";

export interface TableItem {
  name: string;
  /** Resource name → quantity string; empty for a pod with no containers. */
  usage: UsageJSON;
  /** Go duration string. */
  window: string;
  /** The item's `metadata` as JSON text. */
  metadataJSON: string;
  /** The whole object as JSON text; called only for includeObject=Object. */
  objectJSON: () => string;
}

/** Decodes `includeObject`; an unknown value is the 400 apiserver's TableOptions validation gives. */
export function parseIncludeObject(value: string | null): IncludeObject | ApiResponse {
  if (value === null || value === "" || value === "Metadata") return "Metadata";
  if (value === "None" || value === "Object") return value;
  return badRequest(
    `includeObject: Invalid value: ${goJSONString(value)}: must be 'Metadata', 'Object', 'None', or empty`,
  );
}

function columnJSON(name: string, format: string, description: string): string {
  return `{"name":${goJSONString(name)},"type":"string","format":"${format}","description":${goJSONString(description)},"priority":0}`;
}

function columnsJSON(resources: readonly string[]): string {
  const columns = [columnJSON("Name", "name", "Name of the resource")];
  for (const r of resources) columns.push(columnJSON(r, "quantity", ""));
  columns.push(columnJSON("Window", "duration", ""));
  return "[" + columns.join(",") + "]";
}

function rowObjectJSON(item: TableItem, version: TableVersion, include: IncludeObject): string {
  // Go writes a row's empty RawExtension as null (the field's omitempty does not apply to structs).
  if (include === "None") return "null";
  if (include === "Object") return item.objectJSON();
  return `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/${version}","metadata":${item.metadataJSON}}`;
}

function rowJSON(
  item: TableItem,
  resources: readonly string[] | undefined,
  version: TableVersion,
  include: IncludeObject,
): string {
  const cells = [goJSONString(item.name)];
  for (const r of resources ?? []) cells.push(goJSONString(item.usage[r] ?? "0"));
  cells.push(goJSONString(item.window));
  return `{"cells":[${cells.join(",")}],"object":${rowObjectJSON(item, version, include)}}`;
}

function tableHeadJSON(version: TableVersion, columns: string): string {
  return `{"kind":"Table","apiVersion":"meta.k8s.io/${version}","metadata":{},"columnDefinitions":${columns},"rows":`;
}

/**
 * A Table list written piece by piece: `add` returns the text to write for a batch of rows, `end`
 * the rest. The column definitions come before the rows but depend on the first row with usage, so
 * rows before it (pods without containers, rare) are held back until it is seen. The pieces
 * concatenated are exactly tableJSON of all the rows.
 */
export class TableWriter {
  readonly #version: TableVersion;
  readonly #include: IncludeObject;
  #resources: string[] | undefined;
  #columns = "null";
  /** Rows not yet written because the columns are not known yet. */
  #pending: string[] = [];
  #headWritten = false;

  constructor(version: TableVersion, include: IncludeObject) {
    this.#version = version;
    this.#include = include;
  }

  add(items: readonly TableItem[]): string {
    let text = "";
    for (const item of items) {
      if (this.#resources === undefined) {
        const keys = Object.keys(item.usage).sort();
        this.#columns = columnsJSON(keys);
        if (keys.length > 0) this.#resources = keys;
      }
      const row = rowJSON(item, this.#resources, this.#version, this.#include);
      if (this.#headWritten) {
        text += "," + row;
      } else if (this.#resources === undefined) {
        this.#pending.push(row);
      } else {
        this.#pending.push(row);
        text = tableHeadJSON(this.#version, this.#columns) + "[" + this.#pending.join(",");
        this.#pending = [];
        this.#headWritten = true;
      }
    }
    return text;
  }

  end(): string {
    if (this.#headWritten) return "]}\n";
    const rows = this.#pending.length === 0 ? "null" : "[" + this.#pending.join(",") + "]";
    this.#pending = [];
    return tableHeadJSON(this.#version, this.#columns) + rows + "}\n";
  }
}

/** The Table document (newline-terminated), for one object or a list. */
export function tableJSON(
  version: TableVersion,
  items: readonly TableItem[],
  include: IncludeObject,
): string {
  let resources: string[] | undefined;
  let columns = "null";
  const rows: string[] = [];
  for (const item of items) {
    // Upstream fixes the columns at the first item with any usage; until then (pods without
    // containers) each row is only [name, window] and the columns are just Name and Window.
    if (resources === undefined) {
      const keys = Object.keys(item.usage).sort();
      columns = columnsJSON(keys);
      if (keys.length > 0) resources = keys;
    }
    rows.push(rowJSON(item, resources, version, include));
  }
  return (
    `{"kind":"Table","apiVersion":"meta.k8s.io/${version}","metadata":{},` +
    `"columnDefinitions":${columns},"rows":${rows.length === 0 ? "null" : "[" + rows.join(",") + "]"}}\n`
  );
}
