// The simulated kube-apiserver: HTTPS with client-certificate, bearer-token and anonymous
// authentication, every request authorized by the RBAC model, TokenReview and SubjectAccessReview,
// ConfigMap kube-system/extension-apiserver-authentication, discovery, nodes/pods (list, get, watch, create, delete), services/endpoints/APIServices, the
// aggregator in front of registered API groups, and the simulator's own /sim/* endpoints.

import type { IncomingMessage, ServerResponse } from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import YAML from "yaml";
import { Aggregator, type UserInfo } from "./aggregator.ts";
import {
  AUTH_CONFIGMAP,
  authConfigMapData,
  authenticate,
  subjectAccessReview,
  tokenReview,
} from "./authn.ts";
import {
  ApiError,
  type Cluster,
  expiredError,
  type KubeObject,
  RESOURCE_INFO,
  type Resource,
  type WatchEvent,
} from "./cluster.ts";
import type { KubeletFault } from "./kubelet.ts";
import { type CA, type CertAndKey, createCA, issueCert } from "./pki.ts";
import { builtinRbac, forbiddenStatus, type Rbac, requestAttributes } from "./rbac.ts";
import { truthOf } from "./scenario.ts";
import {
  type FieldSelector,
  type LabelSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from "./selectors.ts";
import { formBytes, formPieces, listBytes, type ObjectForm, type StoredObject } from "./stored.ts";
import type { TokenTable } from "./tokens.ts";

export const SIM_VERSION = "v1.33.0-sim";

export const FAULTS: readonly KubeletFault[] = ["hang", "http500", "garbage", "wrong-ca"];

/** How /sim/faults reads and changes the kubelets' injected faults. */
export interface FaultControl {
  faults(): Record<string, KubeletFault>;
  setFault(node: string, fault: KubeletFault | undefined): void | Promise<void>;
}

export interface ApiServerOptions {
  cluster: Cluster;
  /** Cluster CA: signs the serving cert and verifies client certificates. */
  ca: CA;
  /** The aggregator's client certificate (CN front-proxy-client, front-proxy CA). */
  frontProxyClient: CertAndKey;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** BOOKMARK period for watches that allow bookmarks (default 60 s). */
  bookmarkIntervalMs?: number;
  faults?: FaultControl;
  /** APIService availability re-check period (default 10 s; 0 = no availability checks at all). */
  availabilityIntervalMs?: number;
  proxyTimeoutMs?: number;
  /** Bearer tokens accepted besides client certificates (none when absent). */
  tokens?: TokenTable;
  /** Authorizes every request (default: the built-in policy, builtinRbac()). */
  rbac?: Rbac;
  /** The front-proxy CA, published as requestheader-client-ca-file (omitted when absent). */
  frontProxyCACertPem?: string;
  /** Called after POST /sim/rotate-client-ca with the new CA and the `rotated` user's cert (to save them). */
  onClientCARotated?: (ca: CA, user: CertAndKey) => Promise<void>;
  /**
   * false = behave like an API server without PartialObjectMetadata support: metadata-only Accept
   * ranges are skipped (plain JSON if also allowed, else 406). Default true.
   */
  partialMetadata?: boolean;
  log?: (line: string) => void;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const EVENT_END = Buffer.from("}\n");
const MAX_WATCH_BACKLOG_BYTES = 64 * 1024 * 1024;
const DEFAULT_WATCH_TIMEOUT_S = 1800;

function statusBody(err: ApiError): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: err.message,
    reason: err.reason,
    ...(err.details ? { details: err.details } : {}),
    code: err.code,
  };
}

function writeJson(res: ServerResponse, code: number, body: unknown): void {
  writeJsonBytes(res, code, Buffer.from(JSON.stringify(body)));
}

function writeJsonBytes(res: ServerResponse, code: number, body: Buffer): void {
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": body.length });
  res.end(body);
}

function writeStatus(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeJson(res, err.code, statusBody(err));
}

// --- Content negotiation ------------------------------------------------------------------------

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

function notAcceptable(accept: string | undefined): ApiError {
  return new ApiError(
    406,
    "NotAcceptable",
    `only the following media types are accepted: application/json, application/yaml (requested ${accept ?? ""})`,
  );
}

// --- Object views -------------------------------------------------------------------------------

