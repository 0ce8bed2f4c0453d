// Fake kubelets: one HTTPS listener per simulated node serving /metrics/resource (kubelet 1.33 text
// format) and /stats/summary (Summary API JSON), computed on every request from the configured
// usage, so rates between any two scrapes are exact. Optionally a second, plain-HTTP listener per
// node with the same handlers, like the kubelet's read-only port. Each kubelet can be made to
// misbehave (KubeletFault): transport faults in fault-answers.ts, value faults in fault-bodies.ts.

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
import {
  BODY_FAULT_KINDS,
  type BodyFaultKind,
  type KubeletFault,
  type KubeletView,
  type SimNode,
  type TlsFaultKind,
  type UserInfo,
} from "../types.ts";
import { ByteWriter, GzipEncoder, send } from "./body.ts";
import { GARBAGE_BODY, resetConnection, sendHuge, sendTruncated, statusFaultBody } from "./fault-answers.ts";
import { distortResourceMetrics, distortSummary, FaultMemory } from "./fault-bodies.ts";
import { FaultEffects, type NodeControl } from "./fault-effects.ts";
import { RESOURCE_METRICS_CONTENT_TYPE, writeResourceMetrics } from "./resourcemetrics.ts";
import { renderSummary, summaryObject } from "./summary.ts";
import { NodeCounterState } from "./usage.ts";

/**
 * How the kubelets authenticate and authorize callers (as --client-ca-file, webhook token
 * authentication and webhook authorization would, answered in-process).
 */
export interface KubeletAuth {
  tokens: TokenTable;
  rbac: Rbac;
}

const START_BATCH = 250;

/** Which serving certificate a kubelet presents. */
type TlsMode = "good" | TlsFaultKind;

function tlsMode(fault: KubeletFault | undefined): TlsMode {
  const kind = fault?.kind;
  return kind === "tls-expired" || kind === "wrong-ca" || kind === "wrong-name" ? kind : "good";
}

function bodyFaultKind(fault: KubeletFault | undefined): BodyFaultKind | undefined {
  return BODY_FAULT_KINDS.find((k) => k === fault?.kind);
}

/** An address no kubelet has, for certificates that must not name the node. */
const WRONG_NAME_IP = "192.0.2.1";

interface Listener {
  /** The node as started, with kubeletPort set to the port actually bound. */
  node: SimNode;
  /** Serving certificates by mode, each made on first use. */
  certs: Map<TlsMode, CertAndKey>;
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
  /** How flap and delete-mid-scrape change the cluster; without it they do nothing. */
  nodeControl?: NodeControl;
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

/** One HTTPS kubelet endpoint per node, on node.internalIP:node.kubeletPort. */
export class KubeletFleet {
  private readonly view: KubeletView;
  private readonly ca: CA;
  private readonly log: (line: string) => void;
  private readonly faults = new Map<string, KubeletFault>();
  private readonly faultMemory = new Map<string, FaultMemory>();
  /** Timers of delayed answers, cleared by close(). */
  private readonly delays = new Set<NodeJS.Timeout>();
  /** What flap and delete-mid-scrape are doing to the cluster. */
  private readonly effects: FaultEffects;
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
    this.effects = new FaultEffects(this.view, opts.nodeControl, this.log);
    for (const [node, fault] of opts.faults ?? []) this.startFault(node, fault);
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
   * Makes a node's kubelet misbehave (or behave again with undefined), from the next request on once
   * the returned promise resolves. Changing the certificate (a TLS fault, or clearing one) also closes
   * the kubelet's open connections, so the next request handshakes again. Clearing a fault undoes its
   * effects on the cluster (Ready restored, a deleted Node re-created).
   */
  async setFault(node: string, fault: KubeletFault | undefined): Promise<void> {
    const before = this.faults.get(node);
    await this.effects.stop(node, true);
    this.faults.delete(node);
    if (fault) this.startFault(node, fault);
    const listener = this.listeners.get(node);
    const refusing = (f: KubeletFault | undefined) => f?.kind === "refuse";
    if (listener && refusing(fault) && !refusing(before)) await this.stopListening(listener);
    if (listener && refusing(before) && !refusing(fault)) await this.resumeListening(listener);
    if (listener && tlsMode(before) !== tlsMode(fault)) {
      listener.server.setSecureContext(await this.secureContext(listener.node, tlsMode(fault), listener));
      this.dropConnections(listener);
    }
  }

  private startFault(node: string, fault: KubeletFault): void {
    this.faults.set(node, fault);
    if (fault.kind === "counter-reset") this.memoryOf(node).resetPending = true;
    if (fault.kind === "backwards-timestamp") this.memoryOf(node).lastBackwardsMs = undefined;
    if (fault.kind === "flap") this.effects.startFlap(node, fault.periodMs);
    if (fault.kind === "not-ready") this.effects.startNotReady(node);
  }

  private memoryOf(node: string): FaultMemory {
    let memory = this.faultMemory.get(node);
    if (!memory) {
      memory = new FaultMemory();
      this.faultMemory.set(node, memory);
    }
    return memory;
  }

