// Discovery documents as k8s.io/apiserver's generic server writes them, for any group this server
// serves: the root `/apis` (APIGroupList, and the aggregated APIGroupDiscoveryList) lists every
// group; `/apis/<group>` and `/apis/<group>/<version>` describe one. Each group describes itself
// (GroupDiscovery); the documents are assembled here, newline-terminated like Go's json.Encoder.

import { goJSONString } from "../go/index.ts";

export interface DiscoveryResource {
  name: string;
  /** "" as metrics.k8s.io's storages report it; a group of our own names it. */
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: readonly string[];
  /**
   * The aggregated document's responseKind group and version: empty when the storage reports none
   * (metrics.k8s.io), else the group's own.
   */
  responseKindQualified: boolean;
}

/** One served group with its single version. */
export interface GroupDiscovery {
  group: string;
  version: string;
  resources: readonly DiscoveryResource[];
}

export interface RootDiscoveryDocuments {
  /** GET /apis: APIGroupList. */
  readonly groupList: string;
  /** GET /apis as an aggregated APIGroupDiscoveryList, apidiscovery.k8s.io/v2. */
  readonly aggregatedV2: string;
  /** The same in apidiscovery.k8s.io/v2beta1 (kubectl 1.27–1.29 ask for it). */
  readonly aggregatedV2beta1: string;
}

/** The Content-Type the generic server writes for an aggregated discovery reply. */
export function aggregatedDiscoveryContentType(version: "v2" | "v2beta1"): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

function verbsJSON(verbs: readonly string[]): string {
  return "[" + verbs.map(goJSONString).join(",") + "]";
}

function groupFields(g: GroupDiscovery): string {
  const version = `{"groupVersion":"${g.group}/${g.version}","version":"${g.version}"}`;
  return `"name":"${g.group}","versions":[${version}],"preferredVersion":${version}`;
}

// Field order follows the Go structs: APIResourceDiscovery{resource, responseKind, scope,
// singularResource, verbs}. The group's metadata is an ObjectMeta with only a name, so Go writes
// its zero creationTimestamp as null.
function aggregatedGroup(g: GroupDiscovery): string {
  const resources = g.resources.map((r) => {
    const kindGroup = r.responseKindQualified ? g.group : "";
    const kindVersion = r.responseKindQualified ? g.version : "";
    return (
      `{"resource":"${r.name}","responseKind":{"group":"${kindGroup}","version":"${kindVersion}","kind":"${r.kind}"},` +
      `"scope":"${r.namespaced ? "Namespaced" : "Cluster"}","singularResource":"${r.singularName}","verbs":${verbsJSON(r.verbs)}}`
    );
  });
  return (
    `{"metadata":{"name":"${g.group}","creationTimestamp":null},"versions":[{"version":"${g.version}",` +
    `"resources":[${resources.join(",")}],"freshness":"Current"}]}`
  );
}

function aggregatedList(groups: readonly GroupDiscovery[], version: "v2" | "v2beta1"): string {
  return (
    `{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/${version}","metadata":{},"items":[` +
    `${groups.map(aggregatedGroup).join(",")}]}\n`
  );
}

/** The root documents listing `groups` in order; serverAddress "" omits the address list (as Go's omitempty). */
export function rootDiscoveryDocuments(
  groups: readonly GroupDiscovery[],
  serverAddress: string,
): RootDiscoveryDocuments {
  const cidrs = serverAddress
    ? `,"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":${goJSONString(serverAddress)}}]`
    : "";
  const items = groups.map((g) => `{${groupFields(g)}${cidrs}}`);
  return {
    groupList: `{"kind":"APIGroupList","apiVersion":"v1","groups":[${items.join(",")}]}\n`,
    aggregatedV2: aggregatedList(groups, "v2"),
    aggregatedV2beta1: aggregatedList(groups, "v2beta1"),
  };
}

/** GET /apis/<group>: APIGroup. */
export function groupDocument(g: GroupDiscovery): string {
  return `{"kind":"APIGroup","apiVersion":"v1",${groupFields(g)}}\n`;
}

/** GET /apis/<group>/<version>: APIResourceList. */
export function resourceListDocument(g: GroupDiscovery): string {
  const resources = g.resources.map(
    (r) =>
      `{"name":"${r.name}","singularName":"${r.singularName}","namespaced":${r.namespaced},"kind":"${r.kind}","verbs":${verbsJSON(r.verbs)}}`,
  );
  return (
    `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"${g.group}/${g.version}","resources":[` +
    `${resources.join(",")}]}\n`
  );
}
