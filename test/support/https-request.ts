// A small HTTPS client for the simulator's own tests: one request with an optional client certificate,
// the reply's status, headers and text (JSON on demand).
import type { IncomingHttpHeaders } from "node:http";
import * as https from "node:https";
import type { CertAndKey } from "../../sim/auth/index.ts";

// Decoded API responses are checked field by field; typing every shape would add nothing.
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Json = any;

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => Json;
}

export function request(
  base: string,
  path: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
    client?: CertAndKey;
    ca: string;
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? "GET",
        headers: { ...(body ? { "content-type": "application/json" } : {}), ...opts.headers },
        ca: opts.ca,
        cert: opts.client?.certPem,
        key: opts.client?.keyPem,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Credentials of a request straight to a metrics-server: a client certificate, a token, headers. */
export interface DirectCredentials {
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  headers?: Record<string, string | string[]>;
}

/**
 * A request straight to a metrics-server at host:port (not through the aggregator), with TLS
 * verification off: it serves a self-signed certificate.
 */
export function directRequest(
  host: string,
  port: number,
  path: string,
  creds: DirectCredentials = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port,
        path,
        cert: creds.cert,
        key: creds.key,
        rejectUnauthorized: false,
        headers: {
          ...(creds.token ? { authorization: `Bearer ${creds.token}` } : {}),
          ...(creds.headers ?? {}),
        },
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += d.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}
