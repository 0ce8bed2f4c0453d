// Accept-header negotiation. We produce JSON only (reference §3.3): every real client lists
// `application/json` or `*/*` somewhere, including protobuf-first clients such as kubectl top and the
// HPA (`application/vnd.kubernetes.protobuf, */*`).

interface MediaRange {
  type: string;
  subtype: string;
  /** Media-type parameters other than q, keys lower-cased. */
  params: Map<string, string>;
}

/** The media types a JSON-only server lists in its 406 message. */
export const SUPPORTED_MEDIA_TYPES: readonly string[] = ["application/json"];

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const entry of header.split(",")) {
    const [mediaType, ...rawParams] = entry.split(";");
    const slash = mediaType.indexOf("/");
    if (slash < 0) continue; // malformed entries are skipped, as Go's goautoneg does
    const type = mediaType.slice(0, slash).trim().toLowerCase();
    const subtype = mediaType
      .slice(slash + 1)
      .trim()
      .toLowerCase();
    const params = new Map<string, string>();
    let quality = 1;
    for (const raw of rawParams) {
      const eq = raw.indexOf("=");
      const key = (eq < 0 ? raw : raw.slice(0, eq)).trim().toLowerCase();
      const value = eq < 0 ? "" : raw.slice(eq + 1).trim();
      if (key === "q") quality = Number.parseFloat(value);
      else if (key !== "") params.set(key, value.replace(/^"(.*)"$/, "$1"));
    }
    if (quality > 0) ranges.push({ type, subtype, params }); // q=0 means "not this one"
  }
  return ranges;
}

function isJSONOrWildcard(range: MediaRange): boolean {
  if (range.type === "*") return range.subtype === "*";
  return range.type === "application" && (range.subtype === "*" || range.subtype === "json");
}

// `as`, `g` and `v` ask the apiserver to convert the object (e.g. `as=Table`), which we do not do yet.
function requestsConversion(range: MediaRange): boolean {
  return range.params.has("as") || range.params.has("g") || range.params.has("v");
}

/** True when a plain metrics.k8s.io object in JSON is acceptable (absent/empty Accept included). */
export function acceptsObjectJSON(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === "") return true;
  return parseAccept(accept).some((r) => isJSONOrWildcard(r) && !requestsConversion(r));
}

/**
 * True when a legacy JSON discovery document is acceptable. A JSON entry asking for the aggregated
 * form (`as=APIGroupDiscoveryList`) also qualifies: kubectl and the aggregator see the plain
 * `application/json` content type and fall back to legacy discovery (reference §3.2).
 */
export function acceptsDiscoveryJSON(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === "") return true;
  return parseAccept(accept).some(isJSONOrWildcard);
}
