// The metrics API at scale for the micro-benchmarks: nodes × pods × containers over the real
// TwoPointStore and a pod cache shaped like the reflector's (metrics-api-lists.ts, metrics-api-https.ts).

import { MetricsApi, protobufEncoder } from "../../src/api/index.ts";
import {
  LabelIndex,
  type LabelPredicate,
  type Node,
  type ObjectStore,
  type PartialObjectMetadata,
} from "../../src/kube/index.ts";
import { type NodeScrape, TwoPointStore } from "../../src/storage/index.ts";

/**
 * An ObjectStore shaped like the Reflector's cache: a namespace index and cached list arrays, and
 * (unless built without) the label index the pod reflector keeps.
 */
class IndexedStore<T extends { metadata: { name: string; namespace?: string } }> implements ObjectStore<T> {
  readonly #items = new Map<string, T>();
  readonly #byNamespace = new Map<string, T[]>();
  #all: T[] | undefined;
  readonly selectNamespace?: (namespace: string, matches: LabelPredicate) => T[];
  readonly selectAll?: (matches: LabelPredicate) => T[];
  readonly #labelIndex: LabelIndex<T> | undefined;

  constructor(indexLabels: boolean) {
    if (!indexLabels) return;
    const index = new LabelIndex<T>();
    this.#labelIndex = index;
    this.selectNamespace = (namespace, matches) => index.selectNamespace(namespace, matches);
    this.selectAll = (matches) => index.selectAll(matches);
  }

  add(o: T): void {
    this.#labelIndex?.add(o);
    const { namespace, name } = o.metadata;
    this.#items.set(namespace ? `${namespace}/${name}` : name, o);
    if (namespace !== undefined) {
      const list = this.#byNamespace.get(namespace);
      if (list) list.push(o);
      else this.#byNamespace.set(namespace, [o]);
    }
    this.#all = undefined;
  }
  list(): readonly T[] {
    this.#all ??= [...this.#items.values()];
    return this.#all;
  }
  listNamespace(namespace: string): readonly T[] {
    return this.#byNamespace.get(namespace) ?? [];
  }
  get(key: string): T | undefined {
    return this.#items.get(key);
  }
  hasSynced(): boolean {
    return true;
  }
  get size(): number {
    return this.#items.size;
  }
}

export interface Scale {
  nodes: number;
  podsPerNode: number;
  containersPerPod: number;
  /** Deployment size: pods of one app share one labels object (as the compact cache keeps them). */
  podsPerApp: number;
  /** Pods per namespace outside `default`. */
  podsPerNamespace: number;
  /** Pods of the HPA's target (`default`, app=hpa-target), besides the apps. */
  hpaReplicas: number;
}

interface PodIdentity {
  namespace: string;
  name: string;
  app: string;
}

export const HPA_APP = "hpa-target";

/**
 * Pod `podIndex`: first the HPA target's pods, then apps of `podsPerApp` pods; 9 apps in 10 run in
 * `default` (so the HPA's namespace holds most of the cluster), the rest in namespace-<k>.
 */
export function podIdentity(scale: Scale, podIndex: number): PodIdentity {
  const suffix = podIndex.toString(36).padStart(5, "0");
  if (podIndex < scale.hpaReplicas)
    return { namespace: "default", name: `${HPA_APP}-5c9d7f8b4-${suffix}`, app: HPA_APP };
  const appIndex = Math.floor((podIndex - scale.hpaReplicas) / scale.podsPerApp);
  const app = `app-${appIndex}`;
  const name = `${app}-7d9c8b6f5-${suffix}`;
  if (appIndex % 10 !== 9) return { namespace: "default", name, app };
  const others = Math.floor(appIndex / 10) * scale.podsPerApp;
  return { namespace: `namespace-${Math.floor(others / scale.podsPerNamespace)}`, name, app };
}

export const T0 = 1_750_000_000_000;

