// For the kube reflector tests: a scriptable fake API server. Every request is
// recorded, then handed to the current list or watch handler; watch handlers get the open response
// and write events whenever the test wants. It can go down (stop listening) and come back on the
// same port, like an API server being restarted.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  path: string;
  query: URLSearchParams;
  accept: string;
  watch: boolean;
}

export interface OpenWatch {
  query: URLSearchParams;
  accept: string;
  res: ServerResponse;
  closed: boolean;
}

export interface Pod {
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
}

export class FakeApiServer {
  readonly requests: Recorded[] = [];
  list: (q: URLSearchParams, res: ServerResponse, req: IncomingMessage) => void = (_q, res) =>
    json(res, 200, listOf([], "1"));
  watch: (q: URLSearchParams, res: ServerResponse, req: IncomingMessage) => void = () => {};
  private readonly server: Server;
  private readonly watchWaiters: ((w: OpenWatch) => void)[] = [];
  private readonly openWatches: OpenWatch[] = [];
  private port = 0;
  url = "";

  constructor() {
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      const isWatch = u.searchParams.get("watch") === "true";
      const accept = req.headers.accept ?? "";
      this.requests.push({ path: u.pathname, query: u.searchParams, accept, watch: isWatch });
      if (!isWatch) return this.list(u.searchParams, res, req);
      const w: OpenWatch = { query: u.searchParams, accept, res, closed: false };
      req.on("close", () => {
        w.closed = true;
      });
      const waiter = this.watchWaiters.shift();
      if (waiter) waiter(w);
      else this.openWatches.push(w);
      this.watch(u.searchParams, res, req);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** The next watch request (already arrived or yet to come). */
  nextWatch(): Promise<OpenWatch> {
    const w = this.openWatches.shift();
    if (w) return Promise.resolve(w);
    return new Promise((resolve) => this.watchWaiters.push(resolve));
  }

  /** Stops listening and drops every connection; start() again listens on the same port. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.openWatches.length = 0;
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export function listOf(items: unknown[], rv: string, cont?: string, kind = "List"): unknown {
  return { kind, apiVersion: "v1", metadata: { resourceVersion: rv, continue: cont }, items };
}

export function pod(ns: string, name: string, rv: string, labels?: Record<string, string>): Pod {
  return { metadata: { name, namespace: ns, resourceVersion: rv, labels } };
}

export function send(w: OpenWatch, type: string, object: unknown): void {
  if (!w.res.headersSent) w.res.writeHead(200, { "content-type": "application/json" });
  w.res.write(`${JSON.stringify({ type, object })}\n`);
}

/** Polls until cond() holds; the deadline is generous and only guards against a hang. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A cached pod's metadata as a plain object (a CompactPod keeps exactly these three fields). */
export function podMeta(p: { metadata: Pod["metadata"] } | undefined): unknown {
  if (p === undefined) return undefined;
  const { name, namespace, labels } = p.metadata;
  return labels === undefined ? { name, namespace } : { name, namespace, labels: { ...labels } };
}
