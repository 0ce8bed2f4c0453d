// Kubelet client flags (upstream's KubeletClientOptions), validated as upstream validates them.
import { specs as flag, goQuote } from "../../../go/index.ts";
import { ENDPOINT_MODES, type KubeletEndpointMode } from "../../../scraper/index.ts";
import { inSection, type OptionsOf } from "./group.ts";

/** Node address types in upstream's default priority. */
const DEFAULT_ADDRESS_TYPES: readonly string[] = [
  "Hostname",
  "InternalDNS",
  "InternalIP",
  "ExternalDNS",
  "ExternalIP",
];

export const kubeletClientFlags = inSection("Kubelet client", {
  deprecatedKubeletCompletelyInsecure: flag.bool(
    "deprecated-kubelet-completely-insecure",
    false,
    "DEPRECATED: talk to Kubelets over plain HTTP without any authentication or authorization. This leaves " +
      "kubelet traffic wide open and is almost never what you want; for auth errors enable webhook token auth on " +
      "the Kubelet, and for self-signed Kubelet certificates in test clusters use --kubelet-insecure-tls instead.",
  ),
  kubeletCertificateAuthority: flag.string(
    "kubelet-certificate-authority",
    "",
    "Path to the CA bundle that verifies the Kubelets' serving certificates.",
  ),
  kubeletCertificateAuthorityText: flag.string(
    "kubelet-certificate-authority-text",
    "",
    "PEM text of the CA bundle that verifies the Kubelets' serving certificates.",
  ),
  kubeletClientCertificate: flag.string(
    "kubelet-client-certificate",
    "",
    "Path to a TLS client certificate presented to Kubelets.",
  ),
  kubeletClientKey: flag.string("kubelet-client-key", "", "Path to the key of the TLS client certificate."),
  kubeletEndpoint: flag.string<KubeletEndpointMode>(
    "kubelet-endpoint",
    "auto",
    "Which Kubelet endpoint to scrape: 'resource' (/metrics/resource), 'summary' (/stats/summary, for old " +
      "Kubelets and the read-only port), or 'auto' (resource, falling back per node to summary when the " +
      "Kubelet answers 404, and retrying resource every 10 minutes).",
  ),
  kubeletInsecureTls: flag.bool(
    "kubelet-insecure-tls",
    false,
    "Skip verification of the Kubelets' serving certificates. Only for testing.",
  ),
  kubeletPort: flag.int("kubelet-port", 10250, "Port used to reach Kubelets."),
  kubeletPreferredAddressTypes: flag.stringSlice(
    "kubelet-preferred-address-types",
    DEFAULT_ADDRESS_TYPES,
    "Node address types to try, in order, when choosing the address used to reach a node's Kubelet",
  ),
  kubeletRequestTimeoutMs: flag.duration(
    "kubelet-request-timeout",
    10_000,
    "How long a single Kubelet request may take before it is abandoned. Non-zero values need a time unit " +
      "(e.g. 1s, 2m, 3h).",
  ),
  kubeletUseNodeStatusPort: flag.bool(
    "kubelet-use-node-status-port",
    false,
    "Use the Kubelet port published in the node status; wins over --kubelet-port.",
  ),
  nodeSelector: flag.string(
    "node-selector",
    "",
    "Label selector restricting the nodes that are scraped and listed; supports '=', '==' and '!=' " +
      "(e.g. -l key1=value1,key2=value2).",
    { shorthand: "l" },
  ),
});

export type KubeletClientOptions = OptionsOf<typeof kubeletClientFlags>;

/** As upstream's KubeletClientOptions.Validate, then checks of our own. */
export function validateKubeletClient(o: KubeletClientOptions): string[] {
  const errors: string[] = [];
  const caFile = o.kubeletCertificateAuthority !== "";
  const caText = o.kubeletCertificateAuthorityText !== "";
  const key = o.kubeletClientKey !== "";
  const cert = o.kubeletClientCertificate !== "";
  const insecure = o.deprecatedKubeletCompletelyInsecure;

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
  if (!ENDPOINT_MODES.includes(o.kubeletEndpoint)) {
    errors.push(
      `invalid --kubelet-endpoint ${goQuote(o.kubeletEndpoint)}: want one of ${ENDPOINT_MODES.join(", ")}`,
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
  return errors;
}
