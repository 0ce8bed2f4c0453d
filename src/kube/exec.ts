// Exec credential plugins (kubeconfig `users[].user.exec`), as client-go runs them: the plugin is a
// program that prints a client.authentication.k8s.io ExecCredential holding a bearer token or a
// client certificate. Used by cloud providers (aws eks get-token, gke-gcloud-auth-plugin, kubelogin).

import { spawn } from "node:child_process";
import { isAbsolute, resolve, sep } from "node:path";

export const EXEC_API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

/** Name of the cluster extension whose value is handed to the plugin as `spec.cluster.config`. */
export const EXEC_CLUSTER_EXTENSION = "client.authentication.k8s.io/exec";

export type ExecInteractiveMode = "Never" | "IfAvailable" | "Always";

export interface ExecEnvVar {
  name: string;
  value: string;
}

/** A kubeconfig user's `exec` section, validated; the command is resolved but not yet run. */
export interface ExecConfig {
  apiVersion: string;
  /** Absolute when the kubeconfig gave a path; a bare name is looked up on PATH when run. */
  command: string;
  args: string[];
  env: ExecEnvVar[];
  installHint?: string;
  provideClusterInfo: boolean;
  interactiveMode: ExecInteractiveMode;
  /** The cluster's `client.authentication.k8s.io/exec` extension, passed on with provideClusterInfo. */
  clusterConfig?: unknown;
}

/** What the plugin learns about the cluster when provideClusterInfo is set. */
export interface ExecClusterInfo {
  server: string;
  ca?: Buffer;
  insecureSkipTLSVerify: boolean;
  tlsServerName?: string;
}

/** The credential a plugin returned. */
export interface ExecCredentialResult {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  /** Unix ms; undefined = valid until the API server rejects it. */
  expiresAtMs?: number;
}

