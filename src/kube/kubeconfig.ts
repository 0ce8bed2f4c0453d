// Where the API server is and how to authenticate to it: from a kubeconfig file (--kubeconfig) or
// from the in-cluster service-account mount, as client-go's clientcmd and rest.InClusterConfig do.

import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import * as log from "../log/index.ts";
import { EXEC_CLUSTER_EXTENSION, type ExecConfig, parseExecConfig } from "./exec.ts";

export interface RestConfig {
  /** Base URL of the API server, e.g. `https://10.0.0.1:443` (no trailing slash). */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  bearerToken?: string;
  /** Re-read periodically so rotated service-account tokens are picked up. */
  bearerTokenFile?: string;
  insecureSkipTLSVerify: boolean;
  tlsServerName?: string;
  /** An exec credential plugin (recorded, not run: Credentials runs it when a credential is needed). */
  exec?: ExecConfig;
  /** The context's namespace, when it names one (kubectl's default for -n). */
  namespace?: string;
}

export const IN_CLUSTER_ROOT = "/var/run/secrets/kubernetes.io/serviceaccount";

type YamlMap = Record<string, unknown>;

function isMap(v: unknown): v is YamlMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function readFileOrThrow(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`unable to read ${what} ${path}: ${(err as Error).message}`);
  }
}

// kubeconfig entries are lists of `{name, <kind>: {...}}`.
function findNamed(doc: YamlMap, listKey: string, itemKey: string, name: string): YamlMap | undefined {
  const list = doc[listKey];
  if (!Array.isArray(list)) return undefined;
  for (const entry of list) {
    if (isMap(entry) && entry.name === name) return isMap(entry[itemKey]) ? entry[itemKey] : {};
  }
  return undefined;
}

function optionalString(m: YamlMap, field: string, where: string): string | undefined {
  const v = m[field];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new Error(`${where}: field "${field}" must be a string`);
  return v;
}

function decodeBase64(value: string, field: string, where: string): Buffer {
  const compact = value.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact))
    throw new Error(`${where}: field "${field}" is not valid base64`);
  return Buffer.from(compact, "base64");
}

// Inline `<field>-data` (base64) wins over the `<field>` file path, as in clientcmd; file paths are
// relative to the directory of the kubeconfig that names them.
function loadBytes(m: YamlMap, field: string, baseDir: string, where: string): Buffer | undefined {
  const data = optionalString(m, `${field}-data`, where);
  if (data !== undefined) return decodeBase64(data, `${field}-data`, where);
  const file = optionalString(m, field, where);
  if (file === undefined) return undefined;
  return readFileOrThrow(isAbsolute(file) ? file : join(baseDir, file), `${where} ${field}`);
}

/** Reads a kubeconfig file and resolves the named (or current) context to a RestConfig. */
export function loadKubeconfig(path: string, context?: string): RestConfig {
  const text = readFileOrThrow(path, "kubeconfig").toString("utf8");
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`unable to parse kubeconfig ${path}: ${(err as Error).message}`);
  }
  if (!isMap(doc)) throw new Error(`unable to parse kubeconfig ${path}: not a YAML mapping`);
  const baseDir = dirname(resolve(path));

  const contextName = context || (typeof doc["current-context"] === "string" ? doc["current-context"] : "");
  if (!contextName) throw new Error(`kubeconfig ${path} has no current-context and no context was given`);
  const ctx = findNamed(doc, "contexts", "context", contextName);
  if (!ctx) throw new Error(`context "${contextName}" not found in kubeconfig ${path}`);

  const clusterName = optionalString(ctx, "cluster", `context "${contextName}"`);
  if (!clusterName) throw new Error(`context "${contextName}" in kubeconfig ${path} names no cluster`);
  const cluster = findNamed(doc, "clusters", "cluster", clusterName);
  if (!cluster) throw new Error(`cluster "${clusterName}" not found in kubeconfig ${path}`);
  const clusterWhere = `cluster "${clusterName}"`;

  const rawServer = optionalString(cluster, "server", clusterWhere);
  if (!rawServer) throw new Error(`${clusterWhere} in kubeconfig ${path} has no server`);
  const insecure = cluster["insecure-skip-tls-verify"] === true;
  const ca = loadBytes(cluster, "certificate-authority", baseDir, clusterWhere);
  // As client-go: a server without a scheme is https when TLS settings are present, else http.
  const server = rawServer.includes("://")
    ? rawServer
    : `${ca || insecure ? "https" : "http"}://${rawServer}`;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(
      `${clusterWhere} in kubeconfig ${path} has an invalid server URL ${JSON.stringify(rawServer)}`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new Error(`${clusterWhere} in kubeconfig ${path}: unsupported server URL scheme ${url.protocol}`);

  const config: RestConfig = { server: server.replace(/\/+$/, ""), insecureSkipTLSVerify: insecure };
  const namespace = optionalString(ctx, "namespace", `context "${contextName}"`);
  if (namespace) config.namespace = namespace;
  if (ca) config.ca = ca;
  const tlsServerName = optionalString(cluster, "tls-server-name", clusterWhere);
  if (tlsServerName) config.tlsServerName = tlsServerName;

  const userName = optionalString(ctx, "user", `context "${contextName}"`);
  if (userName) {
    const user = findNamed(doc, "users", "user", userName);
    if (!user) throw new Error(`user "${userName}" not found in kubeconfig ${path}`);
    applyUser(config, user, `user "${userName}"`, baseDir);
    if (config.exec) {
      const extension = execExtension(cluster, clusterWhere);
      if (extension !== undefined) config.exec.clusterConfig = extension;
    }
    // clientcmd merges user credentials only for TLS transports: over plain http nothing is sent.
    if (url.protocol === "http:") {
      delete config.cert;
      delete config.key;
      delete config.bearerToken;
      delete config.bearerTokenFile;
      delete config.exec;
    }
  }
  return config;
}

