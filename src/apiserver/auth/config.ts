// Where delegated authentication gets its trust material: CA bundles from files (re-read when they
// change) or from the kube-system/extension-apiserver-authentication ConfigMap that kube-apiserver
// publishes (kept current by a watch), plus the request-header settings that travel with them.

import { createHash, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import * as log from "../../log/index.ts";

/** The front-proxy (request-header) authenticator's settings. */
export interface RequestHeaderConfig {
  cas: readonly X509Certificate[];
  /** Client certificate CNs allowed to assert users; empty allows any cert the CAs verify. */
  allowedNames: readonly string[];
  usernameHeaders: readonly string[];
  groupHeaders: readonly string[];
  extraHeaderPrefixes: readonly string[];
  /** Not a flag upstream; only the ConfigMap key `requestheader-uid-headers` sets it. */
  uidHeaders: readonly string[];
}

/** What the ConfigMap says; undefined members mean "the ConfigMap does not provide this". */
export interface ConfigMapAuthConfig {
  clientCAs?: X509Certificate[];
  requestHeader?: RequestHeaderConfig;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle; throws when there is none or one does not parse. */
export function parseCABundle(pem: string | Buffer, source: string): X509Certificate[] {
  const text = typeof pem === "string" ? pem : pem.toString("utf8");
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM certificate found`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`${source}: certificate ${i + 1} does not parse: ${(err as Error).message}`);
    }
  });
}

// kube-apiserver writes the list keys as JSON arrays of strings; an empty value means "not set".
function stringList(data: Record<string, string>, key: string): string[] {
  const raw = data[key];
  if (raw === undefined || raw === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`key ${key} is not a JSON list: ${(err as Error).message}`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === "string"))
    throw new Error(`key ${key} is not a JSON list of strings`);
  return parsed;
}

/**
 * Reads the ConfigMap's data. A key that is absent leaves that part unset; a key that is present
 * but malformed throws, so the caller can keep the previous good configuration.
 */
export function parseAuthConfigMap(data: Record<string, string> | undefined): ConfigMapAuthConfig {
  const d = data ?? {};
  const out: ConfigMapAuthConfig = {};
  if (d["client-ca-file"]) out.clientCAs = parseCABundle(d["client-ca-file"], "key client-ca-file");
  if (d["requestheader-client-ca-file"]) {
    out.requestHeader = {
      cas: parseCABundle(d["requestheader-client-ca-file"], "key requestheader-client-ca-file"),
      allowedNames: stringList(d, "requestheader-allowed-names"),
      usernameHeaders: stringList(d, "requestheader-username-headers"),
      groupHeaders: stringList(d, "requestheader-group-headers"),
      extraHeaderPrefixes: stringList(d, "requestheader-extra-headers-prefix"),
      uidHeaders: stringList(d, "requestheader-uid-headers"),
    };
  }
  return out;
}

/**
 * A CA bundle file, re-read when it changes (checked every `checkIntervalMs`: a stat, and a read
 * only when size, mtime or inode moved, which also catches Kubernetes' symlink-swapping secret
 * volumes). A bad new version is logged and the previous bundle stays in use.
 */
export class FileCABundle {
  readonly path: string;
  private readonly flag: string;
  private cas: X509Certificate[];
  private stamp: string;
  private digest: string;
  private readonly timer: NodeJS.Timeout;

  /** Reads the file now; throws (naming the flag and file) when it is missing or not a CA bundle. */
  constructor(path: string, flag: string, checkIntervalMs = 5_000) {
    this.path = path;
    this.flag = flag;
    let content: Buffer;
    try {
      this.stamp = this.statStamp();
      content = readFileSync(path);
    } catch (err) {
      throw new Error(`${flag}: unable to read ${path}: ${(err as Error).message}`);
    }
    this.cas = parseCABundle(content, `${flag} ${path}`);
    this.digest = sha256(content);
    this.timer = setInterval(() => this.check(), checkIntervalMs);
    this.timer.unref();
  }

  current(): readonly X509Certificate[] {
    return this.cas;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private statStamp(): string {
    const st = statSync(this.path);
    return `${st.size}/${st.mtimeMs}/${st.ino}`;
  }

  /** Re-reads the file if it changed; exposed so tests need not wait for the timer. */
  check(): void {
    try {
      const stamp = this.statStamp();
      if (stamp === this.stamp) return;
      this.stamp = stamp;
      const content = readFileSync(this.path);
      const digest = sha256(content);
      if (digest === this.digest) return;
      this.cas = parseCABundle(content, `${this.flag} ${this.path}`);
      this.digest = digest;
      log.info("Loaded a new CA bundle", { flag: this.flag, file: this.path, certificates: this.cas.length });
    } catch (err) {
      log.error(err, "Failed to reload CA bundle; keeping the previous one", {
        flag: this.flag,
        file: this.path,
      });
    }
  }
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/**
 * A TTL cache with a size bound (oldest entries go first), plus coalescing of concurrent lookups
 * of the same key, so a burst of identical requests makes one call to the API server.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<V>>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(maxEntries = 4096, now: () => number = Date.now) {
    this.maxEntries = maxEntries;
    this.now = now;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  /**
   * The cached value, or the result of `load` (shared with concurrent callers of the same key).
   * `ttlOf` decides how long a loaded value is kept; a rejected load is not cached.
   */
  async getOrLoad(key: string, load: () => Promise<V>, ttlOf: (v: V) => number): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const p = load().then((v) => {
      this.set(key, v, ttlOf(v));
      return v;
    });
    this.inFlight.set(key, p);
    try {
      return await p;
    } finally {
      this.inFlight.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
