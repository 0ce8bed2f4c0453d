// Fake kubelets: one HTTPS listener per simulated node serving /metrics/resource (kubelet 1.33 text
// format) and /stats/summary (Summary API JSON), computed on every request from the configured
// usage, so rates between any two scrapes are exact. Optionally a second, plain-HTTP listener per
// node with the same handlers, like the kubelet's read-only port.

import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as http from "node:http";
import * as https from "node:https";
import { type AddressInfo, isIP, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  bearerToken,
  type CA,
  type CertAndKey,
  certUser,
  createCA,
  createKeyPair,
  type KeyPairWithPem,
  type Rbac,
  ServingCertIssuer,
  type TokenTable,
} from "../auth/index.ts";
import type { KubeletFault, KubeletView, SimNode, UserInfo } from "../types.ts";
import { ByteWriter, GzipEncoder } from "./body.ts";
import { RESOURCE_METRICS_CONTENT_TYPE, writeResourceMetrics } from "./resourcemetrics.ts";
import { renderSummary } from "./summary.ts";
import { NodeCounterState } from "./usage.ts";

/**
 * How the kubelets authenticate and authorize callers (as --client-ca-file, webhook token
 * authentication and webhook authorization would, answered in-process).
 */
export interface KubeletAuth {
  tokens: TokenTable;
  rbac: Rbac;
}

// Not Prometheus text (a line may not start with '<', and the labels are unterminated) nor JSON.
const GARBAGE_BODY =
  "<html><body>upstream connect error</body></html>\nnode_cpu_usage_seconds_total{broken 1 x\n";
const START_BATCH = 250;

interface Listener {
  /** The node as started, with kubeletPort set to the port actually bound. */
  node: SimNode;
  /** The serving certificate from the cluster CA, and (once needed) one from the wrong CA. */
  serving: CertAndKey;
  wrongServing?: CertAndKey;
  server: https.Server;
  /** The plain-HTTP read-only port, when the fleet has one. */
  readOnly: http.Server | undefined;
  sockets: Set<Socket>;
}

export interface KubeletFleetOptions {
  view: KubeletView;
  nodes: readonly SimNode[];
  ca: CA;
  faults?: ReadonlyMap<string, KubeletFault>;
  /** Also serve plain HTTP (no TLS, no auth) on internalIP:readOnlyPort, like the kubelet's read-only port. */
  readOnlyPort?: number;
  /** Authenticate and authorize HTTPS callers; absent = serve anyone (tests of the payloads only). */
  auth?: KubeletAuth;
  log?: (line: string) => void;
}

const DEFAULT_RESOURCE_METRICS_PATH = "/metrics/resource";

/** "ip:port", bracketing IPv6 addresses. */
export function hostPort(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

async function listen(server: http.Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err))]);
  return (server.address() as AddressInfo).port;
}

/** What a kubelet's serving certificate names: its InternalIP and node name plus its published addresses. */
export function servingNames(node: SimNode): { ipAddresses: string[]; dnsNames: string[] } {
  if (node.servingCertSANs === "dns-only") return { ipAddresses: [], dnsNames: [node.name] };
  const ips = new Set([node.internalIP]);
  const dns = new Set([node.name]);
  for (const a of node.addresses ?? []) {
    if (isIP(a.address) !== 0) ips.add(a.address);
    else dns.add(a.address);
  }
  return { ipAddresses: [...ips], dnsNames: [...dns] };
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers["accept-encoding"];
  if (typeof header !== "string") return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return coding.trim().toLowerCase() === "gzip" && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * Answers with `body` (gzipped when a 200 and asked for). A Buffer body may be shared scratch: it is
 * compressed or copied before this returns.
 */
function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  gzip: GzipEncoder,
): void {
  res.statusCode = status;
  res.setHeader("Content-Type", contentType);
  let payload: Buffer;
  if (status === 200 && acceptsGzip(req)) {
    // The fastest level: the bytes after decompression are the same, and compressing at the
    // default level cost the simulator more CPU than rendering the body.
    payload = gzip.encode(typeof body === "string" ? Buffer.from(body) : body);
    res.setHeader("Content-Encoding", "gzip");
  } else {
    // A copy for a Buffer: the caller's scratch is reused by the next response.
    payload = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  }
  res.setHeader("Content-Length", payload.length);
  res.end(payload);
}

