// metrics-server's command line: every flag upstream accepts (except the apiserver audit-log family),
// with upstream's names, defaults and validation messages, so upstream manifests run unchanged.
// Flags this server does not act on yet are still parsed and documented, never rejected.
//
// Deliberate difference from upstream: upstream refuses `--metric-resolution` below 10s. Here a
// shorter resolution is accepted with a warning (useful for demos and tests against fast fake
// kubelets). And when `--kubelet-request-timeout` is not given and 90% of the resolution is below its
// 10s default (resolutions under ~11.1s, where upstream would reject its own default), the timeout
// defaults to 90% of the resolution instead. An explicit timeout larger than 90% of the resolution
// still fails with upstream's message.

import { readFileSync } from "node:fs";
import { formatGoDuration, goQuote, msToNs, nsToMs } from "../go/index.ts";
import { FlagError, FlagSet, type FlagType, parseGoInt } from "./flags.ts";

export { FlagError };

/** A configuration error found after parsing; the message matches upstream's where it has one. */
export class OptionsError extends Error {
  override name = "OptionsError";
}

/** One `--tls-sni-cert-key` value: certificate and key files, optionally with the names they serve. */
export interface NamedCertKey {
  certFile: string;
  keyFile: string;
  /** Domain patterns; empty means "take the names from the certificate". */
  names: string[];
}

/** One `--vmodule` entry: files matching `pattern` log at `level`. */
export interface VmoduleEntry {
  pattern: string;
  level: number;
}

/** The parsed and validated command line. Durations are milliseconds (suffix `Ms`). */
export interface Options {
  // Metrics server
  kubeconfig: string;
  /** --manage-apiservice-ca-bundle. */
  manageApiserviceCaBundle: boolean;
  /** --swap-usage: serve `swap` in usage. */
  swapUsage: boolean;
  metricResolutionMs: number;

  // Kubelet client
  deprecatedKubeletCompletelyInsecure: boolean;
  kubeletCertificateAuthority: string;
  /** PEM text of the CA for kubelet serving certs (alternative to the file). */
  kubeletCertificateAuthorityText: string;
  kubeletClientCertificate: string;
  kubeletClientKey: string;
  /** --kubelet-endpoint: auto | resource | summary. */
  kubeletEndpoint: KubeletEndpointKind;
  kubeletInsecureTls: boolean;
  kubeletPort: number;
  kubeletPreferredAddressTypes: string[];
  kubeletRequestTimeoutMs: number;
  kubeletUseNodeStatusPort: boolean;
  /** Label selector for the nodes to scrape ("" = all). */
  nodeSelector: string;

  // Apiserver secure serving
  bindAddress: string;
  certDir: string;
  http2MaxStreamsPerConnection: number;
  permitAddressSharing: boolean;
  permitPortSharing: boolean;
  /** 0 means "do not serve HTTPS" upstream. */
  securePort: number;
  tlsCertFile: string;
  tlsCipherSuites: string[];
  /** "" (default) or VersionTLS10..VersionTLS13. */
  tlsMinVersion: string;
  tlsPrivateKeyFile: string;
  tlsSniCertKeys: NamedCertKey[];

  // Apiserver authentication
  authenticationKubeconfig: string;
  authenticationSkipLookup: boolean;
  authenticationTokenWebhookCacheTtlMs: number;
  authenticationTolerateLookupFailure: boolean;
  clientCaFile: string;
  requestheaderAllowedNames: string[];
  requestheaderClientCaFile: string;
  requestheaderExtraHeadersPrefix: string[];
  requestheaderGroupHeaders: string[];
  requestheaderUsernameHeaders: string[];

  // Apiserver authorization
  authorizationAlwaysAllowPaths: string[];
  authorizationKubeconfig: string;
  authorizationWebhookCacheAuthorizedTtlMs: number;
  authorizationWebhookCacheUnauthorizedTtlMs: number;

  // Features
  contentionProfiling: boolean;
  debugSocketPath: string;
  profiling: boolean;

  // Logging
  logFlushFrequencyMs: number;
  logJsonInfoBufferSizeBytes: number;
  logJsonSplitStream: boolean;
  loggingFormat: "text" | "json";
  /** `-v`: klog verbosity. */
  verbosity: number;
  vmodule: VmoduleEntry[];

  // Generic server
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  requestTimeoutMs: number;
  shutdownDelayDurationMs: number;
}

