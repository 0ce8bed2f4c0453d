// Discovery documents (legacy, and aggregated for /apis) for metrics.k8s.io, assembled by the generic
// server's builders (src/apiserver/discovery.ts). They depend only on the server's address and the
// other groups it serves, so they are built once; they must be served even before any metrics
// exist because the aggregator's availability check GETs /apis/metrics.k8s.io/v1beta1.

import {
  aggregatedDiscoveryContentType,
  type GroupDiscovery,
  groupDocument,
  resourceListDocument,
  rootDiscoveryDocuments,
  type ServedResource,
} from "../apiserver/index.ts";

export { aggregatedDiscoveryContentType };

export const GROUP = "metrics.k8s.io";
export const VERSION = "v1beta1";
export const GROUP_VERSION = `${GROUP}/${VERSION}`;

// singularName and responseKind's group and version are empty because the metrics storages report
// none.
const METRICS_GROUP: GroupDiscovery = {
  group: GROUP,
  version: VERSION,
  resources: [
    {
      name: "nodes",
      singularName: "",
      namespaced: false,
      kind: "NodeMetrics",
      verbs: ["get", "list"],
      responseKindQualified: false,
    },
    {
      name: "pods",
      singularName: "",
      namespaced: true,
      kind: "PodMetrics",
      verbs: ["get", "list"],
      responseKindQualified: false,
    },
  ],
};

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

/**
 * Builds the documents; `/apis` lists metrics.k8s.io first, then `otherGroups` (the other groups
 * this server serves, which answer their own `/apis/<group>` paths).
 */
export function discoveryDocuments(
  serverAddress: string,
  otherGroups: readonly GroupDiscovery[] = [],
): DiscoveryDocuments {
  return {
    ...rootDiscoveryDocuments([METRICS_GROUP, ...otherGroups], serverAddress),
    group: groupDocument(METRICS_GROUP),
    resourceList: resourceListDocument(METRICS_GROUP),
  };
}