/** One HTTPS kubelet endpoint per node, on node.internalIP:node.kubeletPort. */
export class KubeletFleet {
  private readonly view: KubeletView;
  private readonly ca: CA;
  private readonly log: (line: string) => void;
  private readonly faults = new Map<string, KubeletFault>();
  private readonly listeners = new Map<string, Listener>();
  private readonly states = new Map<string, NodeCounterState>();
  private readonly readOnlyPort: number | undefined;
  private readonly auth: KubeletAuth | undefined;
  /** Every kubelet of the fleet renders into this and compresses with this (both synchronous). */
  private readonly body = new ByteWriter();
  private readonly gzip = new GzipEncoder();
  /** The one key pair every serving cert of this fleet uses (made on first use). */
  private servingKey: Promise<KeyPairWithPem> | undefined;
  /** Serving-cert issuers of the cluster CA and of the wrong CA, made on first use. */
  private readonly issuers = new Map<CA, ServingCertIssuer>();
  /** A CA nobody trusts, made on first use by a wrong-ca fault. */
  private wrongCA: Promise<CA> | undefined;
  private closed = false;

  private constructor(opts: KubeletFleetOptions) {
    this.view = opts.view;
    this.ca = opts.ca;
    this.log = opts.log ?? (() => {});
    if (
      opts.readOnlyPort !== undefined &&
      (!Number.isInteger(opts.readOnlyPort) || opts.readOnlyPort < 1 || opts.readOnlyPort > 65535)
    ) {
      throw new Error(`KubeletFleet: readOnlyPort must be a port number 1..65535, got ${opts.readOnlyPort}`);
    }
    this.readOnlyPort = opts.readOnlyPort;
    this.auth = opts.auth;
    for (const [node, fault] of opts.faults ?? []) this.faults.set(node, fault);
  }

  /** Issues serving certs and starts listening for every node (in parallel batches). */
  static async start(opts: KubeletFleetOptions): Promise<KubeletFleet> {
    const fleet = new KubeletFleet(opts);
    const names = new Set<string>();
    for (const n of opts.nodes) {
      if (names.has(n.name))
        throw new Error(`KubeletFleet.start: duplicate node name ${JSON.stringify(n.name)}`);
      names.add(n.name);
    }
    const started = performance.now();
    try {
      for (let i = 0; i < opts.nodes.length; i += START_BATCH) {
        await Promise.all(opts.nodes.slice(i, i + START_BATCH).map((n) => fleet.addNode(n)));
      }
    } catch (err) {
      await fleet.close();
      throw err;
    }
    fleet.log(`started ${opts.nodes.length} kubelets in ${Math.round(performance.now() - started)} ms`);
    return fleet;
  }

  /**
   * Makes a node's kubelet misbehave (or behave again with undefined). Takes effect on the next
   * request; wrong-ca (and undoing it) on the next TLS handshake, once the returned promise resolves.
   */
  async setFault(node: string, fault: KubeletFault | undefined): Promise<void> {
    const before = this.faults.get(node);
    if (fault === undefined) this.faults.delete(node);
    else this.faults.set(node, fault);
    const listener = this.listeners.get(node);
    if (listener && (before === "wrong-ca") !== (fault === "wrong-ca")) {
      listener.server.setSecureContext(
        await this.secureContext(listener.node, fault === "wrong-ca", listener),
      );
    }
  }

  private wrongCertificateAuthority(): Promise<CA> {
    this.wrongCA ??= createCA("not-the-cluster-ca");
    return this.wrongCA;
  }

  private async issuer(ca: CA): Promise<ServingCertIssuer> {
    this.servingKey ??= createKeyPair();
    const key = await this.servingKey;
    let issuer = this.issuers.get(ca);
    if (!issuer) {
      issuer = ServingCertIssuer.create(ca, key);
      this.issuers.set(ca, issuer);
    }
    return issuer;
  }

  /** TLS options for a node's kubelet: its serving cert (from the wrong CA when asked) and the client CA. */
  private async secureContext(
    node: SimNode,
    wrong: boolean,
    listener?: Listener,
  ): Promise<{ cert: string; key: string; ca: string }> {
    let serving: CertAndKey | undefined = wrong ? listener?.wrongServing : listener?.serving;
    if (!serving) {
      const issuer = await this.issuer(wrong ? await this.wrongCertificateAuthority() : this.ca);
      const certPem = issuer.issue({
        commonName: `system:node:${node.name}`,
        organizations: ["system:nodes"],
        ...servingNames(node),
      });
      serving = { certPem, keyPem: issuer.keyPem };
      if (listener && wrong) listener.wrongServing = serving;
    }
    return { cert: serving.certPem, key: serving.keyPem, ca: this.ca.certPem };
  }