function partialMetadata(o: KubeObject): KubeObject {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export { fieldsOf } from "./stored.ts";

/** kube's HumanDuration, used in the AGE column. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, type = "string", priority = 0, format = ""): Column => ({
  name,
  type,
  format,
  description: name,
  priority,
});

function ageOf(o: KubeObject, nowMs: number): string {
  const t = Date.parse(o.metadata.creationTimestamp);
  return Number.isFinite(t) ? humanDuration(nowMs - t) : "<unknown>";
}

function nodeRow(o: KubeObject, nowMs: number): unknown[] {
  const status = rec(o.status);
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(rec) : [];
  const ready = conditions.find((c) => c.type === "Ready");
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length))
    .sort();
  const addresses = Array.isArray(status.addresses) ? status.addresses.map(rec) : [];
  const addr = (t: string) => String(addresses.find((a) => a.type === t)?.address ?? "<none>");
  const info = rec(status.nodeInfo);
  return [
    o.metadata.name,
    ready?.status === "True" ? "Ready" : ready ? "NotReady" : "Unknown",
    roles.length > 0 ? roles.join(",") : "<none>",
    ageOf(o, nowMs),
    String(info.kubeletVersion ?? ""),
    addr("InternalIP"),
    addr("ExternalIP"),
    String(info.osImage ?? ""),
    String(info.kernelVersion ?? ""),
    String(info.containerRuntimeVersion ?? ""),
  ];
}

function podRow(o: KubeObject, nowMs: number): unknown[] {
  const spec = rec(o.spec);
  const status = rec(o.status);
  const statuses = Array.isArray(status.containerStatuses) ? status.containerStatuses.map(rec) : [];
  const initStatuses = Array.isArray(status.initContainerStatuses)
    ? status.initContainerStatuses.map(rec)
    : [];
  const inits = Array.isArray(spec.initContainers) ? spec.initContainers.map(rec) : [];
  const sidecars = new Set(inits.filter((c) => c.restartPolicy === "Always").map((c) => c.name));
  const counted = [...statuses, ...initStatuses.filter((s) => sidecars.has(s.name))];
  const total = (Array.isArray(spec.containers) ? spec.containers.length : 0) + sidecars.size;
  const ready = counted.filter((s) => s.ready === true).length;
  let reason = String(status.phase ?? "Unknown");
  for (const s of statuses) {
    const st = rec(s.state);
    const r = rec(st.waiting).reason ?? rec(st.terminated).reason;
    if (typeof r === "string" && r !== "") reason = r;
  }
  const restarts = counted.reduce((n, s) => n + (typeof s.restartCount === "number" ? s.restartCount : 0), 0);
  return [
    o.metadata.name,
    `${ready}/${total}`,
    reason,
    restarts,
    ageOf(o, nowMs),
    String(status.podIP ?? "<none>"),
    String(spec.nodeName || "<none>"),
    "<none>",
    "<none>",
  ];
}

function apiServiceRow(o: KubeObject, nowMs: number): unknown[] {
  const spec = rec(o.spec);
  const svc = rec(spec.service);
  const conds = Array.isArray(rec(o.status).conditions)
    ? (rec(o.status).conditions as unknown[]).map(rec)
    : [];
  const avail = conds.find((c) => c.type === "Available");
  const available =
    avail === undefined
      ? "Unknown"
      : avail.status === "True"
        ? "True"
        : `${String(avail.status)} (${String(avail.reason)})`;
  return [
    o.metadata.name,
    spec.service ? `${String(svc.namespace)}/${String(svc.name)}` : "Local",
    available,
    ageOf(o, nowMs),
  ];
}

const TABLES: Record<Resource, { columns: Column[]; row: (o: KubeObject, nowMs: number) => unknown[] }> = {
  nodes: {
    columns: [
      col("Name", "string", 0, "name"),
      col("Status"),
      col("Roles"),
      col("Age"),
      col("Version"),
      col("Internal-IP", "string", 1),
      col("External-IP", "string", 1),
      col("OS-Image", "string", 1),
      col("Kernel-Version", "string", 1),
      col("Container-Runtime", "string", 1),
    ],
    row: nodeRow,
  },
  pods: {
    columns: [
      col("Name", "string", 0, "name"),
      col("Ready"),
      col("Status"),
      col("Restarts", "string"),
      col("Age"),
      col("IP", "string", 1),
      col("Node", "string", 1),
      col("Nominated Node", "string", 1),
      col("Readiness Gates", "string", 1),
    ],
    row: podRow,
  },
  apiservices: {
    columns: [col("Name", "string", 0, "name"), col("Service"), col("Available"), col("Age")],
    row: apiServiceRow,
  },
  services: {
    columns: [col("Name", "string", 0, "name"), col("Created At", "date")],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp],
  },
  endpoints: {
    columns: [col("Name", "string", 0, "name"), col("Created At", "date")],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp],
  },
  configmaps: {
    columns: [col("Name", "string", 0, "name"), col("Data", "integer"), col("Age")],
    row: (o, nowMs) => [o.metadata.name, Object.keys(rec(o.data)).length, ageOf(o, nowMs)],
  },
};

function toTable(
  resource: Resource,
  items: KubeObject[],
  listMeta: Record<string, unknown>,
  includeObject: string,
): Record<string, unknown> {
  const t = TABLES[resource];
  const now = Date.now();
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: t.columns,
    rows: items.map((o) => ({
      cells: t.row(o, now),
      ...(includeObject === "None" ? {} : { object: includeObject === "Object" ? o : partialMetadata(o) }),
    })),
  };
}

// --- Continue tokens ----------------------------------------------------------------------------

interface ContinueToken {
  rv: number;
  /** Key (namespace/name or name) of the last item returned. */
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: "sim.k8s.io/v1", rv: t.rv, start: t.start })).toString("base64url");
}

