// What a MetricsApi is built from: the caches and the store it reads, and the server's options.

import type { GroupDiscovery } from "../apiserver/index.ts";
import type { PodLookup } from "../explain/index.ts";
import type { LabelSelector, Node, ObjectStore, PartialObjectMetadata } from "../kube/index.ts";
import type { MetricsReader, ScrapeStatusReader, StoreDescriber } from "../storage/index.ts";
import type {
  NodeMetricsJSON,
  NodeMetricsListJSON,
  NodeSource,
  PodMetricsJSON,
  PodMetricsListJSON,
  PodSource,
} from "./objects.ts";
import type { ProtoItemsContext } from "./protobuf-items.ts";

/** Protobuf encoders for the four kinds (each returns the whole `k8s\0` envelope). */
export interface ProtobufEncoder {
  encodeNodeMetrics(o: NodeMetricsJSON): Uint8Array;
  encodeNodeMetricsList(o: NodeMetricsListJSON): Uint8Array;
  encodePodMetrics(o: PodMetricsJSON): Uint8Array;
  encodePodMetricsList(o: PodMetricsListJSON): Uint8Array;
  /**
   * Optional, for large lists encoded in batches (all four or none): a context per response, a batch
   * of items straight from their points as the list's `items` fields, and the bytes around all of
   * them given their total length. Head, batches and tail concatenated equal the one-shot list
   * encoding of the same objects. Without them, lists are encoded in one step.
   */
  listItemsContext?(nowMs: number, includeSwap: boolean): ProtoItemsContext;
  encodeNodeListItems?(c: ProtoItemsContext, items: readonly NodeSource[]): readonly Uint8Array[];
  encodePodListItems?(c: ProtoItemsContext, items: readonly PodSource[]): readonly Uint8Array[];
  encodeListEnvelope?(
    kind: "NodeMetricsList" | "PodMetricsList",
    itemsByteLength: number,
  ): { head: Uint8Array; tail: Uint8Array };
}

export interface MetricsApiDeps {
  nodes: ObjectStore<Node>;
  /** The Running-pod metadata cache. */
  pods: ObjectStore<PartialObjectMetadata>;
  metrics: MetricsReader;
  /** The server's --node-selector; applied to node LIST only (a GET by name ignores it, as upstream). */
  nodeSelector?: LabelSelector;
  /** host:port advertised in /apis serverAddressByClientCIDRs. */
  serverAddress: string;
  /** Unix milliseconds; defaults to Date.now. */
  now?: () => number;
  /**
   * Enables `application/vnd.kubernetes.protobuf` for NodeMetrics/PodMetrics and their lists.
   * Without it, protobuf-first clients (`application/vnd.kubernetes.protobuf, *\/*`) get JSON.
   */
  protobuf?: ProtobufEncoder;
  /**
   * --swap-usage: add `swap` to usage where the kubelet reports it (kubectl top --show-swap reads it;
   * the HPA ignores unknown keys). Off by default: upstream never serves it.
   */
  swapUsage?: boolean;
  /** Each node's latest scrape outcome: explains the 404s of nodes and pods without metrics. */
  scrapeStatus?: ScrapeStatusReader;
  /** The store's points per node and pod: explains the 404s too. */
  describer?: StoreDescriber;
  /** The other API groups this server serves, listed in `/apis` after metrics.k8s.io. */
  otherGroups?: readonly GroupDiscovery[];
  /**
   * A live GET of a pod from the API server (boundedPodLookup): its phase, node and container
   * statuses, which the metadata-only pod cache lacks. Explains pod 404s; never rejects.
   */
  lookupPod?: (namespace: string, name: string) => Promise<PodLookup>;
  /** --metric-resolution in ms, for when a second point is due (default 60s, upstream's). */
  resolutionMs?: number;
  /** When the server started, Unix ms. */
  startedAtMs?: number;
}
