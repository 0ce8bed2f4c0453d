// The service proxy, `/api/v1/namespaces/{ns}/services/{[scheme:]name[:port]}/proxy/{path}`, as
// kube-apiserver serves it (kubernetes/kubernetes pkg/registry/core/service/proxy.go and the
// Service storage's ResourceLocation): the id names a Service and one of its ports (a port number is
// turned into that port's name; no port means the unnamed port), an Endpoints address serving that
// port name is picked at random, and the request goes there over plain HTTP or, for `https:`, over
// TLS WITHOUT verifying the backend's certificate and without a client certificate (the proxy
// transport is IP-based). The caller was authenticated and authorized here (verb by method on
// `services/proxy`); its credentials are not forwarded: kube-apiserver deletes the Authorization
// header once a request is authenticated, and no X-Remote-* identity is added (that is the
// aggregator's front-proxy, not this one). Backends that are unreachable answer 503.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import * as http from "node:http";
import * as https from "node:https";
import { posix } from "node:path";
import { ApiError, type Cluster } from "../state/index.ts";
import { PROXY_DROP_REQUEST_HEADERS, PROXY_DROP_RESPONSE_HEADERS } from "./http.ts";

/** What a service proxy path addresses; undefined for any other path. */
export interface ServiceProxyRoute {
  namespace: string;
  /** `[scheme:]name[:port]`, as given (percent-decoded). */
  id: string;
  /** The backend path, "/" when none. */
  path: string;
}

const PROXY_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/;

export function parseServiceProxyPath(rawPath: string): ServiceProxyRoute | undefined {
  const m = PROXY_PATH.exec(rawPath);
  if (!m) return undefined;
  try {
    // Go's path.Join cleans the rest (dot segments, doubled and trailing slashes).
    let rest = posix.normalize(`/${m[3] ?? ""}`);
    if (rest.length > 1 && rest.endsWith("/")) rest = rest.slice(0, -1);
    return { namespace: decodeURIComponent(m[1]), id: decodeURIComponent(m[2]), path: rest };
  } catch {
    return undefined;
  }
}

/** k8s.io/apimachinery/pkg/util/net SplitSchemeNamePort: "name", "name:port" or "scheme:name:port". */
export function splitSchemeNamePort(
  id: string,
): { scheme: "" | "http" | "https"; name: string; port: string } | undefined {
  const parts = id.split(":");
  let scheme = "";
  let name: string;
  let port = "";
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) [name, port] = parts;
  else if (parts.length === 3) [scheme, name, port] = parts;
  else return undefined;
  if (name === "" || (scheme !== "" && scheme !== "http" && scheme !== "https")) return undefined;
  return { scheme: scheme as "" | "http" | "https", name, port };
}

export interface ServiceLocation {
  scheme: "http" | "https";
  host: string;
  port: number;
}

function records(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v)
    ? v.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x))
    : [];
}

function unavailable(message: string): ApiError {
  return new ApiError(503, "ServiceUnavailable", message);
}

/**
 * The Service storage's ResourceLocation. Differs in one point: kube-apiserver only uses addresses
 * whose targetRef is a pod of the namespace with that IP; here an address without a targetRef is
 * used too, since the tests' hand-made Endpoints (no pod behind them) must be reachable.
 */
