// Reaching kube-apiserver as the user: the kubeconfig kubectl would use (--kubeconfig, else each file
// of $KUBECONFIG in turn, else ~/.kube/config), the context, its namespace; and GETs that answer
// with what happened instead of throwing.

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { ApiError, KubeClient, loadKubeconfig, type RestConfig } from "../../kube/index.ts";
import type { Connection } from "./args.ts";

export interface Session {
  /** The API server's URL, for messages. */
  server: string;
  /** -n, else the context's namespace, else "default". */
  namespace: string;
  get(path: string, query?: Record<string, string>): Promise<Answer>;
  close(): Promise<void>;
}

/** A GET's outcome: the parsed body, an error answer (with its Status when it was one), or no answer. */
export type Answer =
  | { kind: "ok"; body: unknown }
  | { kind: "error"; code: number; status?: StatusBody; message: string }
  | { kind: "unreachable"; message: string };

/** A metav1.Status, with the causes of an explained 404. */
export interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/**
 * kubectl's precedence: --kubeconfig; else $KUBECONFIG's files (kubectl merges them; here the first
 * that has the context, or the first that exists); else ~/.kube/config.
 */
function loadConfig(conn: Connection, env: NodeJS.ProcessEnv): RestConfig {
  if (conn.kubeconfig) return loadKubeconfig(conn.kubeconfig, conn.context);
  const files = (env.KUBECONFIG ?? "").split(delimiter).filter((f) => f !== "" && existsSync(f));
  if (files.length === 0) return loadKubeconfig(join(env.HOME || homedir(), ".kube", "config"), conn.context);
  let first: Error | undefined;
  for (const file of files) {
    try {
      return loadKubeconfig(file, conn.context);
    } catch (err) {
      first ??= err as Error;
    }
  }
  throw first;
}

export function connect(conn: Connection, env: NodeJS.ProcessEnv, userAgent: string): Session {
  const config = loadConfig(conn, env);
  const client = new KubeClient(config, {
    userAgent,
    // undici: 0 disables the limit, as --request-timeout=0 does in kubectl.
    headersTimeoutMs: conn.requestTimeoutMs,
  });
  return {
    server: config.server,
    namespace: conn.namespace ?? config.namespace ?? "default",
    async get(path, query) {
      try {
        const signal = conn.requestTimeoutMs > 0 ? AbortSignal.timeout(conn.requestTimeoutMs) : undefined;
        const body = await client.getJSON<unknown>(path, { query, signal });
        return { kind: "ok", body };
      } catch (err) {
        if (err instanceof ApiError) {
          const status = err.body as StatusBody | undefined;
          return status === undefined
            ? { kind: "error", code: err.status, message: err.message }
            : { kind: "error", code: err.status, status, message: status.message ?? err.message };
        }
        return { kind: "unreachable", message: describeNetworkError(err) };
      }
    },
    close: () => client.close(),
  };
}

/** undici wraps the cause (ECONNREFUSED, a TLS error) in "fetch failed"-like errors: say the cause. */
function describeNetworkError(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string }; code?: string };
  if (e.name === "TimeoutError" || e.name === "AbortError")
    return "the request timed out (--request-timeout)";
  const parts = [e.message];
  if (e.cause?.message && !e.message.includes(e.cause.message)) parts.push(e.cause.message);
  return parts.join(": ");
}
