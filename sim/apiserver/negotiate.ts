// Content negotiation: which representation of an object or list the Accept header asks for.

import { ApiError } from "../state/index.ts";

/** The response shapes this server can produce. */
export type Representation = "json" | "table" | "metadata" | "metadataList";

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string | undefined): MediaRange[] {
  if (!accept || accept.trim() === "") return [{ type: "*/*", params: {} }];
  return accept.split(",").map((part) => {
    const [type, ...rest] = part.split(";");
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
    }
    return { type: type.trim().toLowerCase(), params };
  });
}

/**
 * Picks the first acceptable representation among `allowed`, like kube-apiserver: `as=Table`,
 * `as=PartialObjectMetadata[List]` (group meta.k8s.io, v1 or v1beta1) or plain JSON. Protobuf and
 * aggregated-discovery ranges are skipped (clients list JSON after them). undefined = 406.
 */
export function negotiate(
  accept: string | undefined,
  allowed: readonly Representation[],
): Representation | undefined {
  for (const r of parseAccept(accept)) {
    const jsonish = r.type === "application/json" || r.type === "*/*" || r.type === "application/*";
    if (!jsonish) continue;
    const as = r.params.as;
    if (as === undefined) {
      if (allowed.includes("json")) return "json";
      continue;
    }
    if (r.params.g !== "meta.k8s.io" || (r.params.v !== "v1" && r.params.v !== "v1beta1")) continue;
    const want: Representation | undefined =
      as === "Table"
        ? "table"
        : as === "PartialObjectMetadata"
          ? "metadata"
          : as === "PartialObjectMetadataList"
            ? "metadataList"
            : undefined;
    if (want && allowed.includes(want)) return want;
  }
  return undefined;
}

export function notAcceptable(accept: string | undefined): ApiError {
  return new ApiError(
    406,
    "NotAcceptable",
    `only the following media types are accepted: application/json, application/yaml (requested ${accept ?? ""})`,
  );
}
