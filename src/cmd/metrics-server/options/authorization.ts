// Apiserver authorization flags (the generic apiserver's DelegatingAuthorizationOptions). They reach
// src/apiserver/auth under the same names (its AuthOptions).
import { specs as flag } from "../../../go/index.ts";
import { inSection, type OptionsOf } from "./group.ts";

export const authorizationFlags = inSection("Apiserver authorization", {
  authorizationAlwaysAllowPaths: flag.stringSlice(
    "authorization-always-allow-paths",
    ["/healthz", "/readyz", "/livez"],
    "HTTP paths authorized without asking the core Kubernetes API server.",
  ),
  authorizationKubeconfig: flag.string(
    "authorization-kubeconfig",
    "",
    "kubeconfig for the core Kubernetes API server, allowed to create " +
      "subjectaccessreviews.authorization.k8s.io.",
  ),
  authorizationWebhookCacheAuthorizedTtlMs: flag.duration(
    "authorization-webhook-cache-authorized-ttl",
    10_000,
    "How long 'authorized' answers of the webhook authorizer are cached.",
  ),
  authorizationWebhookCacheUnauthorizedTtlMs: flag.duration(
    "authorization-webhook-cache-unauthorized-ttl",
    10_000,
    "How long 'unauthorized' answers of the webhook authorizer are cached.",
  ),
});

export type AuthorizationOptions = OptionsOf<typeof authorizationFlags>;
