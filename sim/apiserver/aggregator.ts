// kube-aggregator: requests for an API group registered by an APIService with a `spec.service` are
// proxied to that Service's endpoint over HTTPS, authenticated with the front-proxy client
// certificate and carrying the caller's identity in X-Remote-User / X-Remote-Group, as kube-apiserver
// does. Failures answer the way Go's http.Error does (503, text/plain), which kubectl turns into
// "the server is currently unable to handle the request".

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import * as https from "node:https";
import type { CertAndKey } from "../auth/index.ts";
import type { Cluster, KubeObject } from "../state/index.ts";
import type { UserInfo } from "../types.ts";
import { PROXY_DROP_REQUEST_HEADERS, PROXY_DROP_RESPONSE_HEADERS } from "./http.ts";

export interface AggregatorOptions {
  cluster: Cluster;
  /** Client certificate (CN front-proxy-client) signed by the front-proxy CA. */
  frontProxyClient: CertAndKey;
  /** Give up on a backend that has not answered (headers) within this time. Default 30 s. */
  proxyTimeoutMs?: number;
  /** How often APIService availability is re-checked. Default 10 s; 0 disables the periodic check. */
  availabilityIntervalMs?: number;
  log?: (line: string) => void;
}

export interface GroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

export interface APIGroup {
  name: string;
  versions: GroupVersionForDiscovery[];
  preferredVersion: GroupVersionForDiscovery;
}

export interface Target {
  host: string;
  port: number;
}

/** Where resolving a Service to an endpoint failed; the message is what gets logged. */
class ResolveError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

const DISCOVERY_TIMEOUT_MS = 5_000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function spec(o: KubeObject): Record<string, unknown> {
  return isRecord(o.spec) ? o.spec : {};
}

/** Go's http.Error: text/plain body ending in a newline. */
/**
 * One ready endpoint of a Service port, picked at random among every ready address that serves the
 * port (its name, as the endpoints controller copies it from the Service), the way kube-apiserver
 * with --enable-aggregator-routing=true spreads requests over an HA install's replicas.
 * notReadyAddresses never serve. Undefined when no ready address has the port.
 */
export function chooseEndpoint(
  subsets: unknown,
  portName: string,
  random: () => number = Math.random,
): Target | undefined {
  const candidates: Target[] = [];
  for (const ss of Array.isArray(subsets) ? subsets.filter(isRecord) : []) {
    const epPorts = Array.isArray(ss.ports) ? ss.ports.filter(isRecord) : [];
    const epPort = epPorts.find((p) => (typeof p.name === "string" ? p.name : "") === portName);
    if (!epPort || typeof epPort.port !== "number") continue;
    for (const a of Array.isArray(ss.addresses) ? ss.addresses.filter(isRecord) : []) {
      if (typeof a.ip === "string" && a.ip !== "") candidates.push({ host: a.ip, port: epPort.port });
    }
  }
  if (candidates.length === 0) return undefined;
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
}

export function writePlainError(res: ServerResponse, code: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(code, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
  });
  res.end(message + "\n");
}

// Go's error strings for the common dial failures, so logs and bodies read like kube-apiserver's.
function describeNetError(err: NodeJS.ErrnoException, target: Target): string {
  const addr = `${target.host}:${target.port}`;
  switch (err.code) {
    case "ECONNREFUSED":
      return `dial tcp ${addr}: connect: connection refused`;
    case "ECONNRESET":
      return `read tcp ${addr}: read: connection reset by peer`;
    case "EHOSTUNREACH":
      return `dial tcp ${addr}: connect: no route to host`;
    case "ETIMEDOUT":
      return `dial tcp ${addr}: i/o timeout`;
    default:
      return err.message;
  }
}

export class Aggregator {
  private readonly cluster: Cluster;
  private readonly client: CertAndKey;
  private readonly proxyTimeoutMs: number;
  private readonly log: (line: string) => void;
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checkScheduled: NodeJS.Timeout | undefined;
  private checking = false;
  private closed = false;

  constructor(opts: AggregatorOptions) {
    this.cluster = opts.cluster;
    this.client = opts.frontProxyClient;
    this.proxyTimeoutMs = opts.proxyTimeoutMs ?? 30_000;
    this.log = opts.log ?? (() => {});
    const interval = opts.availabilityIntervalMs ?? 10_000;
    if (interval > 0) {
      this.timer = setInterval(() => this.scheduleCheck(), interval);
      this.timer.unref();
      // Registration changes are re-checked at once, as the availability controller reacts to them.
      for (const r of ["apiservices", "services", "endpoints"] as const) {
        this.unsubscribe.push(
          this.cluster.subscribe(r, (e) => {
            // Our own status writes must not trigger another round.
            if (!(r === "apiservices" && e.type === "MODIFIED")) this.scheduleCheck();
          }),
        );
      }
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.checkScheduled) clearTimeout(this.checkScheduled);
    for (const u of this.unsubscribe) u();
  }