function decodeContinue(s: string): ContinueToken {
  try {
    const o = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
    if (o?.v === "sim.k8s.io/v1" && Number.isInteger(o.rv) && typeof o.start === "string") {
      return { rv: o.rv, start: o.start };
    }
  } catch {
    // reported below
  }
  throw new ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion");
}

// --- Routing ------------------------------------------------------------------------------------

interface ResourceRoute {
  resource: Resource;
  namespace: string | undefined;
  name: string | undefined;
}

const CORE_RESOURCES: readonly Resource[] = ["nodes", "pods", "services", "endpoints", "configmaps"];

function routeResource(path: string): ResourceRoute | undefined {
  const s = path.split("/").filter((x) => x !== "");
  const decode = (x: string) => decodeURIComponent(x);
  if (s[0] === "apis" && s[1] === "apiregistration.k8s.io" && s[2] === "v1" && s[3] === "apiservices") {
    if (s.length === 4) return { resource: "apiservices", namespace: undefined, name: undefined };
    if (s.length === 5) return { resource: "apiservices", namespace: undefined, name: decode(s[4]) };
    return undefined;
  }
  if (s[0] !== "api" || s[1] !== "v1") return undefined;
  const rest = s.slice(2);
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const resource = rest[2] as Resource;
    if (!CORE_RESOURCES.includes(resource) || !RESOURCE_INFO[resource].namespaced) return undefined;
    if (rest.length === 3) return { resource, namespace: decode(rest[1]), name: undefined };
    if (rest.length === 4) return { resource, namespace: decode(rest[1]), name: decode(rest[3]) };
    return undefined;
  }
  const resource = rest[0] as Resource;
  if (!CORE_RESOURCES.includes(resource)) return undefined;
  if (rest.length === 1) return { resource, namespace: undefined, name: undefined };
  if (rest.length === 2 && !RESOURCE_INFO[resource].namespaced)
    return { resource, namespace: undefined, name: decode(rest[1]) };
  return undefined;
}

const resourceDoc = (
  name: string,
  singular: string,
  namespaced: boolean,
  kind: string,
  verbs: string[],
  shortNames?: string[],
) => ({
  name,
  singularName: singular,
  namespaced,
  kind,
  verbs,
  ...(shortNames ? { shortNames } : {}),
});

const CORE_V1_RESOURCES = {
  kind: "APIResourceList",
  groupVersion: "v1",
  resources: [
    resourceDoc("configmaps", "configmap", true, "ConfigMap", ["get", "list", "watch"], ["cm"]),
    resourceDoc(
      "endpoints",
      "endpoints",
      true,
      "Endpoints",
      ["create", "delete", "get", "list", "watch"],
      ["ep"],
    ),
    resourceDoc("nodes", "node", false, "Node", ["create", "delete", "get", "list", "watch"], ["no"]),
    resourceDoc("pods", "pod", true, "Pod", ["create", "delete", "get", "list", "watch"], ["po"]),
    resourceDoc(
      "services",
      "service",
      true,
      "Service",
      ["create", "delete", "get", "list", "watch"],
      ["svc"],
    ),
  ],
};

