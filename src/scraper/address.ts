// Where to reach a node's kubelet: its first address of the preferred types, and the port it reports
// or the configured one (as kubernetes-sigs/metrics-server pkg/utils/address_resolver.go resolves it).
import type { Node } from "../kube/index.ts";

export const RESOURCE_METRICS_PATH = "/metrics/resource";
export const RESOURCE_METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path";
/** The Summary API fallback (metrics-server <= v0.5 requested the same). */
export const SUMMARY_PATH = "/stats/summary?only_cpu_and_memory=true";

export interface KubeletEndpointOptions {
  /** Address types in priority order, e.g. ["InternalIP", "ExternalIP", "Hostname"]. */
  preferredAddressTypes: readonly string[];
  /** --kubelet-port. */
  port: number;
  /** --kubelet-use-node-status-port: prefer status.daemonEndpoints.kubeletEndpoint.Port when set. */
  useNodeStatusPort: boolean;
  scheme: "https" | "http";
}

export interface KubeletEndpoint {
  /** The address as listed on the node (IPv6 without brackets): what TLS verifies against. */
  host: string;
  port: number;
  path: string;
  /** The resource metrics URL (scheme, host, port and path). */
  url: string;
  /** The Summary API fallback on the same scheme, host and port (the path annotation does not apply). */
  summaryUrl: string;
}

/**
 * The kubelet URL for a node: the first address of the first matching preferred type.
 * @throws Error("no address matched types [A B C]") when the node lists none of the types.
 */
export function resolveKubeletEndpoint(node: Node, opts: KubeletEndpointOptions): KubeletEndpoint {
  const host = preferredAddress(node, opts.preferredAddressTypes);
  let port = opts.port;
  const statusPort = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (opts.useNodeStatusPort && typeof statusPort === "number" && statusPort !== 0) port = statusPort;

  let path = RESOURCE_METRICS_PATH;
  const override = node.metadata.annotations?.[RESOURCE_METRICS_PATH_ANNOTATION];
  if (typeof override === "string" && override !== "") {
    // Go's url.URL.String() inserts the slash between host and a relative path.
    path = override.startsWith("/") ? override : "/" + override;
  }
  // Like Go's net.JoinHostPort: any colon means an IPv6 literal that needs brackets.
  const hostPort = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const origin = `${opts.scheme}://${hostPort}`;
  return { host, port, path, url: origin + path, summaryUrl: origin + SUMMARY_PATH };
}

function preferredAddress(node: Node, types: readonly string[]): string {
  const addresses = node.status?.addresses ?? [];
  for (const type of types) {
    for (const a of addresses) {
      if (a.type === type) return a.address;
    }
  }
  throw new Error(`no address matched types [${types.join(" ")}]`);
}

/** True when the NodeReady condition has status "True" (a missing condition counts as not ready). */
export function isNodeReady(node: Node): boolean {
  for (const c of node.status?.conditions ?? []) {
    if (c.type === "Ready") return c.status === "True";
  }
  return false;
}