  /** Closes every open connection of a kubelet (requests in flight included). */
  private dropConnections(listener: Listener): void {
    for (const socket of listener.sockets) socket.destroy();
    listener.sockets.clear();
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

  /**
   * TLS options for a node's kubelet: its serving cert for `mode` (from the cluster CA naming the node
   * when "good") and the client CA.
   */
  private async secureContext(
    node: SimNode,
    mode: TlsMode,
    listener?: Listener,
  ): Promise<{ cert: string; key: string; ca: string }> {
    let serving = listener?.certs.get(mode);
    if (!serving) {
      const issuer = await this.issuer(
        mode === "wrong-ca" ? await this.wrongCertificateAuthority() : this.ca,
      );
      const names =
        mode === "wrong-name"
          ? { ipAddresses: [WRONG_NAME_IP], dnsNames: [`not-${node.name}`] }
          : servingNames(node);
      const request = { commonName: `system:node:${node.name}`, organizations: ["system:nodes"], ...names };
      // Expired: valid for one day, a month ago.
      const certPem =
        mode === "tls-expired"
          ? issuer.issue({ ...request, days: 1 }, Date.now() - 30 * 86_400_000)
          : issuer.issue(request);
      serving = { certPem, keyPem: issuer.keyPem };
      listener?.certs.set(mode, serving);
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
    const certs = new Map<TlsMode, CertAndKey>();
    const mode = tlsMode(this.faults.get(node.name));
    const tls = await this.secureContext(node, mode);
    certs.set(mode, { certPem: tls.cert, keyPem: tls.key });
    const listener: Listener = {
      node,
      certs,
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
    else if (this.faults.get(node.name)?.kind === "refuse") await this.stopListening(listener);
    return listener.node.kubeletPort;
  }

  /**
   * Stops a node's kubelet and forgets its counters. Unknown names are ignored, and so are the
   * deletions a delete-mid-scrape fault makes.
   */
  async removeNode(name: string): Promise<void> {
    if (this.effects.deleting(name)) return;
    await this.effects.stop(name, false);
    this.faultMemory.delete(name);
    const listener = this.listeners.get(name);
    this.listeners.delete(name);
    this.states.delete(name);
    if (listener) await this.closeListener(listener);
  }

  /** Closes every listener and every open connection, including hanging requests. */
  async close(): Promise<void> {
    this.closed = true;
    await this.effects.close();
    for (const timer of this.delays) clearTimeout(timer);
    this.delays.clear();
    const all = [...this.listeners.values()];
    this.listeners.clear();
    this.states.clear();
    this.gzip.close();
    await Promise.all(all.map((l) => this.closeListener(l)));
  }

  /** A "refuse" fault: the kubelet's ports stop listening (the node and its counters stay). */
  private stopListening(listener: Listener): Promise<void> {
    return this.closeListener(listener);
  }

  /** The "refuse" fault cleared: listen again on the same address and ports. */
  private async resumeListening(listener: Listener): Promise<void> {
    const { internalIP, kubeletPort } = listener.node;
    if (!listener.server.listening) await listen(listener.server, kubeletPort, internalIP);
    if (listener.readOnly && !listener.readOnly.listening && this.readOnlyPort !== undefined) {
      await listen(listener.readOnly, this.readOnlyPort, internalIP);
    }
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
    switch (fault?.kind) {
      case "hang":
        return; // never answered; close() destroys the socket
      case "reset":
        return resetConnection(req, listener.sockets);
      case "status":
        return send(
          req,
          res,
          fault.code,
          "text/plain; charset=utf-8",
          statusFaultBody(fault.code),
          this.gzip,
        );
      case "garbage":
        return send(req, res, 200, "text/plain; charset=utf-8", GARBAGE_BODY, this.gzip);
      case "delay":
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.delays.delete(timer);
            resolve();
          }, fault.ms);
          this.delays.add(timer);
        });
        if (res.destroyed || this.closed) return;
        break;
      case "delete-mid-scrape":
        await this.effects.deleteMidScrape(nodeName, fault.recreateAfterMs);
        break;
    }

    const pods = this.view.podsOnNode(nodeName);
    const state = this.states.get(nodeName);
    const now = Date.now();
    const kind = bodyFaultKind(fault);
    const memory = kind !== undefined ? this.memoryOf(nodeName) : this.faultMemory.get(nodeName);
    const context =
      memory && (kind !== undefined || memory.changesHealthy)
        ? { kind, node, nowMs: now, memory }
        : undefined;
    if (isMetrics) {
      this.body.reset();
      writeResourceMetrics(this.body, node, pods, now, state);
      const body = context ? distortResourceMetrics(this.body.toString(), context) : this.body.view();
      return this.answer(req, res, fault, RESOURCE_METRICS_CONTENT_TYPE, body);
    }
    const only = url.searchParams.getAll("only_cpu_and_memory");
    const onlyCpuAndMemory = only.length === 1 && only[0] === "true";
    const body = context
      ? distortSummary(summaryObject(node, pods, now, state, onlyCpuAndMemory), context)
      : renderSummary(node, pods, now, state, onlyCpuAndMemory);
    return this.answer(req, res, fault, "application/json", body);
  }

  /** Sends a 200 body, whole or as a truncated or huge fault wants it. */
  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    fault: KubeletFault | undefined,
    contentType: string,
    body: string | Buffer,
  ): Promise<void> {
    // Copies: a Buffer body is the shared scratch, which the next request reuses.
    if (fault?.kind === "truncated") return sendTruncated(res, contentType, Buffer.from(body));
    if (fault?.kind === "huge") return sendHuge(res, contentType, Buffer.from(body));
    send(req, res, 200, contentType, body, this.gzip);
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