function scrapes(scale: Scale, tick: number): NodeScrape[] {
  const out: NodeScrape[] = [];
  const ts = T0 + tick * 15_000;
  const containerNames = Array.from({ length: scale.containersPerPod }, (_, c) => `container-${c}`);
  let podIndex = 0;
  for (let n = 0; n < scale.nodes; n++) {
    const count = scale.podsPerNode * scale.containersPerPod;
    const s: NodeScrape = {
      node: `node-${n}`,
      nodeTimestampMs: ts,
      nodeCpuNs: (tick + 1) * 1e12 + n,
      nodeMemoryBytes: 8e9 + n * 4096,
      nodeStartTimeMs: 0,
      containerCount: count,
      namespaces: [],
      pods: [],
      containers: [],
      startTimeMs: new Float64Array(count),
      timestampMs: new Float64Array(count).fill(ts),
      cpuNs: new Float64Array(count),
      memoryBytes: new Float64Array(count),
    };
    let i = 0;
    for (let p = 0; p < scale.podsPerNode; p++, podIndex++) {
      const { namespace: ns, name: pod } = podIdentity(scale, podIndex);
      for (let c = 0; c < scale.containersPerPod; c++, i++) {
        s.namespaces.push(ns);
        s.pods.push(pod);
        s.containers.push(containerNames[c]);
        s.cpuNs[i] = (tick + 1) * 1.5e9 * (1 + (i % 7));
        s.memoryBytes[i] = 50 * 1048576 + i * 4096;
      }
    }
    out.push(s);
  }
  return out;
}

export function buildApi(scale: Scale, indexLabels: boolean): MetricsApi {
  const nodes = new IndexedStore<Node>(false);
  for (let n = 0; n < scale.nodes; n++) {
    nodes.add({
      metadata: {
        name: `node-${n}`,
        labels: {
          "kubernetes.io/hostname": `node-${n}`,
          "kubernetes.io/os": "linux",
          "topology.kubernetes.io/zone": `zone-${n % 3}`,
        },
      },
    });
  }
  // Like the reflector's cache: names parsed from JSON (other string objects than the scraper's),
  // one frozen labels object shared by the pods of a ReplicaSet.
  const pods = new IndexedStore<PartialObjectMetadata>(indexLabels);
  const total = scale.nodes * scale.podsPerNode;
  const identities: PodIdentity[] = [];
  for (let i = 0; i < total; i++) identities.push(podIdentity(scale, i));
  const sharedLabels = new Map<string, Readonly<Record<string, string>>>();
  for (const { namespace, name, app } of JSON.parse(JSON.stringify(identities)) as PodIdentity[]) {
    const key = `${namespace}/${app}`;
    let labels = sharedLabels.get(key);
    if (labels === undefined) {
      const hash = app === HPA_APP ? "5c9d7f8b4" : "7d9c8b6f5";
      labels = Object.freeze({ app, "pod-template-hash": hash });
      sharedLabels.set(key, labels);
    }
    pods.add({ metadata: { name, namespace, labels } });
  }
  const store = new TwoPointStore({ resolutionMs: 15_000 });
  store.store(scrapes(scale, 0));
  store.store(scrapes(scale, 1));
  return new MetricsApi({
    nodes,
    pods,
    metrics: store,
    serverAddress: "127.0.0.1:4443",
    now: () => T0 + 20_000,
    protobuf: protobufEncoder,
  });
}

/** The usual scale flags (--nodes, --pods-per-node, --containers-per-pod, --pods-per-app). */
export function scaleFromFlags(defaultNodes: number): Scale {
  return {
    nodes: flag("nodes", defaultNodes),
    podsPerNode: flag("pods-per-node", 30),
    containersPerPod: flag("containers-per-pod", 2),
    podsPerApp: flag("pods-per-app", 30),
    podsPerNamespace: 300,
    hpaReplicas: 20,
  };
}

/** A positive numeric flag `--name N`, or `fallback`. */
export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i < 0 ? Number.NaN : Number(process.argv[i + 1]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
