// Apiserver authentication flags (the generic apiserver's DelegatingAuthenticationOptions). They reach
// src/apiserver/auth under the same names (its AuthOptions).
import { specs as flag } from "../../../go/index.ts";
import { inSection, type OptionsOf } from "./group.ts";

export const authenticationFlags = inSection("Apiserver authentication", {
  authenticationKubeconfig: flag.string(
    "authentication-kubeconfig",
    "",
    "kubeconfig for the core Kubernetes API server, allowed to create tokenreviews.authentication.k8s.io.",
  ),
  authenticationSkipLookup: flag.bool(
    "authentication-skip-lookup",
    false,
    "Do not read missing authentication configuration from the cluster through --authentication-kubeconfig.",
  ),
  authenticationTokenWebhookCacheTtlMs: flag.duration(
    "authentication-token-webhook-cache-ttl",
    10_000,
    "How long token review answers are cached.",
  ),
  authenticationTolerateLookupFailure: flag.bool(
    "authentication-tolerate-lookup-failure",
    false,
    "Keep running when the authentication configuration cannot be read from the cluster. All requests may " +
      "then be treated as anonymous.",
  ),
  clientCaFile: flag.string(
    "client-ca-file",
    "",
    "CA bundle for client certificates; a request with a certificate signed by it is authenticated as the " +
      "certificate's CommonName.",
  ),
  requestheaderAllowedNames: flag.stringSlice(
    "requestheader-allowed-names",
    [],
    "Client certificate common names allowed to pass usernames in the --requestheader-username-headers. " +
      "Empty allows any certificate verified by --requestheader-client-ca-file.",
  ),
  requestheaderClientCaFile: flag.string(
    "requestheader-client-ca-file",
    "",
    "CA bundle that must have signed the client certificate before usernames in " +
      "--requestheader-username-headers are trusted. WARNING: do not assume incoming requests were authorized.",
  ),
  requestheaderExtraHeadersPrefix: flag.stringSlice(
    "requestheader-extra-headers-prefix",
    ["x-remote-extra-"],
    "Request header prefixes carrying extra user attributes. X-Remote-Extra- is suggested.",
  ),
  requestheaderGroupHeaders: flag.stringSlice(
    "requestheader-group-headers",
    ["x-remote-group"],
    "Request headers carrying the groups. X-Remote-Group is suggested.",
  ),
  requestheaderUsernameHeaders: flag.stringSlice(
    "requestheader-username-headers",
    ["x-remote-user"],
    "Request headers carrying the username. X-Remote-User is common.",
  ),
});

export type AuthenticationOptions = OptionsOf<typeof authenticationFlags>;
