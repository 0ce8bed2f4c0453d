// A list request's options (label and field selectors, watch) and how lists apply them: field
// matching, equality lookups instead of scans, and the sorted order every list is served in.

import { type ApiRequest, type ApiResponse, badRequest } from "../apiserver/index.ts";
import { goQuote } from "../go/index.ts";
import {
  type FieldRequirement,
  type LabelSelector,
  parseFieldSelector,
  parseLabelSelector,
} from "../kube/index.ts";
import { watchNotSupported } from "./errors.ts";
import { errorText } from "./responses.ts";

/** Parsed list options (labelSelector, fieldSelector, watch); limit/continue/resourceVersion are ignored. */
export interface ListOptions {
  labels: LabelSelector | undefined;
  fields: FieldRequirement[];
}

// Fields each resource can be selected by. Node objects have no namespace, so for nodes
// `metadata.namespace` is accepted (apiserver's generic rule) but always reads as "".
const KNOWN_FIELDS = new Set(["metadata.name", "metadata.namespace"]);

/** Decodes list options in apiserver's order: selectors (400 on error), then `watch` (405). */
export function listOptions(req: ApiRequest, resource: string): ListOptions | ApiResponse {
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
  if (wantsWatch(req.query)) return watchNotSupported(resource);
  return { labels, fields };
}

/** `watch` as Go reads a query-parameter bool: absent, "0" or "false" (any case) is false; anything else, even "", is true. */
export function wantsWatch(query: URLSearchParams): boolean {
  const watch = query.get("watch");
  return watch !== null && watch !== "0" && watch.toLowerCase() !== "false";
}

export function matchesFields(fields: readonly FieldRequirement[], name: string, namespace: string): boolean {
  for (const f of fields) {
    const actual = f.field === "metadata.name" ? name : namespace;
    if ((f.operator === "!=") === (actual === f.value)) return false;
  }
  return true;
}

/** The value an equality requirement pins `field` to, so a lookup can replace a scan. */
export function pinnedValue(fields: readonly FieldRequirement[], field: string): string | undefined {
  return fields.find((f) => f.field === field && f.operator !== "!=")?.value;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// The reflector hands out the same array until its cache changes, so the sorted copy of each array is
// kept beside it: listing 150,000 pods then does not sort them again on every request.
const sortedCopies = new WeakMap<object, readonly object[]>();

/** `objects` without undefined entries, sorted; cached per array (never mutate either). */
export function sortedObjects<T extends object>(
  objects: readonly (T | undefined)[],
  compare: (a: T, b: T) => number,
): readonly T[] {
  const cached = sortedCopies.get(objects);
  if (cached !== undefined) return cached as readonly T[];
  const sorted = objects.filter((o): o is T => o !== undefined).sort(compare);
  sortedCopies.set(objects, sorted);
  return sorted;
}
