// The metrics API's request handling at scale, server-side only (no HTTP, no TLS): nodes × 30 pods ×
// 2 containers over the real TwoPointStore and a cache shaped like the reflector's. Run:
//
//   node bench/micro/metrics-api-lists.ts [--nodes 500] [--pods-per-node P] [--pods-per-app A] [--rounds R]
//                                         [--only <case name part>] [--no-label-index]
//
// The defaults are a quick run; the scale worth recording is --nodes 5000 (150,000 pods).
// For each case it reports the min, median and worst time of R rounds to produce the whole body
// (every chunk consumed) and, for streamed bodies, the longest single synchronous step (what a small
// request queued behind this one waits at most). Steps well above a batch's own work are usually
// garbage-collection pauses that land inside a step (see --trace-gc).
//
// The HPA's call: `default` holds 9 pods in 10, and the selector app=hpa-target matches 20 of them.
// With the label index the cost is one selector evaluation per distinct label map plus the matches;
// --no-label-index scans every pod of the namespace instead, for comparison. --pods-per-app sets how
// many pods share one label map (30: many maps; 1000: few).

import { MetricsApi, protobufEncoder } from "../../src/api/index.ts";
import type { ApiResponse } from "../../src/apiserver/index.ts";
import {
  LabelIndex,
  type LabelPredicate,
  type Node,
  type ObjectStore,
  type PartialObjectMetadata,
} from "../../src/kube/index.ts";
import { type NodeScrape, TwoPointStore } from "../../src/storage/index.ts";
import { note, type Row, report } from "./report.ts";

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

