// Accept-header negotiation, following kube-apiserver's rules (apiserver `negotiation` package over
// Go's goautoneg): entries are ranked by q (then specific types before wildcards, otherwise in header
// order); the first entry that names a media type we can produce, with parameters we can honour,
// wins. `*/*` and `application/*` mean JSON, the first serializer. Parameters `as`, `g` and `v` ask
// for a conversion (Table, aggregated discovery); an entry asking for one we cannot do is skipped,
// so the next entry decides. Nothing acceptable → 406 listing what we produce.

export const JSON_MEDIA_TYPE = "application/json";
export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

export type TableVersion = "v1" | "v1beta1";
export type DiscoveryVersion = "v2" | "v2beta1";

export type Negotiation =
  | { representation: "json" | "protobuf" | "discovery-legacy" }
  | { representation: "table"; version: TableVersion }
  | { representation: "discovery-aggregated"; version: DiscoveryVersion }
  | { representation: "not-acceptable"; supported: readonly string[] };

interface MediaRange {
  type: string;
  subtype: string;
  quality: number;
  /** Media-type parameters other than q, keys lower-cased. */
  params: Map<string, string>;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const entry of header.split(",")) {
    const [mediaType, ...rawParams] = entry.split(";");
    const slash = mediaType.indexOf("/");
    const type = (slash < 0 ? mediaType : mediaType.slice(0, slash)).trim().toLowerCase();
    let subtype: string;
    if (slash >= 0)
      subtype = mediaType
        .slice(slash + 1)
        .trim()
        .toLowerCase();
    else if (type === "*")
      subtype = "*"; // goautoneg reads a bare `*` as `*/*`
    else continue; // malformed entries are skipped, as goautoneg does
    const params = new Map<string, string>();
    let quality = 1;
    for (const raw of rawParams) {
      const eq = raw.indexOf("=");
      if (eq < 0) continue; // goautoneg ignores parameters without a value
      const key = raw.slice(0, eq).trim().toLowerCase();
      const value = raw.slice(eq + 1).trim();
      if (key === "q") {
        const q = Number.parseFloat(value);
        quality = Number.isNaN(q) ? 0 : q;
      } else params.set(key, value.replace(/^"(.*)"$/, "$1"));
    }
    // q=0 means "not this one" (RFC 9110). goautoneg keeps such entries; honouring the client is safer.
    if (quality > 0) ranges.push({ type, subtype, quality, params });
  }
  // Stable: equal ranks keep header order.
  return ranges.sort(
    (a, b) =>
      b.quality - a.quality ||
      Number(a.type === "*") - Number(b.type === "*") ||
      Number(a.subtype === "*") - Number(b.subtype === "*"),
  );
}

/** Whether `range` names the serializer `mediaType` (exactly, by `type/*`, or by `*` / `*` ). */
function names(range: MediaRange, mediaType: string): boolean {
  const [type, subtype] = mediaType.split("/");
  if (range.type === "*" && range.subtype === "*") return true;
  return range.type === type && (range.subtype === "*" || range.subtype === subtype);
}

interface Conversion {
  kind: string;
  group: string;
  version: string;
}

/**
 * The conversion an entry asks for (undefined for none), or "reject" when it carries a parameter
 * that makes it unservable here (a stream other than watch, a server-version pin).
 */
function conversionOf(range: MediaRange): Conversion | undefined | "reject" {
  const stream = range.params.get("stream");
  if (stream && stream !== "watch") return "reject";
  if (range.params.get("sv")) return "reject";
  const kind = range.params.get("as");
  const group = range.params.get("g");
  const version = range.params.get("v");
  if (kind === undefined && group === undefined && version === undefined) return undefined;
  return { kind: kind ?? "", group: group ?? "", version: version ?? "" };
}

function tableVersion(c: Conversion): TableVersion | undefined {
  if (c.kind !== "Table" || c.group !== "meta.k8s.io") return undefined;
  return c.version === "v1" || c.version === "v1beta1" ? c.version : undefined;
}

function discoveryVersion(c: Conversion): DiscoveryVersion | undefined {
  if (c.kind !== "APIGroupDiscoveryList" || c.group !== "apidiscovery.k8s.io") return undefined;
  return c.version === "v2" || c.version === "v2beta1" ? c.version : undefined;
}

function isAbsent(accept: string | undefined): accept is undefined | "" {
  return accept === undefined || accept === "";
}

/** The media types an object endpoint lists in its 406 message. */
export function objectMediaTypes(protobuf: boolean): readonly string[] {
  return protobuf ? [JSON_MEDIA_TYPE, PROTOBUF_MEDIA_TYPE] : [JSON_MEDIA_TYPE];
}

/**
 * For NodeMetrics/PodMetrics (get and list): plain JSON, a Table (JSON only, as upstream allows
 * Table in JSON or YAML and we serve no YAML), or protobuf when an encoder is available.
 */
export function negotiateObject(accept: string | undefined, protobuf: boolean): Negotiation {
  if (isAbsent(accept)) return { representation: "json" };
  const serializers = objectMediaTypes(protobuf);
  for (const range of parseAccept(accept)) {
    const conversion = conversionOf(range);
    if (conversion === "reject") continue;
    for (const mediaType of serializers) {
      if (!names(range, mediaType)) continue;
      if (conversion === undefined) {
        return { representation: mediaType === JSON_MEDIA_TYPE ? "json" : "protobuf" };
      }
      const version = tableVersion(conversion);
      if (version !== undefined && mediaType === JSON_MEDIA_TYPE) return { representation: "table", version };
    }
  }
  return { representation: "not-acceptable", supported: serializers };
}

/**
 * For discovery documents. Only `/apis` (root) offers the aggregated APIGroupDiscoveryList, as the
 * generic server wraps only its root handlers; `/apis/<group>[/<version>]` answer the legacy
 * documents and skip entries asking for any conversion.
 */
export function negotiateDiscovery(accept: string | undefined, root: boolean): Negotiation {
  if (isAbsent(accept)) return { representation: "discovery-legacy" };
  for (const range of parseAccept(accept)) {
    if (!names(range, JSON_MEDIA_TYPE)) continue;
    const conversion = conversionOf(range);
    if (conversion === "reject") continue;
    if (conversion === undefined) return { representation: "discovery-legacy" };
    const version = root ? discoveryVersion(conversion) : undefined;
    if (version !== undefined) return { representation: "discovery-aggregated", version };
  }
  return { representation: "not-acceptable", supported: [JSON_MEDIA_TYPE] };
}