// The cluster-specific plugin configuration, from `extensions: [{name, extension}]`.
function execExtension(cluster: YamlMap, where: string): unknown {
  const list = cluster.extensions;
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw new Error(`${where}: extensions must be a list`);
  for (const entry of list)
    if (isMap(entry) && entry.name === EXEC_CLUSTER_EXTENSION) return entry.extension ?? undefined;
  return undefined;
}

function applyUser(config: RestConfig, user: YamlMap, where: string, baseDir: string): void {
  if (user.exec !== undefined && user.exec !== null) config.exec = parseExecConfig(user.exec, where, baseDir);
  if (user["auth-provider"] !== undefined && user["auth-provider"] !== null)
    throw new Error(`${where}: auth-provider plugins are not supported`);
  if (user.username !== undefined || user.password !== undefined)
    throw new Error(`${where}: basic authentication (username/password) is not supported`);

  const cert = loadBytes(user, "client-certificate", baseDir, where);
  const key = loadBytes(user, "client-key", baseDir, where);
  if ((cert === undefined) !== (key === undefined))
    throw new Error(`${where}: client certificate and client key must be given together`);
  if (cert && key) {
    config.cert = cert;
    config.key = key;
  }

  const token = optionalString(user, "token", where);
  const tokenFile = optionalString(user, "tokenFile", where);
  if (token) config.bearerToken = token;
  else if (tokenFile) {
    const tokenPath = isAbsolute(tokenFile) ? tokenFile : join(baseDir, tokenFile);
    config.bearerToken = readFileOrThrow(tokenPath, `${where} tokenFile`).toString("utf8").trim();
    config.bearerTokenFile = tokenPath;
  }
}

/** The service-account configuration a pod gets from its environment and mounted secret. */
export function loadInClusterConfig(
  env: NodeJS.ProcessEnv = process.env,
  root: string = IN_CLUSTER_ROOT,
): RestConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new Error(
      "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined",
    );
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const tokenFile = join(root, "token");
  const token = readFileOrThrow(tokenFile, "service account token").toString("utf8").trim();
  const config: RestConfig = {
    server: `https://${hostPart}:${port}`,
    bearerToken: token,
    bearerTokenFile: tokenFile,
    insecureSkipTLSVerify: false,
  };
  // client-go logs an unreadable CA and falls back to the system roots rather than failing.
  try {
    config.ca = readFileSync(join(root, "ca.crt"));
  } catch (err) {
    log.error(err, "Expected to load root CA config, but got err", { path: join(root, "ca.crt") });
  }
  return config;
}

/** `--kubeconfig` when given, otherwise the in-cluster configuration. */
export function loadRestConfig(kubeconfigPath: string | undefined): RestConfig {
  return kubeconfigPath ? loadKubeconfig(kubeconfigPath) : loadInClusterConfig();
}
