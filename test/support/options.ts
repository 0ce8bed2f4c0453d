// The options' tests share these: every option's default, and a parse expected to succeed.
import assert from "node:assert/strict";
import { type Options, parseOptions } from "../../src/cmd/metrics-server/options/index.ts";

export const DEFAULTS: Options = {
  kubeconfig: "",
  manageApiserviceCaBundle: false,
  swapUsage: false,
  metricResolutionMs: 60_000,
  deprecatedKubeletCompletelyInsecure: false,
  kubeletCertificateAuthority: "",
  kubeletCertificateAuthorityText: "",
  kubeletClientCertificate: "",
  kubeletClientKey: "",
  kubeletEndpoint: "auto",
  kubeletInsecureTls: false,
  kubeletPort: 10250,
  kubeletPreferredAddressTypes: ["Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"],
  kubeletRequestTimeoutMs: 10_000,
  kubeletUseNodeStatusPort: false,
  nodeSelector: "",
  bindAddress: "0.0.0.0",
  certDir: "apiserver.local.config/certificates",
  http2MaxStreamsPerConnection: 0,
  permitAddressSharing: false,
  permitPortSharing: false,
  securePort: 443,
  tlsCertFile: "",
  tlsCipherSuites: [],
  tlsMinVersion: "",
  tlsPrivateKeyFile: "",
  tlsSniCertKeys: [],
  authenticationKubeconfig: "",
  authenticationSkipLookup: false,
  authenticationTokenWebhookCacheTtlMs: 10_000,
  authenticationTolerateLookupFailure: false,
  clientCaFile: "",
  requestheaderAllowedNames: [],
  requestheaderClientCaFile: "",
  requestheaderExtraHeadersPrefix: ["x-remote-extra-"],
  requestheaderGroupHeaders: ["x-remote-group"],
  requestheaderUsernameHeaders: ["x-remote-user"],
  authorizationAlwaysAllowPaths: ["/healthz", "/readyz", "/livez"],
  authorizationKubeconfig: "",
  authorizationWebhookCacheAuthorizedTtlMs: 10_000,
  authorizationWebhookCacheUnauthorizedTtlMs: 10_000,
  contentionProfiling: false,
  debugSocketPath: "",
  profiling: true,
  logFlushFrequencyMs: 5_000,
  logJsonInfoBufferSizeBytes: 0,
  logJsonSplitStream: false,
  loggingFormat: "text",
  verbosity: 0,
  vmodule: [],
  maxRequestsInflight: 400,
  maxMutatingRequestsInflight: 200,
  requestTimeoutMs: 60_000,
  shutdownDelayDurationMs: 0,
};

export function run(argv: string[]): { options: Options; warnings: string[] } {
  const result = parseOptions(argv);
  assert.equal(result.kind, "run");
  if (result.kind !== "run") throw new Error("unreachable");
  return result;
}