  /** APIServices of `group` that proxy to a Service, highest version priority first. */
  private servicesOf(group: string): KubeObject[] {
    return this.cluster
      .list("apiservices")
      .filter((a) => spec(a).group === group && isRecord(spec(a).service))
      .sort((a, b) => Number(spec(b).versionPriority ?? 0) - Number(spec(a).versionPriority ?? 0));
  }

  /** Groups served through the aggregator, ordered by groupPriorityMinimum (highest first) as kube does. */
  groups(): APIGroup[] {
    const names = new Map<string, number>();
    for (const a of this.cluster.list("apiservices")) {
      const s = spec(a);
      if (typeof s.group !== "string" || s.group === "" || !isRecord(s.service)) continue;
      names.set(s.group, Math.max(names.get(s.group) ?? 0, Number(s.groupPriorityMinimum ?? 0)));
    }
    return [...names.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([g]) => this.group(g)!);
  }

  /** The APIGroup discovery document for an aggregated group (kube-apiserver serves it itself). */
  group(name: string): APIGroup | undefined {
    const services = this.servicesOf(name);
    if (services.length === 0) return undefined;
    const versions = services.map((a) => ({
      groupVersion: `${name}/${String(spec(a).version)}`,
      version: String(spec(a).version),
    }));
    return { name, versions, preferredVersion: versions[0] };
  }

  /** The APIService that owns `/apis/<group>/<version>/...`, if it is served by a Service. */
  apiServiceFor(group: string, version: string): KubeObject | undefined {
    const a = this.cluster.get("apiservices", undefined, `${version}.${group}`);
    return a && isRecord(spec(a).service) ? a : undefined;
  }

  /** Service → port → Endpoints address, the way kube-aggregator's endpoint routing resolves it. */
  private resolve(apiService: KubeObject): Target {
    const svcRef = spec(apiService).service as Record<string, unknown>;
    const ns = String(svcRef.namespace ?? "");
    const name = String(svcRef.name ?? "");
    const port = typeof svcRef.port === "number" ? svcRef.port : 443;
    const svc = this.cluster.get("services", ns, name);
    if (!svc) throw new ResolveError("ServiceNotFound", `service/${name} in "${ns}" is not present`);
    const svcSpec = spec(svc);
    const ports = Array.isArray(svcSpec.ports) ? svcSpec.ports.filter(isRecord) : [];
    const svcPort = ports.find((p) => p.port === port);
    if (!svcPort)
      throw new ResolveError("ServicePortError", `no service port ${port} found for service "${name}"`);
    if (svcSpec.type === "ExternalName" && typeof svcSpec.externalName === "string") {
      return { host: svcSpec.externalName, port };
    }
    const eps = this.cluster.get("endpoints", ns, name);
    const noEndpoints = new ResolveError("MissingEndpoints", `no endpoints available for service "${name}"`);
    if (!eps)
      throw new ResolveError(
        "MissingEndpoints",
        `endpoints for service/${name} in "${ns}" have no addresses`,
      );
    const target = chooseEndpoint(eps.subsets, typeof svcPort.name === "string" ? svcPort.name : "");
    if (!target) throw noEndpoints;
    return target;
  }

  private tlsOptions(apiService: KubeObject): https.RequestOptions {
    const s = spec(apiService);
    const svcRef = s.service as Record<string, unknown>;
    const opts: https.RequestOptions = {
      cert: this.client.certPem,
      key: this.client.keyPem,
      // The backend's serving certificate is checked against the Service DNS name, as upstream does.
      servername: `${String(svcRef.name)}.${String(svcRef.namespace)}.svc`,
      agent: false,
    };
    if (s.insecureSkipTLSVerify === true) opts.rejectUnauthorized = false;
    else if (typeof s.caBundle === "string" && s.caBundle !== "") {
      opts.ca = Buffer.from(s.caBundle, "base64").toString("utf8");
    }
    return opts;
  }