export function resolveServiceLocation(
  cluster: Cluster,
  namespace: string,
  id: string,
  random: () => number = Math.random,
): ServiceLocation {
  const parsed = splitSchemeNamePort(id);
  if (!parsed) throw new ApiError(400, "BadRequest", `invalid service request "${id}"`);
  const { scheme, name } = parsed;
  let portName = parsed.port;
  if (/^[+-]?\d+$/.test(portName)) {
    const svc = cluster.get("services", namespace, name);
    if (!svc) throw new ApiError(404, "NotFound", `services "${name}" not found`, { name, kind: "services" });
    const spec = (svc.spec ?? {}) as Record<string, unknown>;
    const port = records(spec.ports).find((p) => p.port === Number(portName));
    if (!port) throw unavailable(`no service port ${Number(portName)} found for service "${name}"`);
    portName = typeof port.name === "string" ? port.name : "";
  }
  const eps = cluster.get("endpoints", namespace, name);
  if (!eps) throw new ApiError(404, "NotFound", `endpoints "${name}" not found`, { name, kind: "endpoints" });
  const subsets = records(eps.subsets);
  if (subsets.length === 0) throw unavailable(`no endpoints available for service "${name}"`);
  const seed = Math.floor(random() * subsets.length);
  for (let i = 0; i < subsets.length; i++) {
    const ss = subsets[(seed + i) % subsets.length];
    const addresses = records(ss.addresses).filter((a) => typeof a.ip === "string" && a.ip !== "");
    if (addresses.length === 0) continue;
    const port = records(ss.ports).find((p) => (typeof p.name === "string" ? p.name : "") === portName);
    if (!port || typeof port.port !== "number") continue;
    const addr = addresses[Math.floor(random() * addresses.length)];
    const ok = addressBacksPod(cluster, namespace, addr);
    if (!ok) continue;
    return { scheme: scheme === "https" ? "https" : "http", host: String(addr.ip), port: port.port };
  }
  throw unavailable(`no endpoints available for service "${id}"`);
}

// kube-apiserver's isValidAddress, for addresses that name a pod.
function addressBacksPod(cluster: Cluster, namespace: string, addr: Record<string, unknown>): boolean {
  const ref = addr.targetRef as Record<string, unknown> | undefined;
  if (!ref) return true;
  if (ref.kind !== "Pod" || ref.namespace !== namespace || typeof ref.name !== "string") return false;
  const pod = cluster.get("pods", namespace, ref.name);
  const status = (pod?.status ?? {}) as Record<string, unknown>;
  return records(status.podIPs).some((p) => p.ip === addr.ip);
}

/** kube-apiserver's proxy methods (ProxyREST.ConnectMethods). */
export const PROXY_METHODS = new Set(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]);

/** Sends the request to the location and streams the answer back (Go's httputil.ReverseProxy). */
export function proxyToService(
  req: IncomingMessage,
  res: ServerResponse,
  location: ServiceLocation,
  path: string,
  search: string,
  timeoutMs: number,
): Promise<void> {
  const headers: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    const lk = k.toLowerCase();
    if (v === undefined || PROXY_DROP_REQUEST_HEADERS.has(lk) || lk.startsWith("impersonate-")) continue;
    headers[lk] = v;
  }
  const client = req.socket.remoteAddress;
  if (client) {
    const prior = req.headers["x-forwarded-for"];
    headers["x-forwarded-for"] = prior ? `${String(prior)}, ${client}` : client;
  }
  headers.host = location.host.includes(":")
    ? `[${location.host}]:${location.port}`
    : `${location.host}:${location.port}`;
  const options: https.RequestOptions = {
    host: location.host,
    port: location.port,
    method: req.method,
    path: path + search,
    headers,
    agent: false,
  };
  return new Promise<void>((resolve, reject) => {
    const upstream =
      location.scheme === "https"
        ? https.request({ ...options, rejectUnauthorized: false })
        : http.request(options);
    let answered = false;
    const timer = setTimeout(
      () => upstream.destroy(new Error("net/http: timeout awaiting response headers")),
      timeoutMs,
    );
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
      up.on("end", () => resolve());
      res.on("close", () => {
        up.destroy();
        resolve();
      });
    });
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (answered) {
        res.destroy();
        resolve();
        return;
      }
      reject(unavailable(`error trying to reach service: ${describeDialError(err, location)}`));
    });
    res.on("close", () => {
      clearTimeout(timer);
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
}

// Go's wording for the common dial failures.
function describeDialError(err: NodeJS.ErrnoException, loc: ServiceLocation): string {
  const addr = `${loc.host}:${loc.port}`;
  if (err.code === "ECONNREFUSED") return `dial tcp ${addr}: connect: connection refused`;
  if (err.code === "ECONNRESET") return `read tcp ${addr}: read: connection reset by peer`;
  if (err.code === "EHOSTUNREACH") return `dial tcp ${addr}: connect: no route to host`;
  return err.message;
}
