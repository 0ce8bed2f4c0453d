// The three patch formats kube-apiserver accepts, as pure functions on JSON values:
// JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch (the Kubernetes
// format kubectl apply sends for built-in kinds, described in
// https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md).
// Lists merge by the keys of the field table (schema.ts).

import { ApiError } from "./errors.ts";
import { type FieldType, fieldOf, type ListType } from "./schema.ts";

type Json = unknown;
type JsonObject = Record<string, Json>;

function isObject(v: Json): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const badPatch = (message: string) => new ApiError(422, "Invalid", message);

/** obj[key] = value, also for a key named "__proto__" (JSON may carry one as an ordinary key). */
function setKey(obj: JsonObject, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** RFC 7386: objects merge key by key, null deletes a key, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = {};
  if (isObject(target)) for (const [k, v] of Object.entries(target)) setKey(out, k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setKey(out, k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
}

/** RFC 6901 pointer tokens. */
function pointer(path: unknown): string[] {
  if (typeof path !== "string" || (path !== "" && !path.startsWith("/"))) {
    throw badPatch(`invalid JSON pointer ${JSON.stringify(path)}`);
  }
  return path === ""
    ? []
    : path
        .slice(1)
        .split("/")
        .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** The container of the last token and that token (arrays: an index, or "-" to append). */
function locate(doc: Json, tokens: string[], path: string): { parent: JsonObject | Json[]; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, path, false)];
    else if (isObject(cur) && t in cur) cur = cur[t];
    else throw badPatch(`doc is missing path: "${path}"`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw badPatch(`doc is missing path: "${path}"`);
  return { parent: cur, key: tokens[tokens.length - 1] };
}

function arrayIndex(a: Json[], t: string, path: string, forAdd: boolean): number {
  if (forAdd && t === "-") return a.length;
  if (!/^(0|[1-9][0-9]*)$/.test(t)) throw badPatch(`invalid array index "${t}" in "${path}"`);
  const i = Number(t);
  if (i > a.length || (!forAdd && i === a.length))
    throw badPatch(`array index ${i} out of bounds in "${path}"`);
  return i;
}

function getAt(doc: Json, path: string): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return doc;
  const { parent, key } = locate(doc, tokens, path);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, path, false)];
  if (!(key in parent)) throw badPatch(`doc is missing path: "${path}"`);
  return parent[key];
}

function removeAt(doc: Json, path: string): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) throw badPatch("cannot remove the whole document");
  const { parent, key } = locate(doc, tokens, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, path, false), 1)[0];
  if (!(key in parent)) throw badPatch(`unable to remove nonexistent key "${key}": missing value`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = locate(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, path, !replace);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !(key in parent))
      throw badPatch(`replace operation does not apply: doc is missing key: ${path}`);
    parent[key] = value;
  }
  return doc;
}

/** RFC 6902: the operations applied in order to a copy of `doc`; a failed "test" is an error. */
export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops))
    throw new ApiError(400, "BadRequest", "a JSON patch must be an array of operations");
  let out = structuredClone(doc);
  for (const op of ops) {
    if (!isObject(op)) throw badPatch("every JSON patch operation must be an object");
    const path = op.path as string;
    switch (op.op) {
      case "add":
        out = addAt(out, path, structuredClone(op.value), false);
        break;
      case "replace":
        out = addAt(out, path, structuredClone(op.value), true);
        break;
      case "remove":
        removeAt(out, path);
        break;
      case "move": {
        const v = removeAt(out, op.from as string);
        out = addAt(out, path, v, false);
        break;
      }
      case "copy":
        out = addAt(out, path, structuredClone(getAt(out, op.from as string)), false);
        break;
      case "test":
        if (!deepEqual(getAt(out, path), op.value)) throw badPatch(`testing value ${path} failed`);
        break;
      default:
        throw badPatch(`unexpected kind of JSON patch operation: ${JSON.stringify(op.op)}`);
    }
  }
  return out;
}

const SET_ORDER = "$setElementOrder/";
const DELETE_FROM = "$deleteFromPrimitiveList/";

/**
 * Strategic merge patch of `original` (not modified) with `patch`, the object's type being `type`.
 * Maps merge; null deletes; lists whose field has patch strategy "merge" merge by their merge key (or
 * as a set of primitives), other lists are replaced. Directives: `$patch: replace|delete|merge`,
 * `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`.
 */