  /** Proxies one request to the APIService's backend and streams the answer back. */
  proxy(req: IncomingMessage, res: ServerResponse, user: UserInfo, apiService: KubeObject, url: URL): void {
    let target: Target;
    try {
      target = this.resolve(apiService);
    } catch (err) {
      const svcRef = spec(apiService).service as Record<string, unknown>;
      this.log(
        `aggregator: error resolving ${String(svcRef.namespace)}/${String(svcRef.name)}: ${(err as Error).message}`,
      );
      writePlainError(res, 503, "service unavailable");
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) {
      const lk = k.toLowerCase();
      if (v === undefined || PROXY_DROP_REQUEST_HEADERS.has(lk) || lk.startsWith("x-remote-")) continue;
      headers[lk] = v;
    }
    headers["x-remote-user"] = user.name;
    if (user.groups.length > 0) headers["x-remote-group"] = [...user.groups];
    for (const [key, values] of Object.entries(user.extra ?? {})) {
      // Keys travel percent-encoded (lower case), as kube-apiserver's header writer does.
      if (values.length > 0) headers[`x-remote-extra-${encodeURIComponent(key.toLowerCase())}`] = [...values];
    }
    headers.host = `${target.host}:${target.port}`;

    // A discovery request (/apis/<g>/<v>) gets the aggregator's short timeout.
    const isDiscovery = url.pathname.replace(/\/+$/, "").split("/").length === 4;
    const timeoutMs = isDiscovery ? Math.min(DISCOVERY_TIMEOUT_MS, this.proxyTimeoutMs) : this.proxyTimeoutMs;

    const upstream = https.request({
      ...this.tlsOptions(apiService),
      host: target.host,
      port: target.port,
      method: req.method,
      path: url.pathname + url.search,
      headers,
    });
    let answered = false;
    const timer = setTimeout(() => {
      upstream.destroy(new Error("net/http: timeout awaiting response headers"));
    }, timeoutMs);
    upstream.on("response", (up) => {
      answered = true;
      clearTimeout(timer);
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(up.headers)) {
        if (v !== undefined && !PROXY_DROP_RESPONSE_HEADERS.has(k.toLowerCase())) out[k] = v;
      }
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
      up.on("error", () => res.destroy());
      res.on("close", () => up.destroy());
    });
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (answered) {
        res.destroy();
        return;
      }
      const message = describeNetError(err, target);
      this.log(
        `aggregator: proxying ${req.method} ${url.pathname} to ${target.host}:${target.port}: ${message}`,
      );
      writePlainError(res, 503, message);
    });
    // The caller going away cancels the backend request (a closed watch, an interrupted kubectl).
    res.on("close", () => {
      clearTimeout(timer);
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  private scheduleCheck(): void {
    if (this.closed || this.checkScheduled) return;
    this.checkScheduled = setTimeout(() => {
      this.checkScheduled = undefined;
      void this.checkAll();
    }, 50);
    this.checkScheduled.unref();
  }

  /** Probes every proxied APIService once and records its Available condition. */
  async checkAll(): Promise<void> {
    if (this.checking || this.closed) return;
    this.checking = true;
    try {
      const all = this.cluster.list("apiservices").filter((a) => isRecord(spec(a).service));
      await Promise.all(all.map((a) => this.checkOne(a)));
    } finally {
      this.checking = false;
    }
  }

  private async checkOne(apiService: KubeObject): Promise<void> {
    const s = spec(apiService);
    const path = `/apis/${String(s.group)}/${String(s.version)}`;
    let result: { ok: boolean; reason: string; message: string };
    try {
      const target = this.resolve(apiService);
      const status = await this.probe(apiService, target, path);
      const where = `https://${target.host}:${target.port}${path}`;
      result =
        status >= 200 && status < 400
          ? { ok: true, reason: "Passed", message: "all checks passed" }
          : {
              ok: false,
              reason: "FailedDiscoveryCheck",
              message: `failing or missing response from ${where}: bad status from ${where}: ${status}`,
            };
    } catch (err) {
      result =
        err instanceof ResolveError
          ? { ok: false, reason: err.reason, message: err.message }
          : {
              ok: false,
              reason: "FailedDiscoveryCheck",
              message: `failing or missing response from ${path}: ${(err as Error).message}`,
            };
    }
    if (this.closed) return;
    const current = this.cluster.get("apiservices", undefined, apiService.metadata.name);
    if (!current) return;
    const conditions =
      isRecord(current.status) && Array.isArray(current.status.conditions) ? current.status.conditions : [];
    const old = conditions.find((c) => isRecord(c) && c.type === "Available") as
      | Record<string, unknown>
      | undefined;
    const status = result.ok ? "True" : "False";
    if (old && old.status === status && old.reason === result.reason && old.message === result.message)
      return;
    if (!old || old.status !== status) {
      this.log(
        `aggregator: APIService ${apiService.metadata.name} Available=${status} (${result.reason}: ${result.message})`,
      );
    }
    this.cluster.updateStatus("apiservices", undefined, apiService.metadata.name, {
      conditions: [
        {
          type: "Available",
          status,
          lastTransitionTime:
            old && old.status === status
              ? old.lastTransitionTime
              : new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
          reason: result.reason,
          message: result.message,
        },
      ],
    });
  }

  // One discovery GET as the aggregator's availability controller sends it.
  private probe(apiService: KubeObject, target: Target, path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          ...this.tlsOptions(apiService),
          host: target.host,
          port: target.port,
          method: "GET",
          path,
          headers: { "x-remote-user": "system:kube-aggregator", "x-remote-group": "system:masters" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.setTimeout(DISCOVERY_TIMEOUT_MS, () => req.destroy(new Error("context deadline exceeded")));
      req.on("error", (err: NodeJS.ErrnoException) => reject(new Error(describeNetError(err, target))));
      req.end();
    });
  }
}
