// Discovery documents (legacy, and aggregated for /apis) for metrics.k8s.io. They depend only on the server's
// address, so they are built once; they must be served even before any metrics exist because the
// aggregator's availability check GETs /apis/metrics.k8s.io/v1beta1.

import type { ServedResource } from "../apiserver/index.ts";
import { goJSONString } from "../go/index.ts";

export const GROUP = "metrics.k8s.io";
export const VERSION = "v1beta1";
export const GROUP_VERSION = `${GROUP}/${VERSION}`;

/** The resources this API serves, for the generic server's request metrics. */
export const METRICS_API_RESOURCES: readonly ServedResource[] = [
  { group: GROUP, version: VERSION, resource: "nodes", namespaced: false },
  { group: GROUP, version: VERSION, resource: "pods", namespaced: true },
];

export interface DiscoveryDocuments {
  /** GET /apis: APIGroupList. */
  readonly groupList: string;
  /** GET /apis/metrics.k8s.io: APIGroup. */
  readonly group: string;
  /** GET /apis/metrics.k8s.io/v1beta1: APIResourceList. */
  readonly resourceList: string;
  /** GET /apis as an aggregated APIGroupDiscoveryList, apidiscovery.k8s.io/v2. */
  readonly aggregatedV2: string;
  /** The same in apidiscovery.k8s.io/v2beta1 (kubectl 1.27–1.29 ask for it). */
  readonly aggregatedV2beta1: string;
}

/** The Content-Type the generic server writes for an aggregated discovery reply. */
export function aggregatedDiscoveryContentType(version: "v2" | "v2beta1"): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

// Field order follows the Go structs: APIResourceDiscovery{resource, responseKind, scope,
// singularResource, verbs}; responseKind's group and version are empty because the metrics storages
// report none (as in the legacy list, whose singularName is "" for the same reason). The group's
// metadata is an ObjectMeta with only a name, so Go writes its zero creationTimestamp as null.
function aggregatedList(version: "v2" | "v2beta1"): string {
  const resource = (name: string, scope: "Cluster" | "Namespaced", kind: string) =>
    `{"resource":"${name}","responseKind":{"group":"","version":"","kind":"${kind}"},` +
    `"scope":"${scope}","singularResource":"","verbs":["get","list"]}`;
  return (
    `{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/${version}","metadata":{},"items":[` +
    `{"metadata":{"name":"${GROUP}","creationTimestamp":null},"versions":[{"version":"${VERSION}",` +
    `"resources":[${resource("nodes", "Cluster", "NodeMetrics")},${resource("pods", "Namespaced", "PodMetrics")}],` +
    `"freshness":"Current"}]}]}\n`
  );
}

/** Builds the three documents (newline-terminated like Go's json.Encoder output). */
export function discoveryDocuments(serverAddress: string): DiscoveryDocuments {
  const version = `{"groupVersion":"${GROUP_VERSION}","version":"${VERSION}"}`;
  const groupFields = `"name":"${GROUP}","versions":[${version}],"preferredVersion":${version}`;
  // Go omits the (omitempty) address list when the server knows no external address.
  const cidrs = serverAddress
    ? `,"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":${goJSONString(serverAddress)}}]`
    : "";
  const resource = (name: string, namespaced: boolean, kind: string) =>
    `{"name":"${name}","singularName":"","namespaced":${namespaced},"kind":"${kind}","verbs":["get","list"]}`;
  return {
    groupList: `{"kind":"APIGroupList","apiVersion":"v1","groups":[{${groupFields}${cidrs}}]}\n`,
    group: `{"kind":"APIGroup","apiVersion":"v1",${groupFields}}\n`,
    resourceList:
      `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"${GROUP_VERSION}","resources":[` +
      `${resource("nodes", false, "NodeMetrics")},${resource("pods", true, "PodMetrics")}]}\n`,
    aggregatedV2: aggregatedList("v2"),
    aggregatedV2beta1: aggregatedList("v2beta1"),
  };
}
