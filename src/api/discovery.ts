// Legacy (unaggregated) discovery documents for metrics.k8s.io. They depend only on the server's
// address, so they are built once; they must be served even before any metrics exist because the
// aggregator's availability check GETs /apis/metrics.k8s.io/v1beta1.

import { goJSONString } from "./json.ts";

export const GROUP = "metrics.k8s.io";
export const VERSION = "v1beta1";
export const GROUP_VERSION = `${GROUP}/${VERSION}`;

export interface DiscoveryDocuments {
  /** GET /apis: APIGroupList. */
  readonly groupList: string;
  /** GET /apis/metrics.k8s.io: APIGroup. */
  readonly group: string;
  /** GET /apis/metrics.k8s.io/v1beta1: APIResourceList. */
  readonly resourceList: string;
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
  };
}