export type ParseResult =
  | { kind: "run"; options: Options; warnings: string[] }
  /** `text` ends with a newline and goes to stdout. */
  | { kind: "help"; text: string }
  /** `text` is the version tag ("v0.1.0") plus a newline, as upstream prints it. */
  | { kind: "version"; text: string };

/** Node address types in upstream's default priority. */
/** The values of --kubelet-endpoint. */
export const KUBELET_ENDPOINTS = ["auto", "resource", "summary"] as const;
export type KubeletEndpointKind = (typeof KUBELET_ENDPOINTS)[number];

export const DEFAULT_ADDRESS_TYPES: readonly string[] = [
  "Hostname",
  "InternalDNS",
  "InternalIP",
  "ExternalDNS",
  "ExternalIP",
];

export const TLS_VERSIONS: readonly string[] = [
  "VersionTLS10",
  "VersionTLS11",
  "VersionTLS12",
  "VersionTLS13",
];

export const PREFERRED_CIPHER_SUITES: readonly string[] = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_RSA_WITH_AES_128_CBC_SHA",
  "TLS_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_RSA_WITH_AES_256_CBC_SHA",
  "TLS_RSA_WITH_AES_256_GCM_SHA384",
];

export const INSECURE_CIPHER_SUITES: readonly string[] = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
  "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
  "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
  "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
  "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
  "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
  "TLS_RSA_WITH_AES_128_CBC_SHA256",
  "TLS_RSA_WITH_RC4_128_SHA",
];

/** Below this upstream refuses --metric-resolution; we only warn. */
const MIN_UPSTREAM_RESOLUTION_MS = 10_000;

// ---------------------------------------------------------------------------------------------------
// Value types that only these options use

// cliflag.NamedCertKey: "cert,key" or "cert,key:name1,name2". Repeating the flag adds pairs.
const namedCertKeyType: FlagType<NamedCertKey[]> = {
  varName: "namedCertKey",
  parse(raw, current, first) {
    const colon = raw.indexOf(":");
    let pair = raw.trim();
    let names: string[] = [];
    if (colon >= 0) {
      pair = raw.slice(0, colon).trim();
      const list = raw.slice(colon + 1).trim();
      if (list === "") throw new Error("empty names list is not allowed");
      names = list.split(",").map((n) => n.trim());
    }
    const files = pair.split(",");
    if (files.length !== 2) throw new Error("expected comma separated certificate and key file paths");
    const entry = { certFile: files[0].trim(), keyFile: files[1].trim(), names };
    return first ? [entry] : [...current, entry];
  },
  format: (v) => "[" + v.map((e) => e.certFile + "," + e.keyFile).join(";") + "]",
  isZero: () => false, // pflag prints "(default [])" for this type
};

// klog's Level: a base-10 int32.
const levelType: FlagType<number> = {
  varName: "Level",
  parse: (raw) => parseGoInt(raw, 10, 32),
  format: (v) => String(v),
  isZero: (f) => f === "0",
};

const VMODULE_SYNTAX = "syntax error: expect comma-separated list of filename=N";

// klog's vmodule: "pattern=N,pattern=N"; each occurrence replaces the previous list.
const vmoduleType: FlagType<VmoduleEntry[]> = {
  varName: "pattern=N,...",
  parse(raw) {
    const entries: VmoduleEntry[] = [];
    for (const item of raw.split(",")) {
      if (item === "") continue; // a trailing comma is harmless
      const parts = item.split("=");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") throw new Error(VMODULE_SYNTAX);
      let level: number;
      try {
        level = parseGoInt(parts[1], 10, 32);
      } catch {
        throw new Error(VMODULE_SYNTAX);
      }
      if (level < 0) throw new Error("negative value for vmodule level");
      entries.push({ pattern: parts[0], level });
    }
    return entries;
  },
  format: (v) => v.map((e) => `${e.pattern}=${e.level}`).join(","),
  isZero: (f) => f === "",
};

const QUANTITY_SUFFIXES: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// A Kubernetes resource.Quantity used as a byte count (rounded up, as Quantity.Value does).
const quantityType: FlagType<number> = {
  varName: "quantity",
  parse(raw) {
    const m = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/.exec(raw);
    if (!m || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(m[1])) {
      throw new Error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      );
    }
    const exponent = /^[eE]([-+]?\d+)$/.exec(m[2]);
    const factor = exponent ? 10 ** Number(exponent[1]) : QUANTITY_SUFFIXES[m[2]];
    if (factor === undefined) throw new Error("unable to parse quantity's suffix");
    return Math.ceil(Number(m[1]) * factor);
  },
  format: (v) => String(v),
  isZero: (f) => f === "0",
};