export interface RunExecOptions {
  /** Kills the plugin after this long (default 30 s). */
  timeoutMs?: number;
  /** The environment the plugin's env is added to (default process.env). */
  baseEnv?: NodeJS.ProcessEnv;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
// Credentials are a few KiB; anything far larger is a misbehaving plugin, not a credential.
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
const MAX_STDERR_CHARS = 2000;

type YamlMap = Record<string, unknown>;

function isMap(v: unknown): v is YamlMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates a kubeconfig `exec` section. Relative commands with a path separator resolve against baseDir. */
export function parseExecConfig(raw: unknown, where: string, baseDir: string): ExecConfig {
  const w = `${where} exec`;
  if (!isMap(raw)) throw new Error(`${w}: must be a mapping`);
  const apiVersion = raw.apiVersion;
  if (typeof apiVersion !== "string" || !EXEC_API_VERSIONS.includes(apiVersion))
    throw new Error(
      `${w}: apiVersion must be one of ${EXEC_API_VERSIONS.join(", ")} (got ${JSON.stringify(apiVersion ?? "")})`,
    );
  const command = raw.command;
  if (typeof command !== "string" || command === "") throw new Error(`${w}: command is required`);

  let args: string[] = [];
  if (raw.args !== undefined && raw.args !== null) {
    if (!Array.isArray(raw.args) || raw.args.some((a) => typeof a !== "string"))
      throw new Error(`${w}: args must be a list of strings`);
    args = raw.args as string[];
  }

  const env: ExecEnvVar[] = [];
  if (raw.env !== undefined && raw.env !== null) {
    if (!Array.isArray(raw.env)) throw new Error(`${w}: env must be a list of {name, value}`);
    for (const [i, e] of raw.env.entries()) {
      if (!isMap(e) || typeof e.name !== "string" || e.name === "")
        throw new Error(`${w}: env[${i}] needs a name`);
      const value = e.value ?? "";
      if (typeof value !== "string") throw new Error(`${w}: env[${i}] (${e.name}) value must be a string`);
      env.push({ name: e.name, value });
    }
  }

  // As client-go: v1 must say how it wants to interact; v1beta1 defaults to IfAvailable.
  const mode = raw.interactiveMode ?? (apiVersion.endsWith("/v1beta1") ? "IfAvailable" : undefined);
  if (mode === undefined || mode === null || mode === "")
    throw new Error(`${w}: interactiveMode must be specified for ${apiVersion}`);
  if (mode !== "Never" && mode !== "IfAvailable" && mode !== "Always")
    throw new Error(
      `${w}: invalid interactiveMode ${JSON.stringify(mode)}: must be Never, IfAvailable or Always`,
    );

  const installHint = typeof raw.installHint === "string" && raw.installHint ? raw.installHint : undefined;
  if (raw.provideClusterInfo !== undefined && typeof raw.provideClusterInfo !== "boolean")
    throw new Error(`${w}: provideClusterInfo must be true or false`);

  // client-go resolves only commands that name a path; bare names stay PATH lookups.
  const resolved = !isAbsolute(command) && command.includes(sep) ? resolve(baseDir, command) : command;
  const config: ExecConfig = {
    apiVersion,
    command: resolved,
    args,
    env,
    provideClusterInfo: raw.provideClusterInfo === true,
    interactiveMode: mode,
  };
  if (installHint) config.installHint = installHint;
  return config;
}

/** The KUBERNETES_EXEC_INFO value: an ExecCredential with only a spec (never interactive here). */
export function execInfo(exec: ExecConfig, cluster: ExecClusterInfo): string {
  const spec: Record<string, unknown> = { interactive: false };
  if (exec.provideClusterInfo) {
    const c: Record<string, unknown> = { server: cluster.server };
    if (cluster.tlsServerName) c["tls-server-name"] = cluster.tlsServerName;
    if (cluster.insecureSkipTLSVerify) c["insecure-skip-tls-verify"] = true;
    if (cluster.ca && cluster.ca.length > 0) c["certificate-authority-data"] = cluster.ca.toString("base64");
    if (exec.clusterConfig !== undefined) c.config = exec.clusterConfig;
    spec.cluster = c;
  }
  return JSON.stringify({ apiVersion: exec.apiVersion, kind: "ExecCredential", spec });
}

/** Runs the plugin once and returns its credential; every failure is an Error saying what went wrong. */
export function runExecPlugin(
  exec: ExecConfig,
  cluster: ExecClusterInfo,
  opts: RunExecOptions = {},
): Promise<ExecCredentialResult> {
  if (exec.interactiveMode === "Always")
    return Promise.reject(
      new Error(
        `exec plugin ${exec.command} requires interactiveMode Always, but standard input is not a terminal ` +
          "(metrics-server runs non-interactively)",
      ),
    );
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const env: NodeJS.ProcessEnv = { ...(opts.baseEnv ?? process.env) };
  for (const e of exec.env) env[e.name] = e.value;
  env.KUBERNETES_EXEC_INFO = execInfo(exec, cluster);

  return new Promise((resolvePromise, rejectPromise) => {
    let settled = false;
    const finish = (err: Error | undefined, result?: ExecCredentialResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) rejectPromise(err);
      else resolvePromise(result as ExecCredentialResult);
    };
    const child = spawn(exec.command, exec.args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(new Error(`exec: executable ${exec.command} did not finish within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    timer.unref();

    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") {
        const hint = exec.installHint ? `\n\n${exec.installHint}` : "";
        finish(new Error(`exec: executable ${exec.command} not found${hint}`));
      } else finish(new Error(`exec: unable to run ${exec.command}: ${err.message}`));
    });
    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_OUTPUT_BYTES) {
        child.kill("SIGKILL");
        finish(new Error(`exec: executable ${exec.command} wrote more than ${MAX_OUTPUT_BYTES} bytes`));
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += chunk;
    });
    child.on("close", (code, signal) => {
      if (settled) return;
      const detail = stderr.trim().slice(0, MAX_STDERR_CHARS);
      if (code !== 0) {
        const how = signal ? `was terminated by signal ${signal}` : `failed with exit code ${code}`;
        finish(new Error(`exec: executable ${exec.command} ${how}${detail ? `: ${detail}` : ""}`));
        return;
      }
      try {
        finish(undefined, parseExecCredential(Buffer.concat(stdout).toString("utf8"), exec));
      } catch (err) {
        finish(err as Error);
      }
    });
  });
}

/** Validates a plugin's stdout: an ExecCredential of the configured apiVersion with a credential. */
export function parseExecCredential(text: string, exec: ExecConfig): ExecCredentialResult {
  const who = `exec plugin ${exec.command}`;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${who} returned invalid JSON: ${(err as Error).message}`);
  }
  if (!isMap(doc)) throw new Error(`${who} returned ${JSON.stringify(doc)}, not an ExecCredential object`);
  if (doc.kind !== "ExecCredential")
    throw new Error(`${who} returned kind ${JSON.stringify(doc.kind ?? "")}, want ExecCredential`);
  if (doc.apiVersion !== exec.apiVersion)
    throw new Error(
      `${who} is configured to use API version ${exec.apiVersion}, plugin returned version ${JSON.stringify(doc.apiVersion ?? "")}`,
    );
  const status = doc.status;
  if (!isMap(status)) throw new Error(`${who} didn't return a status field`);

  const result: ExecCredentialResult = {};
  const str = (field: string): string | undefined => {
    const v = status[field];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") throw new Error(`${who} returned a non-string status.${field}`);
    return v;
  };
  const token = str("token");
  const certData = str("clientCertificateData");
  const keyData = str("clientKeyData");
  if ((certData === undefined) !== (keyData === undefined))
    throw new Error(`${who} returned only one of clientCertificateData and clientKeyData; both are needed`);
  if (token === undefined && certData === undefined)
    throw new Error(`${who} didn't return a token or cert/key pair`);
  if (token !== undefined) result.token = token;
  if (certData !== undefined && keyData !== undefined) {
    result.cert = Buffer.from(certData);
    result.key = Buffer.from(keyData);
  }
  const expiration = str("expirationTimestamp");
  if (expiration !== undefined) {
    const ms = Date.parse(expiration);
    if (!/^\d{4}-\d\d-\d\dT/.test(expiration) || Number.isNaN(ms))
      throw new Error(`${who} returned an invalid expirationTimestamp ${JSON.stringify(expiration)}`);
    result.expiresAtMs = ms;
  }
  return result;
}
