// Writes through the API (POST, PUT, PATCH, DELETE) with kube-apiserver's server-side field
// validation: unknown fields are never stored, and the fieldValidation query parameter says what
// else happens (Strict: a 400, Warn: a Warning header, Ignore: nothing; absent: Warn, the server's
// default).

import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceAccountTokens } from "../auth/index.ts";
import { ApiError, type Cluster, RESOURCE_INFO, ROOT_TYPE, unknownFields } from "../state/index.ts";
import { methodNotAllowed, readBody, rec, writeJson } from "./http.ts";
import type { ResourceRoute } from "./routing.ts";

type Mode = "Strict" | "Warn" | "Ignore";

function modeOf(query: URLSearchParams): Mode {
  const v = query.get("fieldValidation") ?? "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw new ApiError(
    400,
    "BadRequest",
    `fieldValidation must be one of "Ignore", "Warn", or "Strict", got ${JSON.stringify(v)}`,
  );
}

/**
 * Checks `obj` (a posted object or a patch's result) for fields the kind does not have; returns the
 * warnings to send (Warn), throws kube-apiserver's 400 (Strict), or drops the fields (Ignore).
 */
function validateFields(
  route: ResourceRoute,
  obj: unknown,
  mode: Mode,
  creating: boolean,
  old?: unknown,
): string[] {
  const root = ROOT_TYPE[route.resource];
  if (!root || route.subresource) return [];
  // A patch answers for the fields it adds, not for what the stored object already had.
  const had = new Set(old === undefined ? [] : unknownFields({ object: root }, old));
  // Unknown fields are never stored (kube-apiserver's decoder drops them); the mode says who hears.
  const unknown = unknownFields({ object: root }, obj, mode !== "Strict").filter((p) => !had.has(p));
  if (unknown.length === 0 || mode === "Ignore") return [];
  const list = unknown.map((p) => `unknown field "${p}"`);
  if (mode === "Warn") return list;
  const kind = RESOURCE_INFO[route.resource].kind;
  const version = RESOURCE_INFO[route.resource].apiVersion.split("/").pop();
  const prefix = creating ? `${kind} in version "${version}" cannot be handled as a ${kind}: ` : "";
  throw new ApiError(400, "BadRequest", `${prefix}strict decoding error: ${list.join(", ")}`);
}

function writeWithWarnings(res: ServerResponse, code: number, body: unknown, warnings: string[]): void {
  if (warnings.length > 0) {
    res.setHeader(
      "Warning",
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  }
  writeJson(res, code, body);
}

/** POST to a collection. */
export async function serveCreate(
  cluster: Cluster,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  route: ResourceRoute,
): Promise<void> {
  const mode = modeOf(url.searchParams);
  const body = await readBody(req);
  const warnings = validateFields(route, body, mode, true);
  const created = await cluster.create(route.resource, route.namespace, body);
  writeWithWarnings(res, 201, created, warnings);
}

/** PUT, PATCH or DELETE of one object (or PUT/PATCH of its status). */
export async function serveObjectWrite(
  cluster: Cluster,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
  route: ResourceRoute,
): Promise<void> {
  const { resource, namespace, name, subresource } = route;
  if (name === undefined) throw methodNotAllowed();
  if (method === "DELETE" && !subresource) {
    const text = await readBody(req).catch(() => ({}));
    const propagationPolicy =
      url.searchParams.get("propagationPolicy") ?? (rec(text).propagationPolicy as string | undefined);
    return writeJson(res, 200, await cluster.delete(resource, namespace, name, { propagationPolicy }));
  }
  const mode = modeOf(url.searchParams);
  if (method === "PUT") {
    const body = await readBody(req);
    const warnings = validateFields(route, body, mode, true);
    return writeWithWarnings(
      res,
      200,
      cluster.update(resource, namespace, name, body, subresource),
      warnings,
    );
  }
  if (method === "PATCH") {
    const body = await readBody(req);
    let warnings: string[] = [];
    const patched = cluster.patch(
      resource,
      namespace,
      name,
      String(req.headers["content-type"] ?? ""),
      body,
      subresource,
      (result, old) => {
        warnings = validateFields(route, result, mode, false, old);
      },
    );
    return writeWithWarnings(res, 200, patched, warnings);
  }
  throw methodNotAllowed();
}

/**
 * POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token (TokenRequest): a token bound to the
 * service account and the pod named in spec.boundObjectRef, valid for spec.expirationSeconds
 * (default 3600) and only while both exist.
 */
export async function serveTokenRequest(
  cluster: Cluster,
  issuer: ServiceAccountTokens,
  req: IncomingMessage,
  res: ServerResponse,
  route: ResourceRoute,
): Promise<void> {
  const namespace = route.namespace ?? "";
  const name = route.name ?? "";
  cluster.mustGetStored("serviceaccounts", namespace, name);
  const body = rec(await readBody(req));
  const spec = rec(body.spec);
  const ref = rec(spec.boundObjectRef);
  const invalid = (message: string) =>
    new ApiError(422, "Invalid", `TokenRequest.authentication.k8s.io "${name}" is invalid: ${message}`, {
      name,
      group: "authentication.k8s.io",
      kind: "TokenRequest",
    });
  if (ref.kind !== "Pod")
    throw invalid('spec.boundObjectRef.kind: Unsupported value: the simulator binds tokens to "Pod"s');
  const podName = typeof ref.name === "string" ? ref.name : "";
  const pod = cluster.get("pods", namespace, podName);
  if (!pod)
    throw new ApiError(404, "NotFound", `pods "${podName}" not found`, { name: podName, kind: "pods" });
  if (typeof ref.uid === "string" && ref.uid !== "" && ref.uid !== pod.metadata.uid) {
    throw new ApiError(
      409,
      "Conflict",
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record`,
    );
  }
  const seconds = typeof spec.expirationSeconds === "number" ? spec.expirationSeconds : 3600;
  if (seconds < 600)
    throw invalid("spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes");
  const expiresAtMs = Date.now() + seconds * 1000;
  const token = issuer.issueServiceAccountToken(
    namespace,
    name,
    { name: podName, uid: pod.metadata.uid },
    expiresAtMs,
  );
  writeJson(res, 201, {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name, namespace, creationTimestamp: null },
    spec: {
      audiences: Array.isArray(spec.audiences) ? spec.audiences : [],
      expirationSeconds: seconds,
      boundObjectRef: { kind: "Pod", apiVersion: "v1", name: podName, uid: pod.metadata.uid },
    },
    status: { token, expirationTimestamp: new Date(expiresAtMs).toISOString().replace(/\.\d+Z$/, "Z") },
  });
}