// ---------------------------------------------------------------------------------------------------
// Declarations

const SECTIONS = [
  "Metrics server",
  "Kubelet client",
  "Apiserver secure serving",
  "Apiserver authentication",
  "Apiserver authorization",
  "Features",
  "Logging",
  "Generic server",
  "Global",
];

function declareFlags(fs: FlagSet) {
  const ms = { section: "Metrics server" };
  const kc = { section: "Kubelet client" };
  const ss = { section: "Apiserver secure serving" };
  const authn = { section: "Apiserver authentication" };
  const authz = { section: "Apiserver authorization" };
  const feat = { section: "Features" };
  const logs = { section: "Logging" };
  const gen = { section: "Generic server" };
  const cipherHelp =
    "Comma-separated list of TLS cipher suites the server offers. When omitted, Go's default suites are used.\n" +
    "Preferred values: " +
    PREFERRED_CIPHER_SUITES.join(", ") +
    ".\nInsecure values: " +
    INSECURE_CIPHER_SUITES.join(", ") +
    ".";

  return {
    // Metrics server
    kubeconfig: fs.string(
      "kubeconfig",
      "",
      "Path to the kubeconfig used to reach the Kubernetes API server and the Kubelets (in-cluster config when empty)",
      ms,
    ),
    metricResolution: fs.duration(
      "metric-resolution",
      60_000,
      "How often metrics are scraped and the resolution metrics-server keeps; upstream requires at least 10s.",
      ms,
    ),
    manageApiserviceCaBundle: fs.bool(
      "manage-apiservice-ca-bundle",
      false,
      "Serve with a certificate signed by a CA generated in --cert-dir and write that CA into the caBundle of " +
        "the APIService v1beta1.metrics.k8s.io (clearing insecureSkipTLSVerify), so kube-apiserver verifies this " +
        "server. Needs get and update on apiservices. Not in upstream.",
      ms,
    ),
    swapUsage: fs.bool(
      "swap-usage",
      false,
      "Add the kubelet-reported swap usage as 'swap' to NodeMetrics and PodMetrics usage (read by kubectl top " +
        "--show-swap; the HPA ignores it). Not in upstream.",
      ms,
    ),
    version: fs.bool("version", false, "Print the version and exit", ms),

    // Kubelet client
    deprecatedKubeletCompletelyInsecure: fs.bool(
      "deprecated-kubelet-completely-insecure",
      false,
      "DEPRECATED: talk to Kubelets over plain HTTP without any authentication or authorization. This leaves " +
        "kubelet traffic wide open and is almost never what you want; for auth errors enable webhook token auth on " +
        "the Kubelet, and for self-signed Kubelet certificates in test clusters use --kubelet-insecure-tls instead.",
      kc,
    ),
    kubeletCertificateAuthority: fs.string(
      "kubelet-certificate-authority",
      "",
      "Path to the CA bundle that verifies the Kubelets' serving certificates.",
      kc,
    ),
    kubeletCertificateAuthorityText: fs.string(
      "kubelet-certificate-authority-text",
      "",
      "PEM text of the CA bundle that verifies the Kubelets' serving certificates.",
      kc,
    ),
    kubeletClientCertificate: fs.string(
      "kubelet-client-certificate",
      "",
      "Path to a TLS client certificate presented to Kubelets.",
      kc,
    ),
    kubeletClientKey: fs.string(
      "kubelet-client-key",
      "",
      "Path to the key of the TLS client certificate.",
      kc,
    ),
    kubeletEndpoint: fs.string(
      "kubelet-endpoint",
      "auto",
      "Which Kubelet endpoint to scrape: 'resource' (/metrics/resource), 'summary' (/stats/summary, for old " +
        "Kubelets and the read-only port), or 'auto' (resource, falling back per node to summary when the " +
        "Kubelet answers 404, and retrying resource every 10 minutes).",
      kc,
    ),
    kubeletInsecureTls: fs.bool(
      "kubelet-insecure-tls",
      false,
      "Skip verification of the Kubelets' serving certificates. Only for testing.",
      kc,
    ),
    kubeletPort: fs.int("kubelet-port", 10250, "Port used to reach Kubelets.", kc),
    kubeletPreferredAddressTypes: fs.stringSlice(
      "kubelet-preferred-address-types",
      DEFAULT_ADDRESS_TYPES,
      "Node address types to try, in order, when choosing the address used to reach a node's Kubelet",
      kc,
    ),
    kubeletRequestTimeout: fs.duration(
      "kubelet-request-timeout",
      10_000,
      "How long a single Kubelet request may take before it is abandoned. Non-zero values need a time unit " +
        "(e.g. 1s, 2m, 3h).",
      kc,
    ),
    kubeletUseNodeStatusPort: fs.bool(
      "kubelet-use-node-status-port",
      false,
      "Use the Kubelet port published in the node status; wins over --kubelet-port.",
      kc,
    ),
    nodeSelector: fs.string(
      "node-selector",
      "",
      "Label selector restricting the nodes that are scraped and listed; supports '=', '==' and '!=' " +
        "(e.g. -l key1=value1,key2=value2).",
      { ...kc, shorthand: "l" },
    ),

    // Apiserver secure serving
    bindAddress: fs.ip(
      "bind-address",
      "0.0.0.0",
      "IP address to listen on for --secure-port; it must be reachable by the rest of the cluster and by clients. " +
        "An empty or unspecified address (0.0.0.0 or ::) listens on all interfaces.",
      ss,
    ),
    certDir: fs.string(
      "cert-dir",
      "apiserver.local.config/certificates",
      "Directory holding the TLS certificates; ignored when --tls-cert-file and --tls-private-key-file are set.",
      ss,
    ),
    http2MaxStreamsPerConnection: fs.int(
      "http2-max-streams-per-connection",
      0,
      "Maximum number of concurrent streams the server allows per HTTP/2 connection. Zero keeps the default.",
      ss,
    ),
    permitAddressSharing: fs.bool(
      "permit-address-sharing",
      false,
      "Bind with SO_REUSEADDR, so wildcard and specific addresses can be bound together and sockets in TIME_WAIT " +
        "do not block a restart. [default=false]",
      ss,
    ),
    permitPortSharing: fs.bool(
      "permit-port-sharing",
      false,
      "Bind with SO_REUSEPORT, so several instances can listen on the same address and port. [default=false]",
      ss,
    ),
    securePort: fs.int(
      "secure-port",
      443,
      "Port serving HTTPS with authentication and authorization. 0 disables HTTPS serving.",
      ss,
    ),
    tlsCertFile: fs.string(
      "tls-cert-file",
      "",
      "File with the default x509 serving certificate (followed by any CA certificates). Without it and " +
        "--tls-private-key-file a self-signed pair is generated into --cert-dir.",
      ss,
    ),
    tlsCipherSuites: fs.stringSlice("tls-cipher-suites", [], cipherHelp, ss),
    tlsMinVersion: fs.string(
      "tls-min-version",
      "",
      "Lowest TLS version accepted. One of: " + TLS_VERSIONS.join(", "),
      ss,
    ),
    tlsPrivateKeyFile: fs.string(
      "tls-private-key-file",
      "",
      "File with the x509 private key matching --tls-cert-file.",
      ss,
    ),
    tlsSniCertKey: fs.add({
      ...ss,
      name: "tls-sni-cert-key",
      type: namedCertKeyType,
      default: [],
      usage:
        "A certificate and key file pair, optionally followed by domain patterns it serves (fully qualified names, " +
        "optionally with a leading wildcard segment, or IP addresses). Without patterns the names come from the " +
        "certificate. Exact matches beat wildcards and explicit patterns beat extracted names. Repeat the flag " +
        'for several pairs, e.g. "example.crt,example.key" or "foo.crt,foo.key:*.foo.com,foo.com".',
    }),

    // Apiserver authentication
    authenticationKubeconfig: fs.string(
      "authentication-kubeconfig",
      "",
      "kubeconfig for the core Kubernetes API server, allowed to create tokenreviews.authentication.k8s.io.",
      authn,
    ),
    authenticationSkipLookup: fs.bool(
      "authentication-skip-lookup",
      false,
      "Do not read missing authentication configuration from the cluster through --authentication-kubeconfig.",
      authn,
    ),
    authenticationTokenWebhookCacheTtl: fs.duration(
      "authentication-token-webhook-cache-ttl",
      10_000,
      "How long token review answers are cached.",
      authn,
    ),
    authenticationTolerateLookupFailure: fs.bool(
      "authentication-tolerate-lookup-failure",
      false,
      "Keep running when the authentication configuration cannot be read from the cluster. All requests may " +
        "then be treated as anonymous.",
      authn,
    ),
    clientCaFile: fs.string(
      "client-ca-file",
      "",
      "CA bundle for client certificates; a request with a certificate signed by it is authenticated as the " +
        "certificate's CommonName.",
      authn,
    ),
    requestheaderAllowedNames: fs.stringSlice(
      "requestheader-allowed-names",
      [],
      "Client certificate common names allowed to pass usernames in the --requestheader-username-headers. " +
        "Empty allows any certificate verified by --requestheader-client-ca-file.",
      authn,
    ),
    requestheaderClientCaFile: fs.string(
      "requestheader-client-ca-file",
      "",
      "CA bundle that must have signed the client certificate before usernames in " +
        "--requestheader-username-headers are trusted. WARNING: do not assume incoming requests were authorized.",
      authn,
    ),
    requestheaderExtraHeadersPrefix: fs.stringSlice(
      "requestheader-extra-headers-prefix",
      ["x-remote-extra-"],
      "Request header prefixes carrying extra user attributes. X-Remote-Extra- is suggested.",
      authn,
    ),
    requestheaderGroupHeaders: fs.stringSlice(
      "requestheader-group-headers",
      ["x-remote-group"],
      "Request headers carrying the groups. X-Remote-Group is suggested.",
      authn,
    ),
    requestheaderUsernameHeaders: fs.stringSlice(
      "requestheader-username-headers",
      ["x-remote-user"],
      "Request headers carrying the username. X-Remote-User is common.",
      authn,
    ),

    // Apiserver authorization
    authorizationAlwaysAllowPaths: fs.stringSlice(
      "authorization-always-allow-paths",
      ["/healthz", "/readyz", "/livez"],
      "HTTP paths authorized without asking the core Kubernetes API server.",
      authz,
    ),
    authorizationKubeconfig: fs.string(
      "authorization-kubeconfig",
      "",
      "kubeconfig for the core Kubernetes API server, allowed to create " +
        "subjectaccessreviews.authorization.k8s.io.",
      authz,
    ),
    authorizationWebhookCacheAuthorizedTtl: fs.duration(
      "authorization-webhook-cache-authorized-ttl",
      10_000,
      "How long 'authorized' answers of the webhook authorizer are cached.",
      authz,
    ),
    authorizationWebhookCacheUnauthorizedTtl: fs.duration(
      "authorization-webhook-cache-unauthorized-ttl",
      10_000,
      "How long 'unauthorized' answers of the webhook authorizer are cached.",
      authz,
    ),

    // Features
    contentionProfiling: fs.bool(
      "contention-profiling",
      false,
      "Enable block profiling as well, when profiling is on",
      feat,
    ),
    debugSocketPath: fs.string(
      "debug-socket-path",
      "",
      "Serve profiling on this unix-domain socket, without authentication or authorization",
      feat,
    ),
    profiling: fs.bool("profiling", true, "Enable profiling through host:port/debug/pprof/", feat),

    // Logging
    logFlushFrequency: fs.duration("log-flush-frequency", 5_000, "Longest time between log flushes", logs),
    logJsonInfoBufferSize: fs.add({
      ...logs,
      name: "log-json-info-buffer-size",
      type: quantityType,
      default: 0,
      usage:
        "[Alpha] With JSON output split into two streams, buffer info messages up to this size. Zero disables " +
        "buffering. Accepts plain bytes (512), decimal (1k) or binary (2Ki) multiples.",
    }),
    logJsonSplitStream: fs.bool(
      "log-json-split-stream",
      false,
      "[Alpha] In JSON format, send errors to stderr and info messages to stdout instead of one stream.",
      logs,
    ),
    loggingFormat: fs.string("logging-format", "text", 'Log format: "text" or "json".', logs),
    v: fs.add({
      ...logs,
      name: "v",
      shorthand: "v",
      type: levelType,
      default: 0,
      usage: "log verbosity level",
    }),
    vmodule: fs.add({
      ...logs,
      name: "vmodule",
      type: vmoduleType,
      default: [],
      usage: "comma-separated pattern=N settings for per-file log verbosity (text format only)",
    }),

    // Generic server
    maxRequestsInflight: fs.int(
      "max-requests-inflight",
      400,
      "Most non-mutating requests served at once; beyond it requests are rejected. Zero means no limit.",
      gen,
    ),
    maxMutatingRequestsInflight: fs.int(
      "max-mutating-requests-inflight",
      200,
      "Most mutating requests served at once; beyond it requests are rejected. Zero means no limit.",
      gen,
    ),
    requestTimeout: fs.duration(
      "request-timeout",
      60_000,
      "Longest time the server works on a request before timing it out (watches excepted).",
      gen,
    ),
    shutdownDelayDuration: fs.duration(
      "shutdown-delay-duration",
      0,
      "How long to keep serving after a termination signal while /readyz reports failure, so load balancers " +
        "can drain the endpoint.",
      gen,
    ),

    help: fs.bool("help", false, "Show this help and exit", { section: "Global", shorthand: "h" }),
  };
}