interface Scale {
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

const HPA_APP = "hpa-target";

/**
 * Pod `podIndex`: first the HPA target's pods, then apps of `podsPerApp` pods; 9 apps in 10 run in
 * `default` (so the HPA's namespace holds most of the cluster), the rest in namespace-<k>.
 */
function podIdentity(scale: Scale, podIndex: number): PodIdentity {
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

const T0 = 1_750_000_000_000;

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

function buildApi(scale: Scale, indexLabels: boolean): MetricsApi {
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

interface Sample {
  /** Whole body produced and turned into bytes. */
  totalMs: number;
  longestStepMs: number;
  bytes: number;
}

/**
 * The bytes the server's stream write makes of a piece: a string is flattened and UTF-8 encoded
 * there (HTTP/2's writeUtf8String), so that cost belongs to the step that produced the string.
 */
function wireBytes(piece: string | Buffer): number {
  return typeof piece === "string" ? Buffer.from(piece, "utf8").length : piece.length;
}

/**
 * Produces the whole body as the server would send it, timing each synchronous step (the handler
 * call plus writing the head, then each chunk plus its write).
 */
function consume(produce: () => ApiResponse | undefined): Sample {
  const start = performance.now();
  const res = produce();
  if (res?.status !== 200) throw new Error(`unexpected response: ${res?.status} ${String(res?.body)}`);
  let bytes = wireBytes(res.body);
  let stepEnd = performance.now();
  let longest = stepEnd - start;
  if (res.chunks) {
    for (const chunk of res.chunks) {
      bytes += wireBytes(chunk);
      const now = performance.now();
      longest = Math.max(longest, now - stepEnd);
      stepEnd = now;
    }
  }
  return { totalMs: performance.now() - start, longestStepMs: longest, bytes };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i < 0 ? Number.NaN : Number(process.argv[i + 1]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function main(): void {
  const scale: Scale = {
    nodes: flag("nodes", 500),
    podsPerNode: flag("pods-per-node", 30),
    containersPerPod: flag("containers-per-pod", 2),
    podsPerApp: flag("pods-per-app", 30),
    podsPerNamespace: 300,
    hpaReplicas: 20,
  };
  const rounds = flag("rounds", 7);
  const indexLabels = !process.argv.includes("--no-label-index");
  const built = performance.now();
  const api = buildApi(scale, indexLabels);
  const otherPod = podIdentity(scale, scale.hpaReplicas + 9 * scale.podsPerApp + 5);
  const V = "/apis/metrics.k8s.io/v1beta1";
  const JSON_ACCEPT = "application/json";
  const PROTOBUF_ACCEPT = "application/vnd.kubernetes.protobuf";
  const TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io";
  const cases: { name: string; path: string; query?: string; accept: string; repeat?: number }[] = [
    { name: "pods, all, JSON", path: `${V}/pods`, accept: JSON_ACCEPT },
    { name: "pods, all, protobuf", path: `${V}/pods`, accept: PROTOBUF_ACCEPT },
    { name: "pods, all, Table", path: `${V}/pods`, accept: TABLE_ACCEPT },
    { name: "nodes, all, JSON", path: `${V}/nodes`, accept: JSON_ACCEPT },
    { name: "nodes, all, protobuf", path: `${V}/nodes`, accept: PROTOBUF_ACCEPT },
    {
      name: "HPA: namespace + selector, JSON",
      path: `${V}/namespaces/default/pods`,
      query: `labelSelector=app%3D${HPA_APP}`,
      accept: JSON_ACCEPT,
      repeat: 200,
    },
    {
      name: "HPA: namespace + selector, protobuf",
      path: `${V}/namespaces/default/pods`,
      query: `labelSelector=app%3D${HPA_APP}`,
      accept: PROTOBUF_ACCEPT,
      repeat: 200,
    },
    {
      name: "selector, all namespaces, JSON",
      path: `${V}/pods`,
      query: `labelSelector=app%3D${HPA_APP}`,
      accept: JSON_ACCEPT,
      repeat: 200,
    },
    {
      name: "namespace + broad selector, JSON",
      path: `${V}/namespaces/default/pods`,
      query: "labelSelector=pod-template-hash%3D7d9c8b6f5",
      accept: JSON_ACCEPT,
    },
    {
      name: "get one pod, JSON",
      path: `${V}/namespaces/${otherPod.namespace}/pods/${otherPod.name}`,
      accept: JSON_ACCEPT,
      repeat: 200,
    },
    { name: "get one node, JSON", path: `${V}/nodes/node-17`, accept: JSON_ACCEPT, repeat: 200 },
  ];
  const setupMs = performance.now() - built;
  const rows: Row[] = [];
  const only = process.argv.indexOf("--only");
  const filter = only < 0 ? undefined : process.argv[only + 1];
  for (const c of cases) {
    if (filter !== undefined && !c.name.includes(filter)) continue;
    const samples: Sample[] = [];
    const n = rounds * (c.repeat ?? 1);
    for (let r = 0; r < n; r++) {
      samples.push(
        consume(() =>
          api.handle({
            method: "GET",
            path: c.path,
            query: new URLSearchParams(c.query ?? ""),
            accept: c.accept,
          }),
        ),
      );
    }
    const totals = samples.map((s) => s.totalMs).sort((a, b) => a - b);
    const steps = samples.map((s) => s.longestStepMs).sort((a, b) => a - b);
    rows.push({
      case: c.name,
      "min ms": totals[0],
      "median ms": percentile(totals, 0.5),
      "max ms": totals[totals.length - 1],
      "longest step ms, median": percentile(steps, 0.5),
      "longest step ms, max": steps[steps.length - 1],
      bytes: samples[0].bytes,
    });
  }
  // The machine is shared: min is the least disturbed run, median the typical one.
  report(
    `metrics API, ${scale.nodes} nodes × ${scale.podsPerNode} pods × ${scale.containersPerPod} containers`,
    rows,
  );
  const mem = process.memoryUsage();
  note(
    `${scale.podsPerApp} pods per app, 9 apps in 10 in default, ${scale.hpaReplicas} ${HPA_APP} pods; ` +
      `label index ${indexLabels ? "on" : "off (scan)"}; setup ${setupMs.toFixed(0)} ms; ` +
      `${rounds} rounds (small cases ×200 each); ` +
      `rss ${(mem.rss / 1048576).toFixed(0)} MiB, heap used ${(mem.heapUsed / 1048576).toFixed(0)} MiB`,
  );
}

main();