  /** The port node `name`'s kubelet listens on (resolves kubeletPort 0), or undefined if none runs. */
  kubeletPort(name: string): number | undefined {
    return this.listeners.get(name)?.node.kubeletPort;
  }

  /**
   * Starts a kubelet for `node` and returns the HTTPS port it listens on (node.kubeletPort, or the
   * free port picked for 0); a no-op if one already serves the same address.
   */
  async addNode(node: SimNode): Promise<number> {
    if (this.closed) throw new Error(`KubeletFleet is closed: cannot add node ${node.name}`);
    const existing = this.listeners.get(node.name);
    if (existing) {
      const samePort = node.kubeletPort === 0 || existing.node.kubeletPort === node.kubeletPort;
      if (existing.node.internalIP === node.internalIP && samePort) return existing.node.kubeletPort;
      await this.removeNode(node.name);
    }
    const good = await this.secureContext(node, false);
    const wrong = this.faults.get(node.name) === "wrong-ca";
    const tls = wrong ? await this.secureContext(node, true) : good;
    const listener: Listener = {
      node,
      serving: { certPem: good.cert, keyPem: good.key },
      ...(wrong ? { wrongServing: { certPem: tls.cert, keyPem: tls.key } } : {}),
      sockets: new Set(),
      // Client certificates are asked for and checked per request (a caller may use a token instead).
      server: https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }),
      readOnly: this.readOnlyPort === undefined ? undefined : http.createServer(),
    };
    for (const server of [listener.server, listener.readOnly]) {
      if (!server) continue;
      server.keepAliveTimeout = 120_000;
      server.headersTimeout = 125_000;
      server.on("connection", (socket: Socket) => {
        listener.sockets.add(socket);
        socket.once("close", () => listener.sockets.delete(socket));
      });
      // A broken client must not take the simulator down.
      server.on("clientError", (_err, socket) => socket.destroy());
      const secure = server === listener.server;
      server.on("request", (req, res) => this.handle(node.name, listener, req, res, secure));
    }
    // Claim the slot before listening so a concurrent addNode of the same node sees it.
    this.listeners.set(node.name, listener);
    if (!this.states.has(node.name)) this.states.set(node.name, new NodeCounterState());
    let address = hostPort(node.internalIP, node.kubeletPort);
    try {
      const port = await listen(listener.server, node.kubeletPort, node.internalIP);
      listener.node = { ...node, kubeletPort: port };
      if (listener.readOnly && this.readOnlyPort !== undefined) {
        address = `${hostPort(node.internalIP, this.readOnlyPort)} (read-only port)`;
        await listen(listener.readOnly, this.readOnlyPort, node.internalIP);
      }
    } catch (err) {
      if (this.listeners.get(node.name) === listener) {
        this.listeners.delete(node.name);
        this.states.delete(node.name);
      }
      await this.closeListener(listener);
      throw new Error(
        `kubelet for node ${node.name}: cannot listen on ${address}: ${(err as Error).message}`,
      );
    }
    if (this.closed) await this.closeListener(listener);
    return listener.node.kubeletPort;
  }

  /** Stops a node's kubelet and forgets its counters. Unknown names are ignored. */
  async removeNode(name: string): Promise<void> {
    const listener = this.listeners.get(name);
    this.listeners.delete(name);
    this.states.delete(name);
    if (listener) await this.closeListener(listener);
  }

  /** Closes every listener and every open connection, including hanging requests. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.listeners.values()];
    this.listeners.clear();
    this.states.clear();
    this.gzip.close();
    await Promise.all(all.map((l) => this.closeListener(l)));
  }

  private async closeListener(listener: Listener): Promise<void> {
    const servers = [listener.server, listener.readOnly].filter((s) => s !== undefined);
    const closed = servers.map((server) =>
      server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve(),
    );
    for (const socket of listener.sockets) socket.destroy();
    listener.sockets.clear();
    for (const server of servers) server.closeAllConnections();
    await Promise.all(closed);
  }

  private handle(
    nodeName: string,
    listener: Listener,
    req: IncomingMessage,
    res: ServerResponse,
    secure: boolean,
  ): void {
    const run = async () => {
      if (secure && this.auth && !this.authorized(nodeName, listener, req, res)) return;
      await this.respond(nodeName, listener, req, res);
    };
    run().catch((err: unknown) => {
      this.log(`kubelet ${nodeName}: failed to answer ${req.method} ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader("Content-Type", "text/plain; charset=utf-8");
        res.end(`Internal Error: ${(err as Error).message}\n`);
      } else {
        res.destroy();
      }
    });
  }

  /**
   * The kubelet's auth filter: x509 (cluster CA) or bearer token (as a TokenReview would answer),
   * anonymous disabled (401), then RBAC on nodes/<subresource> named after the node (403).
   */
  private authorized(
    nodeName: string,
    listener: Listener,
    req: IncomingMessage,
    res: ServerResponse,
  ): boolean {
    const auth = this.auth!;
    let user: UserInfo | undefined = certUser(req.socket as TLSSocket);
    if (!user) {
      const token = bearerToken(req.headers.authorization);
      user = token === undefined ? undefined : auth.tokens.authenticate(token);
    }
    if (!user) {
      res.writeHead(401, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("Unauthorized");
      return false;
    }
    const path = new URL(req.url ?? "/", "https://kubelet").pathname;
    // A node's moved resource-metrics endpoint is still its metrics.
    const movedMetrics = (this.view.node(nodeName) ?? listener.node).resourceMetricsPath;
    const subresource = path === movedMetrics ? "metrics" : kubeletSubresource(path);
    const verb = kubeletVerb(req.method ?? "GET");
    const decision = auth.rbac.authorize(user, {
      kind: "resource",
      verb,
      group: "",
      version: "v1",
      resource: "nodes",
      subresource,
      name: nodeName,
    });
    if (decision.allowed) return true;
    res.writeHead(403, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(`Forbidden (user=${user.name}, verb=${verb}, resource=nodes, subresource=${subresource})`);
    return false;
  }

  private async respond(nodeName: string, listener: Listener, req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "https://kubelet");
    const node = this.view.node(nodeName) ?? listener.node;
    // A summary-only kubelet serves no resource metrics at all; otherwise they live at one path,
    // and the mux answers 404 elsewhere (including /metrics/resource when the path is moved).
    const metricsPath = node.summaryOnly
      ? undefined
      : (node.resourceMetricsPath ?? DEFAULT_RESOURCE_METRICS_PATH);
    const isMetrics = url.pathname === metricsPath;
    if (!isMetrics && url.pathname !== "/stats/summary") {
      return send(req, res, 404, "text/plain; charset=utf-8", "404 page not found\n", this.gzip);
    }
    if (req.method !== "GET") {
      res.setHeader("Allow", "GET");
      return send(req, res, 405, "text/plain; charset=utf-8", "405: Method Not Allowed\n", this.gzip);
    }
    const fault = this.faults.get(nodeName);
    if (fault === "hang") return; // never answered; close() destroys the socket
    if (fault === "http500") {
      return send(
        req,
        res,
        500,
        "text/plain; charset=utf-8",
        "Internal Error: simulated kubelet failure\n",
        this.gzip,
      );
    }
    if (fault === "garbage") return send(req, res, 200, "text/plain; charset=utf-8", GARBAGE_BODY, this.gzip);

    const pods = this.view.podsOnNode(nodeName);
    const state = this.states.get(nodeName);
    const now = Date.now();
    if (isMetrics) {
      this.body.reset();
      writeResourceMetrics(this.body, node, pods, now, state);
      return send(req, res, 200, RESOURCE_METRICS_CONTENT_TYPE, this.body.view(), this.gzip);
    }
    const only = url.searchParams.getAll("only_cpu_and_memory");
    const onlyCpuAndMemory = only.length === 1 && only[0] === "true";
    return send(
      req,
      res,
      200,
      "application/json",
      renderSummary(node, pods, now, state, onlyCpuAndMemory),
      this.gzip,
    );
  }
}

/** The nodes subresource the kubelet authorizes a path as (its authorizer's path mapping). */
export function kubeletSubresource(path: string): string {
  const first = path.split("/")[1] ?? "";
  switch (first) {
    case "stats":
      return "stats";
    case "metrics":
      return "metrics";
    case "logs":
      return "log";
    case "spec":
      return "spec";
    case "checkpoint":
      return "checkpoint";
    case "configz":
      return "configz";
    case "healthz":
      return "healthz";
    case "pods":
      return "pods";
    default:
      return "proxy";
  }
}

function kubeletVerb(method: string): string {
  switch (method.toUpperCase()) {
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return "get";
  }
}
