// The simulated kube-apiserver: HTTPS with client-certificate, bearer-token and anonymous
// authentication, every request authorized by the RBAC model, TokenReview and SubjectAccessReview,
// ConfigMap kube-system/extension-apiserver-authentication, discovery, nodes/pods (list, get, watch, create, delete), services/endpoints/APIServices, the
// service proxy (service-proxy.ts), the aggregator in front of registered API groups, and the
// simulator's own /sim/* endpoints.

import type { IncomingMessage, ServerResponse } from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import {
  type CA,
  type CertAndKey,
  createCA,
  forbiddenStatus,
  issueCert,
  Rbac,
  requestAttributes,
  ServiceAccountTokens,
  TokenTable,
} from "../auth/index.ts";
import { parseFaultSpec } from "../kubelet/index.ts";
import { ApiError, type Cluster, formBytes, truthOf } from "../state/index.ts";
import type { KubeletFault, UserInfo } from "../types.ts";
import { UsageError } from "../usage-error.ts";
import { Aggregator } from "./aggregator.ts";
import {
  AUTH_CONFIGMAP,
  authConfigMapData,
  authenticate,
  impersonate,
  selfSubjectAccessReview,
  subjectAccessReview,
  tokenReview,
} from "./authn.ts";
import {
  ownGroups,
  REVIEW_GROUPS,
  resourceList,
  reviewResources,
  v1Group,
  versionInfo,
} from "./discovery.ts";
import { ApiServerFaults } from "./faults.ts";
import { methodNotAllowed, readBody, rec, writeJson, writeJsonBytes, writeStatus } from "./http.ts";
import { serveList, serveWatch } from "./listwatch.ts";
import { negotiate, notAcceptable, type Representation } from "./negotiate.ts";
import { openApiDocument, openApiIndex } from "./openapi.ts";
import { storeBootstrapPolicy, syncRbac } from "./rbacsync.ts";
import { type ResourceRoute, resourcesOf, routeResource } from "./routing.ts";
import {
  PROXY_METHODS,
  parseServiceProxyPath,
  proxyToService,
  resolveServiceLocation,
} from "./service-proxy.ts";
import { toTable } from "./tables.ts";
import { serveCreate, serveObjectWrite, serveTokenRequest } from "./writes.ts";

/** The order kube-apiserver lists its built-in API groups in (the ones the simulator serves). */
const GROUP_ORDER = [
  "apiregistration.k8s.io",
  "apps",
  "authentication.k8s.io",
  "authorization.k8s.io",
  "policy",
  "rbac.authorization.k8s.io",
];

/** How /sim/faults reads and changes the kubelets' injected faults. */
export interface FaultControl {
  /** Each faulty node's fault SPEC. */
  faults(): Record<string, string>;
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
  /**
   * The authorizer's model (shared with the kubelets); it follows the cluster's RBAC objects.
   * Default: a model of its own.
   */
  rbac?: Rbac;
  /** Store only kube-apiserver's bootstrap policy at start, not metrics-server's RBAC (--bare). */
  bare?: boolean;
  /** The front-proxy CA, published as requestheader-client-ca-file (omitted when absent). */
  frontProxyCACertPem?: string;
  /** Called after POST /sim/rotate-client-ca with the new CA and the `rotated` user's cert (to save them). */
  onClientCARotated?: (ca: CA, user: CertAndKey) => Promise<void>;
  /**
   * false = behave like an API server without PartialObjectMetadata support: metadata-only Accept
   * ranges are skipped (plain JSON if also allowed, else 406). Default true.
   */
  partialMetadata?: boolean;
  /** Injected API-server faults in force from the start (a spec as POST /sim/faults takes). */
  apiFaults?: string;
  log?: (line: string) => void;
}