export function strategicMergePatch(original: Json, patch: Json, type: FieldType | undefined): Json {
  return mergeMap(isObject(original) ? original : {}, patch, type) ?? {};
}

function mergeMap(original: JsonObject, patch: Json, type: FieldType | undefined): JsonObject | undefined {
  if (!isObject(patch)) throw badPatch("a strategic merge patch must be a JSON object");
  const directive = patch.$patch;
  if (directive === "delete") return undefined;
  let out: JsonObject;
  if (directive === "replace") out = {};
  else if (directive === undefined || directive === "merge") out = { ...original };
  else throw badPatch(`unknown patch type: ${JSON.stringify(directive)}`);
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badPatch("$retainKeys must be a list of keys");
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith(SET_ORDER)) continue;
    if (k.startsWith(DELETE_FROM)) {
      const field = k.slice(DELETE_FROM.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) {
        out[field] = (out[field] as Json[]).filter((x) => !v.some((d) => deepEqual(d, x)));
      }
      continue;
    }
    const fieldType = fieldOf(type, k);
    const current = Object.hasOwn(out, k) ? out[k] : undefined;
    if (v === null) delete out[k];
    else if (isObject(v)) {
      const merged = mergeMap(isObject(current) ? current : {}, v, fieldType);
      if (merged === undefined) delete out[k];
      else setKey(out, k, merged);
    } else if (Array.isArray(v)) {
      const list = typeof fieldType === "object" && "list" in fieldType ? fieldType : undefined;
      setKey(
        out,
        k,
        list?.strategy?.includes("merge")
          ? mergeList(Array.isArray(current) ? current : [], v, list)
          : replaceList(v, list),
      );
    } else setKey(out, k, v);
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith(SET_ORDER) || !Array.isArray(order)) continue;
    const field = k.slice(SET_ORDER.length);
    const list = fieldOf(type, field);
    if (Array.isArray(out[field]) && typeof list === "object" && "list" in list) {
      out[field] = reorder(out[field] as Json[], order, list.mergeKey);
    }
  }
  return out;
}

/** A replaced list keeps no directive elements. */
function replaceList(patch: Json[], list: ListType | undefined): Json[] {
  return patch
    .filter((x) => !(isObject(x) && x.$patch !== undefined && Object.keys(x).length === 1))
    .map((x) => (isObject(x) && list ? (mergeMap({}, x, list.list) ?? {}) : structuredClone(x)));
}

function mergeList(original: Json[], patch: Json[], list: ListType): Json[] {
  if (patch.some((x) => isObject(x) && x.$patch === "replace")) return replaceList(patch, list);
  const key = list.mergeKey;
  if (!key) {
    // A set of primitives: the patch's values are added.
    const out = [...original];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(structuredClone(v));
    return out;
  }
  const out = original.map((x) => x);
  for (const p of patch) {
    if (!isObject(p)) throw badPatch(`a list merged by "${key}" needs objects, got ${JSON.stringify(p)}`);
    if (!(key in p)) throw badPatch(`map: ${JSON.stringify(p)} does not contain declared merge key: ${key}`);
    const i = out.findIndex((x) => isObject(x) && deepEqual(x[key], p[key]));
    if (p.$patch === "delete") {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    const merged = mergeMap(i >= 0 && isObject(out[i]) ? (out[i] as JsonObject) : {}, p, list.list);
    if (merged === undefined) {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = merged;
    else out.push(merged);
  }
  return out;
}

/** `$setElementOrder`: the listed elements in the listed order, then the rest in their order. */
function reorder(items: Json[], order: Json[], key: string | undefined): Json[] {
  const id = (x: Json) => (key && isObject(x) ? x[key] : x);
  const rank = (x: Json) => order.findIndex((o) => deepEqual(id(o), id(x)));
  const listed = items.filter((x) => rank(x) >= 0).sort((a, b) => rank(a) - rank(b));
  return [...listed, ...items.filter((x) => rank(x) < 0)];
}

export const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
] as const;

/** `current` with `patch` of content type `contentType` applied (a new object). */
export function applyPatch(
  contentType: string,
  current: Json,
  patch: Json,
  type: FieldType | undefined,
): Json {
  const media = contentType.split(";")[0].trim().toLowerCase();
  if (media === "application/json-patch+json") return jsonPatch(current, patch);
  if (media === "application/merge-patch+json") return mergePatch(current, patch);
  if (media === "application/strategic-merge-patch+json") return strategicMergePatch(current, patch, type);
  throw new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(", ")}`,
  );
}