type Declared = ReturnType<typeof declareFlags>;

// ---------------------------------------------------------------------------------------------------
// Parsing and validation

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    if (typeof pkg.version === "string" && pkg.version !== "") return "v" + pkg.version;
  } catch {
    // Fall through: a broken install must still answer --version.
  }
  return "unknown";
}

/** The usage text printed for --help. */
export function helpText(): string {
  const fs = new FlagSet();
  declareFlags(fs);
  return "Launch metrics-server\n\nUsage:\n  metrics-server [flags]\n" + fs.sectionUsages(SECTIONS);
}

function collect(f: Declared): Options {
  return {
    kubeconfig: f.kubeconfig.value,
    manageApiserviceCaBundle: f.manageApiserviceCaBundle.value,
    swapUsage: f.swapUsage.value,
    metricResolutionMs: f.metricResolution.value,
    deprecatedKubeletCompletelyInsecure: f.deprecatedKubeletCompletelyInsecure.value,
    kubeletCertificateAuthority: f.kubeletCertificateAuthority.value,
    kubeletCertificateAuthorityText: f.kubeletCertificateAuthorityText.value,
    kubeletClientCertificate: f.kubeletClientCertificate.value,
    kubeletClientKey: f.kubeletClientKey.value,
    kubeletEndpoint: f.kubeletEndpoint.value as KubeletEndpointKind,
    kubeletInsecureTls: f.kubeletInsecureTls.value,
    kubeletPort: f.kubeletPort.value,
    kubeletPreferredAddressTypes: f.kubeletPreferredAddressTypes.value,
    kubeletRequestTimeoutMs: f.kubeletRequestTimeout.value,
    kubeletUseNodeStatusPort: f.kubeletUseNodeStatusPort.value,
    nodeSelector: f.nodeSelector.value,
    bindAddress: f.bindAddress.value,
    certDir: f.certDir.value,
    http2MaxStreamsPerConnection: f.http2MaxStreamsPerConnection.value,
    permitAddressSharing: f.permitAddressSharing.value,
    permitPortSharing: f.permitPortSharing.value,
    securePort: f.securePort.value,
    tlsCertFile: f.tlsCertFile.value,
    tlsCipherSuites: f.tlsCipherSuites.value,
    tlsMinVersion: f.tlsMinVersion.value,
    tlsPrivateKeyFile: f.tlsPrivateKeyFile.value,
    tlsSniCertKeys: f.tlsSniCertKey.value,
    authenticationKubeconfig: f.authenticationKubeconfig.value,
    authenticationSkipLookup: f.authenticationSkipLookup.value,
    authenticationTokenWebhookCacheTtlMs: f.authenticationTokenWebhookCacheTtl.value,
    authenticationTolerateLookupFailure: f.authenticationTolerateLookupFailure.value,
    clientCaFile: f.clientCaFile.value,
    requestheaderAllowedNames: f.requestheaderAllowedNames.value,
    requestheaderClientCaFile: f.requestheaderClientCaFile.value,
    requestheaderExtraHeadersPrefix: f.requestheaderExtraHeadersPrefix.value,
    requestheaderGroupHeaders: f.requestheaderGroupHeaders.value,
    requestheaderUsernameHeaders: f.requestheaderUsernameHeaders.value,
    authorizationAlwaysAllowPaths: f.authorizationAlwaysAllowPaths.value,
    authorizationKubeconfig: f.authorizationKubeconfig.value,
    authorizationWebhookCacheAuthorizedTtlMs: f.authorizationWebhookCacheAuthorizedTtl.value,
    authorizationWebhookCacheUnauthorizedTtlMs: f.authorizationWebhookCacheUnauthorizedTtl.value,
    contentionProfiling: f.contentionProfiling.value,
    debugSocketPath: f.debugSocketPath.value,
    profiling: f.profiling.value,
    logFlushFrequencyMs: f.logFlushFrequency.value,
    logJsonInfoBufferSizeBytes: f.logJsonInfoBufferSize.value,
    logJsonSplitStream: f.logJsonSplitStream.value,
    // Checked in validate(); anything else never leaves parseOptions.
    loggingFormat: f.loggingFormat.value as Options["loggingFormat"],
    verbosity: f.v.value,
    vmodule: f.vmodule.value,
    maxRequestsInflight: f.maxRequestsInflight.value,
    maxMutatingRequestsInflight: f.maxMutatingRequestsInflight.value,
    requestTimeoutMs: f.requestTimeout.value,
    shutdownDelayDurationMs: f.shutdownDelayDuration.value,
  };
}