const APIREG_V1_RESOURCES = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: "apiregistration.k8s.io/v1",
  resources: [
    resourceDoc("apiservices", "apiservice", false, "APIService", [
      "create",
      "delete",
      "get",
      "list",
      "watch",
    ]),
  ],
};

const v1Group = (name: string) => ({
  name,
  versions: [{ groupVersion: `${name}/v1`, version: "v1" }],
  preferredVersion: { groupVersion: `${name}/v1`, version: "v1" },
});

const APIREG_GROUP = v1Group("apiregistration.k8s.io");

/** The review APIs: create-only, cluster-scoped, served at /apis/<group>/v1/<resource>. */
const REVIEW_GROUPS: Record<string, { resource: string; singular: string; kind: string }> = {
  "authentication.k8s.io": { resource: "tokenreviews", singular: "tokenreview", kind: "TokenReview" },
  "authorization.k8s.io": {
    resource: "subjectaccessreviews",
    singular: "subjectaccessreview",
    kind: "SubjectAccessReview",
  },
};

function reviewResources(group: string): Record<string, unknown> {
  const r = REVIEW_GROUPS[group];
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: `${group}/v1`,
    resources: [resourceDoc(r.resource, r.singular, false, r.kind, ["create"])],
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, "RequestEntityTooLarge", "request entity too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const type = String(req.headers["content-type"] ?? "application/json");
  try {
    return type.includes("yaml") ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, "BadRequest", `the request body could not be decoded: ${(err as Error).message}`);
  }
}

export class ApiServer {
  readonly url: string;
  readonly port: number;
  private readonly server: https.Server;
  private readonly serving: CertAndKey;
  private readonly rbac: Rbac;
  /** Client CAs in force (PEM), oldest first: the cluster CA, then any added by rotations. */
  private readonly clientCAs: string[];
  private rotations = 0;
  private readonly opts: ApiServerOptions;
  private readonly aggregator: Aggregator;
  private readonly bookmarkIntervalMs: number;
  private readonly log: (line: string) => void;
  /** The end functions of the open watch streams. */
  private readonly watches = new Set<() => void>();
  /** Accept forms this server can answer for single objects, lists and watches. */
  private readonly objectForms: readonly Representation[];
  private readonly listForms: readonly Representation[];
  private readonly watchForms: readonly Representation[];

  private constructor(
    server: https.Server,
    serving: CertAndKey,
    opts: ApiServerOptions,
    aggregator: Aggregator,
  ) {
    this.server = server;
    this.serving = serving;
    this.rbac = opts.rbac ?? builtinRbac();
    this.clientCAs = [opts.ca.certPem];
    this.opts = opts;
    this.aggregator = aggregator;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
    this.log = opts.log ?? (() => {});
    const metadata = opts.partialMetadata ?? true;
    this.objectForms = metadata ? ["json", "metadata", "table"] : ["json", "table"];
    this.listForms = metadata ? ["json", "metadataList", "table"] : ["json", "table"];
    this.watchForms = metadata ? ["json", "metadata"] : ["json"];
    const addr = server.address() as AddressInfo;
    this.port = addr.port;
    this.url = `https://${opts.host}:${addr.port}`;
  }

