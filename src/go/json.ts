// JSON text the way Go's encoding/json writes it, so our bodies match kube-apiserver's byte for byte.

// Go escapes these for safe embedding in HTML; JSON.stringify leaves them raw.
const GO_EXTRA_ESCAPES = /[<>&\u2028\u2029]/g;
const GO_ESCAPE_TEXT: Readonly<Record<string, string>> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

// Kubernetes names, namespaces, container names and most label keys/values use only these
// characters, none of which JSON or Go escapes: they are quoted as they are, without a scan by
// JSON.stringify and a second by the HTML-escape pattern.
const PLAIN_TEXT = /^[A-Za-z0-9 ._\-/:]*$/;

/** A JSON string literal as Go's json.Marshal writes it (HTML-safe escapes, lone surrogates → U+FFFD). */
export function goJSONString(s: string): string {
  if (PLAIN_TEXT.test(s)) return '"' + s + '"';
  const text = JSON.stringify(s.isWellFormed() ? s : s.toWellFormed());
  GO_EXTRA_ESCAPES.lastIndex = 0;
  return GO_EXTRA_ESCAPES.test(text) ? text.replace(GO_EXTRA_ESCAPES, (c) => GO_ESCAPE_TEXT[c]) : text;
}

// Label maps are immutable in the reflector caches (an update replaces the object), so their JSON
// can be computed once per map and reused by every request.
const labelsCache = new WeakMap<object, string>();

/**
 * A label map as a Go map[string]string marshals: keys sorted, HTML-safe escapes. Returns "" when
 * there are no labels (the field is `omitempty`).
 */
export function labelsJSON(labels: Readonly<Record<string, string>> | undefined): string {
  if (!labels) return "";
  const cached = labelsCache.get(labels);
  if (cached !== undefined) return cached;
  const keys = Object.keys(labels).sort();
  let text = "";
  if (keys.length > 0) {
    const parts = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      parts[i] = goJSONString(keys[i]) + ":" + goJSONString(String(labels[keys[i]]));
    }
    text = "{" + parts.join(",") + "}";
  }
  labelsCache.set(labels, text);
  return text;
}