/**
 * Every configuration error, in upstream's order (kubelet client, resolution, serving, logging);
 * parseOptions reports the first, as upstream's start-up does.
 */
export function validateOptions(o: Options): string[] {
  const errors: string[] = [];
  const caFile = o.kubeletCertificateAuthority !== "";
  const caText = o.kubeletCertificateAuthorityText !== "";
  const key = o.kubeletClientKey !== "";
  const cert = o.kubeletClientCertificate !== "";
  const insecure = o.deprecatedKubeletCompletelyInsecure;

  // Our own addition, first because a non-positive resolution makes the checks below meaningless.
  if (o.metricResolutionMs <= 0) {
    errors.push(
      `metric-resolution should be a positive time duration, but value ${formatGoDuration(o.metricResolutionMs)} provided`,
    );
  }

  // Kubelet client, as upstream's KubeletClientOptions.Validate.
  if (caFile && caText) {
    errors.push("cannot use both --kubelet-certificate-authority and --kubelet-certificate-authority-text");
  }
  if (caText && o.kubeletInsecureTls) {
    errors.push("cannot use both --kubelet-certificate-authority-text and --kubelet-insecure-tls");
  }
  if (caFile && o.kubeletInsecureTls) {
    errors.push("cannot use both --kubelet-certificate-authority and --kubelet-insecure-tls");
  }
  if (key !== cert) errors.push("need both --kubelet-client-key and --kubelet-client-certificate");
  if (key && insecure)
    errors.push("cannot use both --kubelet-client-key and --deprecated-kubelet-completely-insecure");
  if (cert && insecure) {
    errors.push("cannot use both --kubelet-client-certificate and --deprecated-kubelet-completely-insecure");
  }
  if (o.kubeletInsecureTls && insecure) {
    errors.push("cannot use both --kubelet-insecure-tls and --deprecated-kubelet-completely-insecure");
  }
  if (caText && insecure) {
    errors.push(
      "cannot use both --kubelet-certificate-authority-text and --deprecated-kubelet-completely-insecure",
    );
  }
  if (caFile && insecure) {
    errors.push(
      "cannot use both --kubelet-certificate-authority and --deprecated-kubelet-completely-insecure",
    );
  }
  if (o.kubeletRequestTimeoutMs <= 0) errors.push("kubelet-request-timeout should be positive");
  if (!(KUBELET_ENDPOINTS as readonly string[]).includes(o.kubeletEndpoint)) {
    errors.push(
      `invalid --kubelet-endpoint ${goQuote(o.kubeletEndpoint)}: want one of ${KUBELET_ENDPOINTS.join(", ")}`,
    );
  }

  // Upstream accepts any string here; an unknown type can never match a node address, so every
  // scrape would fail with "no address matched types". Failing at start-up is kinder.
  if (o.kubeletPreferredAddressTypes.length === 0) {
    errors.push("kubelet-preferred-address-types should not be empty");
  }
  for (const t of o.kubeletPreferredAddressTypes) {
    if (!DEFAULT_ADDRESS_TYPES.includes(t)) {
      errors.push(
        `unknown node address type ${goQuote(t)} in --kubelet-preferred-address-types; known types are ` +
          DEFAULT_ADDRESS_TYPES.join(", "),
      );
      break;
    }
  }
  if (o.kubeletPort < 1 || o.kubeletPort > 65535) {
    errors.push(`--kubelet-port ${o.kubeletPort} must be between 1 and 65535, inclusive`);
  }

  // Metric resolution, as upstream's Options.validate (the 10s minimum is a warning here, see top).
  // Integer nanosecond arithmetic like Go's `resolution*9/10 < timeout`.
  if (
    o.metricResolutionMs > 0 &&
    (msToNs(o.metricResolutionMs) * 9n) / 10n < msToNs(o.kubeletRequestTimeoutMs)
  ) {
    errors.push(
      "metric-resolution should be larger than kubelet-request-timeout, but metric-resolution value " +
        `${formatGoDuration(o.metricResolutionMs)} kubelet-request-timeout value ` +
        `${formatGoDuration(o.kubeletRequestTimeoutMs)} provided`,
    );
  }

  // Secure serving (apiserver SecureServingOptions; the port is optional for metrics-server).
  if (o.securePort < 0 || o.securePort > 65535) {
    errors.push(
      `--secure-port ${o.securePort} must be between 0 and 65535, inclusive. 0 for turning off secure port`,
    );
  }
  if ((o.tlsCertFile === "") !== (o.tlsPrivateKeyFile === ""))
    errors.push("missing filename for serving cert");
  if (o.tlsMinVersion !== "" && !TLS_VERSIONS.includes(o.tlsMinVersion)) {
    errors.push(`unknown tls version ${goQuote(o.tlsMinVersion)}`);
  }
  for (const suite of o.tlsCipherSuites) {
    if (!PREFERRED_CIPHER_SUITES.includes(suite) && !INSECURE_CIPHER_SUITES.includes(suite)) {
      errors.push(`Cipher suite ${suite} not supported or doesn't exist`);
      break;
    }
  }

  // Generic server run options.
  if (o.maxRequestsInflight < 0) errors.push("--max-requests-inflight can not be negative value");
  if (o.maxMutatingRequestsInflight < 0)
    errors.push("--max-mutating-requests-inflight can not be negative value");
  if (o.requestTimeoutMs < 0) errors.push("--request-timeout can not be negative value");
  if (o.shutdownDelayDurationMs < 0) errors.push("--shutdown-delay-duration can not be negative value");

  // Logging (component-base logs API).
  if (o.loggingFormat !== "text" && o.loggingFormat !== "json") {
    errors.push(`format: Invalid value: ${goQuote(o.loggingFormat)}: Unsupported log format`);
  }
  return errors;
}

