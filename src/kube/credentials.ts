// The one place that knows where credentials for the API server (and, as upstream does, the kubelets)
// come from: a static token or certificate from the config, a token file that service-account
// rotation rewrites, or an exec credential plugin whose result is cached until it expires.

import { readFileSync } from "node:fs";
import * as log from "../log/index.ts";
import { type ExecCredentialResult, runExecPlugin } from "./exec.ts";
import type { RestConfig } from "./kubeconfig.ts";

export interface CredentialsOptions {
  /** Clock (Unix ms); tests move it. */
  now?: () => number;
  /** Kill an exec plugin that runs longer (default 30 s). */
  execTimeoutMs?: number;
  /** Environment exec plugins inherit (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface ClientCertificate {
  cert: Buffer;
  key: Buffer;
}

// Service-account tokens are rewritten on disk well before they expire; a minute's delay is harmless.
export const TOKEN_FILE_REFRESH_MS = 60_000;
// Run the plugin again this long before its credential expires, so no request carries a dead token.
const EXEC_REFRESH_MARGIN_MS = 10_000;

interface CachedExec {
  result: ExecCredentialResult;
  /** When to ask the plugin again (Infinity without an expiration). */
  refreshAtMs: number;
}

export class Credentials {
  private readonly config: RestConfig;
  private readonly now: () => number;
  private readonly execTimeoutMs: number | undefined;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private token: string | undefined;
  private tokenReadAtMs: number;
  private execCached: CachedExec | undefined;
  private execRunning: Promise<ExecCredentialResult> | undefined;

  constructor(config: RestConfig, opts: CredentialsOptions = {}) {
    this.config = config;
    this.now = opts.now ?? (() => Date.now());
    this.execTimeoutMs = opts.execTimeoutMs;
    this.env = opts.env;
    this.token = config.bearerToken;
    // loadKubeconfig/loadInClusterConfig just read the file; the next re-read is due in a minute.
    this.tokenReadAtMs = this.now();
  }

  /** True when invalidate() can yield different credentials (token file or exec plugin). */
  get rotatable(): boolean {
    return this.config.bearerTokenFile !== undefined || this.config.exec !== undefined;
  }

  /** Static token; token file re-read when older than a minute (service-account rotation); or exec. */
  async bearerToken(): Promise<string | undefined> {
    if (this.config.bearerTokenFile) return this.fileToken(this.config.bearerTokenFile);
    // A token in the config wins over the plugin's, as client-go does for explicitly given tokens.
    if (this.config.bearerToken) return this.config.bearerToken;
    if (!this.config.exec) return undefined;
    return (await this.execCredential()).token;
  }

  /** Static cert/key from the config, or the exec plugin's. */
  async clientCertificate(): Promise<ClientCertificate | undefined> {
    if (this.config.cert && this.config.key) return { cert: this.config.cert, key: this.config.key };
    if (!this.config.exec) return undefined;
    const r = await this.execCredential();
    return r.cert && r.key ? { cert: r.cert, key: r.key } : undefined;
  }

  /** After a 401: forget a cached exec credential (and re-read the token file) on the next call. */
  invalidate(): void {
    this.execCached = undefined;
    this.tokenReadAtMs = Number.NEGATIVE_INFINITY;
  }

  private fileToken(path: string): string | undefined {
    const now = this.now();
    if (now - this.tokenReadAtMs >= TOKEN_FILE_REFRESH_MS) {
      this.tokenReadAtMs = now;
      try {
        const t = readFileSync(path, "utf8").trim();
        if (t) this.token = t;
        else log.warning("Bearer token file is empty; keeping the previous token", { path });
      } catch (err) {
        // Keep the last good token; the API server will say so if it has expired.
        log.error(err, "Unable to re-read bearer token file; keeping the previous token", { path });
      }
    }
    return this.token;
  }

  private async execCredential(): Promise<ExecCredentialResult> {
    const cached = this.execCached;
    const now = this.now();
    if (cached && now < cached.refreshAtMs) return cached.result;
    try {
      return await this.runShared();
    } catch (err) {
      // A refresh that fails while the old credential is still valid is not yet fatal.
      if (cached?.result.expiresAtMs !== undefined && now < cached.result.expiresAtMs) {
        log.error(err, "Exec credential refresh failed; using the current credential until it expires");
        return cached.result;
      }
      throw err;
    }
  }

  // Concurrent callers share one plugin run.
  private runShared(): Promise<ExecCredentialResult> {
    const exec = this.config.exec;
    if (!exec) return Promise.reject(new Error("no exec credential plugin configured"));
    if (!this.execRunning) {
      const cluster = {
        server: this.config.server,
        ca: this.config.ca,
        insecureSkipTLSVerify: this.config.insecureSkipTLSVerify,
        tlsServerName: this.config.tlsServerName,
      };
      const running = runExecPlugin(exec, cluster, { timeoutMs: this.execTimeoutMs, baseEnv: this.env }).then(
        (result) => {
          this.execCached = { result, refreshAtMs: this.refreshAt(result) };
          return result;
        },
      );
      this.execRunning = running;
      const clear = (): void => {
        if (this.execRunning === running) this.execRunning = undefined;
      };
      running.then(clear, clear);
    }
    return this.execRunning;
  }

  private refreshAt(result: ExecCredentialResult): number {
    if (result.expiresAtMs === undefined) return Number.POSITIVE_INFINITY;
    // Short-lived credentials get refreshed at half their remaining life, not every call.
    const life = result.expiresAtMs - this.now();
    return result.expiresAtMs - Math.max(0, Math.min(EXEC_REFRESH_MARGIN_MS, life / 2));
  }
}