  /** Issues the serving certificate, starts the aggregator and listens. */
  static async start(opts: ApiServerOptions): Promise<ApiServer> {
    const serving = await issueCert(opts.ca, {
      commonName: "kube-apiserver",
      ipAddresses: [opts.host],
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
      server: true,
    });
    const server = https.createServer({
      key: serving.keyPem,
      cert: serving.certPem,
      ca: opts.ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const aggregator = new Aggregator({
      cluster: opts.cluster,
      frontProxyClient: opts.frontProxyClient,
      availabilityIntervalMs: opts.availabilityIntervalMs,
      proxyTimeoutMs: opts.proxyTimeoutMs,
      log: opts.log,
    });
    const api = new ApiServer(server, serving, opts, aggregator);
    api.publishAuthConfigMap();
    server.on("request", (req: IncomingMessage, res: ServerResponse) => api.handle(req, res));
    // A client that sends garbage must not take the server down.
    server.on("clientError", (_err, socket) => socket.destroy());
    server.on("tlsClientError", () => {});
    return api;
  }

  /** Forbidden (403) unless the RBAC model allows the request, with kube-apiserver's message. */
  private authorize(user: UserInfo, method: string, path: string, query: URLSearchParams): void {
    const attrs = requestAttributes(method, path, query);
    const decision = this.rbac.authorize(user, attrs);
    if (decision.allowed) return;
    const { message, details } = forbiddenStatus(user, attrs, decision.reason);
    throw new ApiError(403, "Forbidden", message, details);
  }

  /** (Re)writes kube-system/extension-apiserver-authentication from the CAs in force. */
  private publishAuthConfigMap(): void {
    this.opts.cluster.put("configmaps", AUTH_CONFIGMAP.namespace, AUTH_CONFIGMAP.name, {
      data: authConfigMapData(this.clientCAs, this.opts.frontProxyCACertPem),
    });
  }

  /**
   * Trusts one more client CA (keeping the old ones, as a CA rotation does): new TLS handshakes
   * accept certificates from it, and the ConfigMap changes (a MODIFIED event for watchers).
   */
  addClientCA(caCertPem: string): void {
    this.clientCAs.push(caCertPem);
    this.server.setSecureContext({
      key: this.serving.keyPem,
      cert: this.serving.certPem,
      ca: [...this.clientCAs],
    });
    this.publishAuthConfigMap();
  }

  /** POST /sim/rotate-client-ca: a new client CA and a `rotated` user certificate signed by it. */
  private async rotateClientCA(): Promise<Record<string, unknown>> {
    this.rotations++;
    const ca = await createCA(`kubernetes-client-ca-${this.rotations + 1}`);
    const user = await issueCert(ca, { commonName: "rotated", client: true });
    await this.opts.onClientCARotated?.(ca, user);
    this.addClientCA(ca.certPem);
    this.log(`sim: client CA rotated: ${this.clientCAs.length} client CAs trusted, user "rotated" issued`);
    return {
      clientCAs: this.clientCAs.length,
      user: "rotated",
      caCertPem: ca.certPem,
      configMapResourceVersion: this.opts.cluster.get(
        "configmaps",
        AUTH_CONFIGMAP.namespace,
        AUTH_CONFIGMAP.name,
      )?.metadata.resourceVersion,
    };
  }

  /** Ends every open watch stream cleanly (the client reads EOF); returns how many there were. */
  dropWatches(): number {
    const open = [...this.watches];
    for (const end of open) end();
    return open.length;
  }

  async close(): Promise<void> {
    this.aggregator.close();
    for (const end of [...this.watches]) end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.dispatch(req, res).catch((err) => {
      if (err instanceof ApiError) writeStatus(res, err);
      else {
        this.log(`apiserver: internal error on ${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
        writeStatus(
          res,
          new ApiError(500, "InternalError", `Internal error occurred: ${(err as Error).message}`),
        );
      }
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const user = authenticate(req, this.opts.tokens);
    const url = new URL(req.url ?? "/", "https://sim.invalid");
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    const method = req.method ?? "GET";
    const get = method === "GET" || method === "HEAD";
    this.authorize(user, method, url.pathname, url.searchParams);

    if (path === "/sim/truth" && get) return writeJson(res, 200, truthOf(this.opts.cluster.scenario()));
    if (path === "/sim/faults") return this.faults(req, res, method);
    if (path === "/sim/rotate-client-ca") {
      if (method !== "POST") throw methodNotAllowed();
      return writeJson(res, 200, await this.rotateClientCA());
    }
    if (path === "/sim/watches/drop" || path === "/sim/compact") {
      if (method !== "POST") throw methodNotAllowed();
      if (path === "/sim/compact") {
        const compactedTo = this.opts.cluster.compact();
        this.log(`sim: watch history compacted to resourceVersion ${compactedTo}`);
        return writeJson(res, 200, { compactedTo });
      }
      const dropped = this.dropWatches();
      this.log(`sim: dropped ${dropped} watch streams`);
      return writeJson(res, 200, { dropped });
    }
    if ((path === "/healthz" || path === "/livez" || path === "/readyz") && get) {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("ok");
      return;
    }
    if (path === "/version" && get) return writeJson(res, 200, versionInfo());
    if (path === "/api" && get) {
      return writeJson(res, 200, {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [
          { clientCIDR: "0.0.0.0/0", serverAddress: `${this.opts.host}:${this.port}` },
        ],
      });
    }
    if (path === "/api/v1" && get) return writeJson(res, 200, CORE_V1_RESOURCES);
    if (path === "/apis" && get) {
      return writeJson(res, 200, {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: [APIREG_GROUP, ...Object.keys(REVIEW_GROUPS).map(v1Group), ...this.aggregator.groups()],
      });
    }
    if (path === "/apis/apiregistration.k8s.io" && get) {
      return writeJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...APIREG_GROUP });
    }
    if (path === "/apis/apiregistration.k8s.io/v1" && get) return writeJson(res, 200, APIREG_V1_RESOURCES);
    const seg = path.split("/");
    if (seg[1] === "apis" && seg[2] in REVIEW_GROUPS) {
      const review = REVIEW_GROUPS[seg[2]];
      if (seg.length === 3 && get) {
        return writeJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...v1Group(seg[2]) });
      }
      if (seg.length === 4 && seg[3] === "v1" && get) return writeJson(res, 200, reviewResources(seg[2]));
      if (seg.length === 5 && seg[3] === "v1" && seg[4] === review.resource) {
        if (method !== "POST") throw methodNotAllowed();
        const body = await readBody(req);
        return writeJson(
          res,
          201,
          review.kind === "TokenReview"
            ? tokenReview(body, this.opts.tokens)
            : subjectAccessReview(body, this.rbac),
        );
      }
    }

    const route = routeResource(path);
    if (route) return this.resource(req, res, url, method, route);

    if (seg[1] === "apis" && seg.length === 3 && get) {
      const group = this.aggregator.group(seg[2]);
      if (group) return writeJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...group });
    }
    if (seg[1] === "apis" && seg.length >= 4) {
      const apiService = this.aggregator.apiServiceFor(seg[2], seg[3]);
      if (apiService) {
        this.aggregator.proxy(req, res, user, apiService, url);
        return;
      }
    }
    throw new ApiError(404, "NotFound", "the server could not find the requested resource", {});
  }

  private async faults(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const control = this.opts.faults;
    if (!control) throw new ApiError(404, "NotFound", "fault injection is not enabled on this simulator", {});
    if (method === "GET") return writeJson(res, 200, control.faults());
    if (method !== "POST") throw methodNotAllowed();
    const body = rec(await readBody(req));
    const node = body.node;
    const fault = body.fault;
    if (typeof node !== "string" || node === "") {
      throw new ApiError(
        400,
        "BadRequest",
        `body must be {"node": "<name>", "fault": ${FAULTS.map((f) => `"${f}"`).join(" | ")} | null}`,
      );
    }
    if (fault !== null && fault !== undefined && !FAULTS.includes(fault as KubeletFault)) {
      throw new ApiError(
        400,
        "BadRequest",
        `unknown fault ${JSON.stringify(fault)}: want one of ${FAULTS.join(", ")} or null`,
      );
    }
    if (!this.opts.cluster.node(node))
      throw new ApiError(404, "NotFound", `nodes "${node}" not found`, { name: node, kind: "nodes" });
    await control.setFault(node, (fault ?? undefined) as KubeletFault | undefined);
    this.log(`sim: fault on node ${node} set to ${fault ?? "none"}`);
    writeJson(res, 200, control.faults());
  }

  private async resource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    route: ResourceRoute,
  ): Promise<void> {
    const cluster = this.opts.cluster;
    const { resource, namespace, name } = route;
    if (name === undefined) {
      if (method === "GET") {
        const q = url.searchParams;
        const watch = q.get("watch");
        if (watch === "true" || watch === "1") return this.watch(req, res, url, route);
        return this.list(req, res, url, route);
      }
      if (method === "POST" && resource !== "configmaps") {
        const created = await cluster.create(resource, namespace, await readBody(req));
        return writeJson(res, 201, created);
      }
      throw methodNotAllowed();
    }
    if (method === "GET") {
      const stored = cluster.mustGetStored(resource, namespace, name);
      const rep = negotiate(req.headers.accept, this.objectForms);
      if (!rep) throw notAcceptable(req.headers.accept);
      if (rep === "metadata") return writeJsonBytes(res, 200, formBytes(stored, "metadata"));
      if (rep === "json") return writeJsonBytes(res, 200, stored.json);
      const o = stored.object();
      if (rep === "table") {
        return writeJson(
          res,
          200,
          toTable(
            resource,
            [o],
            { resourceVersion: o.metadata.resourceVersion },
            url.searchParams.get("includeObject") ?? "Metadata",
          ),
        );
      }
      return writeJson(res, 200, o);
    }
    if (method === "DELETE" && resource !== "configmaps") {
      return writeJson(res, 200, await cluster.delete(resource, namespace, name));
    }
    if (method === "PUT") {
      return writeJson(res, 200, cluster.update(resource, namespace, name, await readBody(req)));
    }
    throw methodNotAllowed();
  }

  private selectors(url: URL, resource: Resource): { labels: LabelSelector; fields: FieldSelector } {
    try {
      return {
        labels: parseLabelSelector(url.searchParams.get("labelSelector") ?? ""),
        fields: parseFieldSelector(url.searchParams.get("fieldSelector") ?? "", resource),
      };
    } catch (err) {
      if (err instanceof SelectorError) throw new ApiError(400, "BadRequest", err.message);
      throw err;
    }
  }

  private list(req: IncomingMessage, res: ServerResponse, url: URL, route: ResourceRoute): void {
    const cluster = this.opts.cluster;
    const { resource, namespace } = route;
    const rep = negotiate(req.headers.accept, this.listForms);
    if (!rep) throw notAcceptable(req.headers.accept);
    const { labels, fields } = this.selectors(url, resource);
    const q = url.searchParams;
    const limitText = q.get("limit");
    const limit = limitText === null || limitText === "" ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0)
      throw new ApiError(400, "BadRequest", `invalid limit: ${limitText}`);
    const cont = q.get("continue");
    let listRv = cluster.resourceVersion;
    let start: string | undefined;
    if (cont) {
      const token = decodeContinue(cont);
      if (token.rv < cluster.oldestResumableVersion) {
        throw new ApiError(
          410,
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      // The sim serves the current objects after the token's key; the list keeps the first page's
      // resourceVersion so that a watch started from it replays everything changed since then.
      listRv = token.rv;
      start = token.start;
    }
    const filtered = labels.length > 0 || fields.length > 0;
    const {
      items: page,
      more,
      remaining,
    } = cluster.listPage(
      resource,
      namespace,
      start,
      limit,
      filtered ? (o) => matchesLabels(labels, o.labels) && matchesFields(fields, o.fields) : undefined,
    );
    const listMeta: Record<string, unknown> = { resourceVersion: String(listRv) };
    if (more) {
      listMeta.continue = encodeContinue({ rv: listRv, start: page[page.length - 1].key });
      // Only an unfiltered list knows how many items remain without reading them all.
      if (!filtered) listMeta.remainingItemCount = remaining;
    }
    const info = RESOURCE_INFO[resource];
    if (rep === "table") {
      const objects = page.map((o) => o.object());
      writeJson(res, 200, toTable(resource, objects, listMeta, q.get("includeObject") ?? "Metadata"));
      return;
    }
    // The stored bytes, concatenated: no per-page serialization.
    writeJsonBytes(
      res,
      200,
      rep === "metadataList"
        ? listBytes("PartialObjectMetadataList", "meta.k8s.io/v1", listMeta, page, "metadata")
        : listBytes(`${info.kind}List`, info.apiVersion, listMeta, page, "item"),
    );
  }

  private watch(req: IncomingMessage, res: ServerResponse, url: URL, route: ResourceRoute): void {
    const cluster = this.opts.cluster;
    const { resource, namespace } = route;
    const rep = negotiate(req.headers.accept, this.watchForms);
    if (!rep) throw notAcceptable(req.headers.accept);
    const { labels, fields } = this.selectors(url, resource);
    const q = url.searchParams;
    const rvText = q.get("resourceVersion") ?? "";
    if (rvText !== "" && !/^\d+$/.test(rvText)) {
      throw new ApiError(400, "BadRequest", `invalid resource version: ${JSON.stringify(rvText)}`);
    }
    const bookmarks = q.get("allowWatchBookmarks") === "true";
    const sendInitial = q.get("sendInitialEvents") === "true";
    const timeoutText = q.get("timeoutSeconds");
    const timeoutS =
      timeoutText !== null && /^\d+$/.test(timeoutText) ? Number(timeoutText) : DEFAULT_WATCH_TIMEOUT_S;

    const matches = (o: StoredObject | undefined) =>
      o !== undefined &&
      (namespace === undefined || o.namespace === namespace) &&
      matchesLabels(labels, o.labels) &&
      matchesFields(fields, o.fields);
    const form: ObjectForm = rep === "metadata" ? "metadata" : "object";
    const info = RESOURCE_INFO[resource];
    const bookmarkObject = (rv: number, annotations?: Record<string, string>) =>
      rep === "metadata"
        ? {
            kind: "PartialObjectMetadata",
            apiVersion: "meta.k8s.io/v1",
            metadata: {
              resourceVersion: String(rv),
              creationTimestamp: null,
              ...(annotations ? { annotations } : {}),
            },
          }
        : {
            kind: info.kind,
            apiVersion: info.apiVersion,
            metadata: {
              resourceVersion: String(rv),
              creationTimestamp: null,
              ...(annotations ? { annotations } : {}),
            },
          };

    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
    let open = true;
    const write = (line: Buffer) => {
      if (!open) return;
      res.write(line);
      // A watcher that stops reading is cut off instead of buffering without bound.
      if (res.writableLength > MAX_WATCH_BACKLOG_BYTES) end();
    };
    const send = (type: string, object: unknown) =>
      write(Buffer.from(`${JSON.stringify({ type, object })}\n`));
    // {"type":…,"object":<the stored bytes>}, the bytes JSON.stringify would give.
    const sendStored = (type: string, o: StoredObject) =>
      write(
        Buffer.concat([
          Buffer.from(`{"type":${JSON.stringify(type)},"object":`),
          ...formPieces(o, form),
          EVENT_END,
        ]),
      );
    const deliver = (e: WatchEvent) => {
      const now = matches(e.object);
      if (e.type === "MODIFIED") {
        const before = matches(e.previous);
        if (now && before) sendStored("MODIFIED", e.object);
        else if (now) sendStored("ADDED", e.object);
        else if (before) sendStored("DELETED", e.object);
      } else if (now) sendStored(e.type, e.object);
    };

    let unsubscribe = () => {};
    let bookmarkTimer: NodeJS.Timeout | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    const end = () => {
      if (!open) return;
      open = false;
      unsubscribe();
      clearInterval(bookmarkTimer);
      clearTimeout(timeoutTimer);
      this.watches.delete(end);
      res.end();
    };
    this.watches.add(end);
    res.on("close", end);

    // Everything below runs synchronously, so no change can slip between the backlog and the subscription.
    const startRv = rvText === "" || rvText === "0" || sendInitial ? undefined : Number(rvText);
    if (startRv === undefined) {
      for (const o of cluster.listStored(resource, namespace)) if (matches(o)) sendStored("ADDED", o);
      if (sendInitial && bookmarks) {
        send("BOOKMARK", bookmarkObject(cluster.resourceVersion, { "k8s.io/initial-events-end": "true" }));
      }
    } else {
      let backlog: WatchEvent[];
      try {
        backlog = cluster.eventsSince(resource, startRv);
      } catch (err) {
        // Like the watch cache: a 200 stream carrying one ERROR event with the 410 Status.
        const e = err instanceof ApiError ? err : expiredError(startRv, cluster.oldestResumableVersion);
        send("ERROR", statusBody(e));
        end();
        return;
      }
      for (const e of backlog) deliver(e);
    }
    unsubscribe = cluster.subscribe(resource, deliver);
    if (bookmarks && this.bookmarkIntervalMs > 0) {
      bookmarkTimer = setInterval(
        () => send("BOOKMARK", bookmarkObject(cluster.resourceVersion)),
        this.bookmarkIntervalMs,
      );
    }
    timeoutTimer = setTimeout(end, timeoutS * 1000);
  }
}

function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
    {},
  );
}

function versionInfo(): Record<string, string> {
  return {
    major: "1",
    minor: "33",
    emulationMajor: "1",
    emulationMinor: "33",
    gitVersion: SIM_VERSION,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-01-01T00:00:00Z",
    goVersion: "go1.24.0",
    compiler: "gc",
    platform: `linux/${process.arch === "arm64" ? "arm64" : "amd64"}`,
  };
}