/**
 * Parses metrics-server's command line (argv without the program name). Order as upstream: flag
 * syntax errors (FlagError), then --help, then --version, then validation (OptionsError, first error).
 */
export function parseOptions(argv: readonly string[]): ParseResult {
  const fs = new FlagSet();
  const flags = declareFlags(fs);
  fs.parse(argv);
  if (flags.help.value) return { kind: "help", text: helpText() };
  if (flags.version.value) return { kind: "version", text: readVersion() + "\n" };

  const options = collect(flags);
  const warnings: string[] = [];
  const resolution = options.metricResolutionMs;
  if (resolution > 0 && resolution < MIN_UPSTREAM_RESOLUTION_MS) {
    warnings.push(
      `metric-resolution ${formatGoDuration(resolution)} is below the 10s minimum upstream metrics-server ` +
        "enforces; accepting it, but kubelets may not refresh resource metrics that often",
    );
  }
  // Applies from 10s to ~11.1s too, where upstream's own default timeout would fail its check.
  const defaultTimeoutNs = msToNs(flags.kubeletRequestTimeout.default);
  const ninetyPercentNs = (msToNs(resolution) * 9n) / 10n;
  if (resolution > 0 && !flags.kubeletRequestTimeout.changed && ninetyPercentNs < defaultTimeoutNs) {
    options.kubeletRequestTimeoutMs = nsToMs(ninetyPercentNs);
    warnings.push(
      `kubelet-request-timeout not set; using ${formatGoDuration(options.kubeletRequestTimeoutMs)} ` +
        `(90% of metric-resolution) instead of ${formatGoDuration(flags.kubeletRequestTimeout.default)}`,
    );
  }
  const errors = validateOptions(options);
  if (errors.length > 0) throw new OptionsError(errors[0]);
  return { kind: "run", options, warnings };
}
