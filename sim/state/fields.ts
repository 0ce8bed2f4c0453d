// Server-side field validation (the fieldValidation query parameter): the fields of a posted object
// the field table (schema.ts) does not know, named as kube-apiserver's strict decoder names them
// ("spec.template.spec.containers[0].foo"), optionally dropped.

import { type FieldType, fieldOf } from "./schema.ts";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The paths of unknown fields in `value` of type `type`; with `drop`, they are also deleted from
 * `value` (fieldValidation=Ignore). Keys starting with "$" are strategic-merge-patch directives.
 */
export function unknownFields(
  type: FieldType | undefined,
  value: unknown,
  drop = false,
  path = "",
): string[] {
  if (type === undefined || type === "any" || typeof type === "string") return [];
  const out: string[] = [];
  if ("list" in type) {
    if (Array.isArray(value)) {
      value.forEach((x, i) => {
        out.push(...unknownFields(type.list, x, drop, `${path}[${i}]`));
      });
    }
    return out;
  }
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith("$")) continue;
    const at = path ? `${path}.${k}` : k;
    const field = "map" in type ? type.map : fieldOf(type, k);
    if (field === undefined) {
      out.push(at);
      if (drop) delete value[k];
      continue;
    }
    out.push(...unknownFields(field, v, drop, at));
  }
  return out;
}
