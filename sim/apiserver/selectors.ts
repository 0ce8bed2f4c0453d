// The simulator's own label and field selectors, parsed the way kube-apiserver parses them so that
// clients (kubectl, the metrics-server reflector) see the same filtering and the same 400 errors.
// sim/ shares no code with src/: this is a second, independent implementation on purpose.

export class SelectorError extends Error {}

export type LabelOperator = "=" | "!=" | "in" | "notin" | "exists" | "!exists" | "gt" | "lt";

export interface LabelRequirement {
  key: string;
  op: LabelOperator;
  values: string[];
}

export type LabelSelector = readonly LabelRequirement[];

// Qualified name: optional DNS-subdomain prefix "/" then a name of alphanumerics, '-', '_', '.'.
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const PREFIX_PART = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

function validateKey(key: string): void {
  const slash = key.indexOf("/");
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !PREFIX_PART.test(prefix))) {
    throw new SelectorError(
      `unable to parse requirement: invalid label key "${key}": prefix part must be a DNS subdomain`,
    );
  }
  if (!NAME_PART.test(name)) {
    throw new SelectorError(
      `unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function validateValue(key: string, value: string): void {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw new SelectorError(
      `unable to parse requirement: invalid label value: "${value}" for key "${key}": must be 63 characters or less and consist of alphanumerics, '-', '_' or '.'`,
    );
  }
}

// Splits on commas that are not inside a (...) value set.
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

function parseSet(key: string, rest: string): string[] {
  const m = /^\s*\((.*)\)\s*$/.exec(rest);
  if (!m) throw new SelectorError(`unable to parse requirement: found '${rest.trim()}', expected: '('`);
  const values = m[1].split(",").map((v) => v.trim());
  if (values.length === 1 && values[0] === "") values.length = 0;
  for (const v of values) validateValue(key, v);
  return values;
}

function parseRequirement(raw: string): LabelRequirement {
  const s = raw.trim();
  if (s === "") throw new SelectorError("unable to parse requirement: found '', expected: identifier");
  if (s.startsWith("!")) {
    const key = s.slice(1).trim();
    validateKey(key);
    return { key, op: "!exists", values: [] };
  }
  const set = /^(\S+)\s+(in|notin)\s*(\(.*)$/.exec(s);
  if (set) {
    validateKey(set[1]);
    const values = parseSet(set[1], set[3]);
    if (set[2] === "in" && values.length === 0) {
      throw new SelectorError(`unable to parse requirement: for 'in' operator, values set can't be empty`);
    }
    return { key: set[1], op: set[2] as "in" | "notin", values };
  }
  const cmp = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(s);
  if (cmp) {
    const [, key, opText, valueText] = cmp;
    validateKey(key);
    const value = valueText.trim();
    if (opText === ">" || opText === "<") {
      if (!/^-?\d+$/.test(value)) {
        throw new SelectorError(
          `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`,
        );
      }
      return { key, op: opText === ">" ? "gt" : "lt", values: [value] };
    }
    validateValue(key, value);
    return { key, op: opText === "!=" ? "!=" : "=", values: [value] };
  }
  validateKey(s);
  return { key: s, op: "exists", values: [] };
}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h,n>3`. Empty string = everything. */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.trim() === "") return [];
  return splitTopLevel(text).map(parseRequirement);
}

export function matchesLabels(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  for (const r of selector) {
    const has = Object.hasOwn(l, r.key);
    const v = has ? l[r.key] : undefined;
    switch (r.op) {
      case "=":
      case "in":
        if (!has || !r.values.includes(v!)) return false;
        break;
      case "!=":
      case "notin":
        if (has && r.values.includes(v!)) return false;
        break;
      case "exists":
        if (!has) return false;
        break;
      case "!exists":
        if (has) return false;
        break;
      case "gt":
      case "lt": {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        if (r.op === "gt" ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

export type FieldSelector = readonly FieldRequirement[];

/** Field labels kube-apiserver accepts, per resource (metadata.name is accepted for every resource). */
export const SUPPORTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  nodes: ["metadata.name", "spec.unschedulable"],
  pods: [
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
  ],
  services: ["metadata.name", "metadata.namespace"],
  endpoints: ["metadata.name", "metadata.namespace"],
  apiservices: ["metadata.name"],
};

// Field selector values escape '\', ',' and '=' with a backslash.
function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

function unescapeValue(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    if (v[i] === "\\") {
      const next = v[i + 1];
      if (next !== "\\" && next !== "," && next !== "=") {
        throw new SelectorError(`invalid field selector: invalid escape sequence in "${v}"`);
      }
      out += next;
      i++;
    } else out += v[i];
  }
  return out;
}

/**
 * Parses `spec.nodeName=node-1,status.phase!=Failed` for `resource` ("nodes", "pods", ...).
 * A field the resource does not index fails like kube-apiserver: `field label not supported: foo`.
 */
export function parseFieldSelector(text: string, resource: string): FieldSelector {
  if (text.trim() === "") return [];
  const supported = SUPPORTED_FIELDS[resource] ?? ["metadata.name"];
  const out: FieldRequirement[] = [];
  for (const part of splitUnescaped(text, ",")) {
    const m = /^([^=!]*?)\s*(==|!=|=)(.*)$/s.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1].trim();
    if (!supported.includes(field)) throw new SelectorError(`field label not supported: ${field}`);
    out.push({ field, op: m[2] === "!=" ? "!=" : "=", value: unescapeValue(m[3]) });
  }
  return out;
}

export function matchesFields(selector: FieldSelector, fields: Readonly<Record<string, string>>): boolean {
  for (const r of selector) {
    const v = fields[r.field] ?? "";
    if (r.op === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}