export class ApiServer {
  readonly url: string;
  readonly port: number;
  private readonly server: https.Server;
  private readonly serving: CertAndKey;
  private readonly rbac: Rbac;
  private readonly stopRbacSync: () => void;
  /** Issues bound service account tokens (TokenRequest, and the pod runtime), valid in `tokens`. */
  readonly serviceAccountTokens: ServiceAccountTokens;
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
  /** Injected faults of this API server itself (lists and watches, the listener). */
  readonly apiFaults: ApiServerFaults;
  private downTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    server: https.Server,
    serving: CertAndKey,
    opts: ApiServerOptions,
    aggregator: Aggregator,
  ) {
    this.server = server;
    this.serving = serving;
    this.rbac = opts.rbac ?? new Rbac();
    this.stopRbacSync = syncRbac(opts.cluster, this.rbac, opts.log ?? (() => {}));
    const cluster = opts.cluster;
    this.serviceAccountTokens = new ServiceAccountTokens(opts.tokens ?? new TokenTable(), {
      serviceAccountUid: (ns, name) => cluster.get("serviceaccounts", ns, name)?.metadata.uid,
      podUid: (ns, name) => cluster.get("pods", ns, name)?.metadata.uid,
    });
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
    this.apiFaults = new ApiServerFaults({
      dropWatches: () => this.dropWatches(),
      goDown: (ms) => this.goDown(ms),
      comeBack: () => this.comeBack(),
      currentResourceVersion: () => opts.cluster.resourceVersion,
      log: this.log,
    });
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
    await storeBootstrapPolicy(opts.cluster, opts.bare ?? false);
    const api = new ApiServer(server, serving, opts, aggregator);
    api.publishAuthConfigMap();
    server.on("request", (req: IncomingMessage, res: ServerResponse) => api.handle(req, res));
    // A client that sends garbage must not take the server down.
    server.on("clientError", (_err, socket) => socket.destroy());
    server.on("tlsClientError", () => {});
    if (opts.apiFaults) api.apiFaults.set(opts.apiFaults);
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

  /** The API server goes away: the listener closes and open connections are cut, for `ms`. */
  private goDown(ms: number): void {
    clearTimeout(this.downTimer);
    this.downTimer = setTimeout(() => this.comeBack(), ms);
    if (!this.server.listening) return;
    this.dropWatches();
    this.server.close();
    this.server.closeAllConnections();
    this.log(`sim: API server down for ${ms} ms`);
  }

  /** Listens again on the same address (retrying each second should the port be taken meanwhile). */
  private comeBack(): void {
    clearTimeout(this.downTimer);
    this.downTimer = undefined;
    if (this.closed || this.server.listening) return;
    const retry = (err: Error) => {
      this.log(`sim: API server cannot listen again yet: ${err.message}`);
      this.downTimer = setTimeout(() => this.comeBack(), 1000);
    };
    this.server.once("error", retry);
    this.server.listen(this.port, this.opts.host, () => {
      this.server.off("error", retry);
      this.log("sim: API server back up");
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.downTimer);
    this.apiFaults.close();
    this.aggregator.close();
    this.stopRbacSync();
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
    const user = impersonate(req, authenticate(req, this.opts.tokens), (u, attrs) => {
      const decision = this.rbac.authorize(u, attrs);
      if (decision.allowed) return;
      const { message, details } = forbiddenStatus(u, attrs, decision.reason);
      throw new ApiError(403, "Forbidden", message, details);
    });
    const url = new URL(req.url ?? "/", "https://sim.invalid");
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    const method = req.method ?? "GET";
    const get = method === "GET" || method === "HEAD";
    this.authorize(user, method, url.pathname, url.searchParams);

    if (path === "/sim/truth" && get) return writeJson(res, 200, truthOf(this.opts.cluster.scenario()));
    if (path === "/sim/faults") return this.faults(req, res, method);
    if (path === "/sim/restart") {
      if (method !== "POST") throw methodNotAllowed();
      const { namespace, pod, container } = rec(await readBody(req));
      if (typeof namespace !== "string" || typeof pod !== "string" || typeof container !== "string") {
        throw new ApiError(400, "BadRequest", 'body must be {"namespace", "pod", "container"} (strings)');
      }
      const restarted = this.opts.cluster.restartContainer(namespace, pod, container);
      this.log(`sim: restarted container ${container} of pod ${namespace}/${pod}`);
      return writeJson(res, 200, restarted);
    }
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
    if (path === "/api/v1" && get) return writeJson(res, 200, resourceList("v1", resourcesOf("v1") ?? []));
    const own = ownGroups();
    if (path === "/apis" && get) {
      return writeJson(res, 200, {
        kind: "APIGroupList",
        apiVersion: "v1",
        // kube-apiserver's order: its built-in groups by their fixed priority, then aggregated ones.
        groups: [
          ...[...own, ...Object.keys(REVIEW_GROUPS).map(v1Group)].sort(
            (a, b) => GROUP_ORDER.indexOf(a.name) - GROUP_ORDER.indexOf(b.name),
          ),
          ...this.aggregator.groups(),
        ],
      });
    }
    if (path === "/openapi/v3" && get) {
      const gvs = ["api/v1", ...own.map((g) => `apis/${g.preferredVersion.groupVersion}`)];
      return writeJson(res, 200, openApiIndex(gvs));
    }
    if (path === "/openapi/v2" && get) {
      // kubectl before 1.30 needs this to download (it reads the protobuf form) before it looks at
      // v3; the simulator publishes no v2 definitions, so kubectl falls back to its compiled-in
      // types for strategic merge patches. An empty protobuf message is an empty Document.
      if ((req.headers.accept ?? "").includes("protobuf")) {
        res.writeHead(200, {
          "Content-Type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
          "Content-Length": 0,
        });
        res.end();
        return;
      }
      return writeJson(res, 200, {
        swagger: "2.0",
        info: { title: "Kubernetes (simulated)", version: "v1.33.0" },
        paths: {},
      });
    }
    if (path.startsWith("/openapi/v3/") && get) {
      const doc = openApiDocument(path.slice("/openapi/v3/".length));
      if (doc) return writeJson(res, 200, doc);
    }
    const seg = path.split("/");
    const ownGroup = seg[1] === "apis" ? own.find((g) => g.name === seg[2]) : undefined;
    if (ownGroup && seg.length === 3 && get) {
      return writeJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...ownGroup });
    }
    if (ownGroup && seg.length === 4 && get) {
      const served = resourcesOf(`${seg[2]}/${seg[3]}`);
      if (served) return writeJson(res, 200, resourceList(`${seg[2]}/${seg[3]}`, served));
    }
    if (path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
      if (method !== "POST") throw methodNotAllowed();
      return writeJson(res, 201, selfSubjectAccessReview(await readBody(req), user, this.rbac));
    }
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

    const proxied = parseServiceProxyPath(url.pathname);
    if (proxied) {
      if (!PROXY_METHODS.has(method)) throw methodNotAllowed();
      const location = resolveServiceLocation(this.opts.cluster, proxied.namespace, proxied.id);
      return proxyToService(req, res, location, proxied.path, url.search, this.opts.proxyTimeoutMs ?? 30_000);
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

  /** GET /sim/faults: the kubelets' faults and the API server's own. */
  private faultState(): Record<string, unknown> {
    return { nodes: this.opts.faults?.faults() ?? {}, apiserver: this.apiFaults.describe() };
  }

  private async faults(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (method === "GET") return writeJson(res, 200, this.faultState());
    if (method !== "POST") throw methodNotAllowed();
    const body = rec(await readBody(req));
    if ("apiserver" in body) {
      const spec = body.apiserver;
      if (spec !== null && typeof spec !== "string") {
        throw new ApiError(
          400,
          "BadRequest",
          'body must be {"apiserver": "<KIND[:ARG][@FRACTION],...>" | null}',
        );
      }
      try {
        // Going down waits for this reply, which would otherwise be cut with the connection.
        this.apiFaults.set(spec, (goDown) => res.once("finish", goDown));
      } catch (err) {
        throw new ApiError(400, "BadRequest", (err as Error).message);
      }
      return writeJson(res, 200, this.faultState());
    }
    const control = this.opts.faults;
    if (!control) throw new ApiError(404, "NotFound", "fault injection is not enabled on this simulator", {});
    const node = body.node;
    const spec = body.fault ?? null;
    if (typeof node !== "string" || node === "" || (spec !== null && typeof spec !== "string")) {
      throw new ApiError(400, "BadRequest", 'body must be {"node": "<name>", "fault": "<SPEC>" | null}');
    }
    let fault: KubeletFault | undefined;
    try {
      fault = spec === null ? undefined : parseFaultSpec(spec);
    } catch (err) {
      if (err instanceof UsageError) throw new ApiError(400, "BadRequest", err.message);
      throw err;
    }
    // A node a delete-mid-scrape fault has deleted for the moment still has its fault to change.
    if (!this.opts.cluster.node(node) && !(node in control.faults()))
      throw new ApiError(404, "NotFound", `nodes "${node}" not found`, { name: node, kind: "nodes" });
    await control.setFault(node, fault);
    this.log(`sim: fault on node ${node} set to ${spec ?? "none"}`);
    writeJson(res, 200, this.faultState());
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
        const watching = watch === "true" || watch === "1";
        if (await this.apiFaults.intercept(watching ? "watch" : "list", resource, url, res)) return;
        if (watching) {
          serveWatch(
            {
              cluster,
              forms: this.watchForms,
              bookmarkIntervalMs: this.bookmarkIntervalMs,
              streams: this.watches,
            },
            req,
            res,
            url,
            route,
          );
          this.apiFaults.watchServed(resource, res);
          return;
        }
        return serveList(cluster, this.listForms, req, res, url, route);
      }
      if (method === "POST") return serveCreate(cluster, req, res, url, route);
      throw methodNotAllowed();
    }
    if (method === "GET") {
      const stored = cluster.mustGetStored(resource, namespace, name);
      const rep = negotiate(req.headers.accept, this.objectForms);
      if (!rep) throw notAcceptable(req.headers.accept);
      if (rep === "metadata") return writeJsonBytes(res, 200, formBytes(stored, "metadata"));
      if (rep === "json") return writeJsonBytes(res, 200, stored.json);
      const o = stored.object();
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
    if (route.subresource === "token") {
      if (method !== "POST") throw methodNotAllowed();
      return serveTokenRequest(cluster, this.serviceAccountTokens, req, res, route);
    }
    if (resource === "configmaps" && namespace === AUTH_CONFIGMAP.namespace && name === AUTH_CONFIGMAP.name) {
      // kube-apiserver rewrites this ConfigMap itself; the simulator keeps it read-only.
      throw methodNotAllowed();
    }
    return serveObjectWrite(cluster, req, res, url, method, route);
  }
}
