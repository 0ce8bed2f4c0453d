// Pod lists with a label selector through a store's label index (selectNamespace/selectAll) must be
// byte-for-byte what the plain scan gives, in the same order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FakeMetrics, FakeStore } from "../../test/support/fake-stores.ts";
import { responseText } from "../../test/support/response-body.ts";
import type { ApiRequest } from "../apiserver/index.ts";
import {
  LabelIndex,
  type LabelPredicate,
  type ObjectStore,
  type PartialObjectMetadata,
} from "../kube/index.ts";
import { MetricsApi } from "./handler.ts";

const NOW = Date.UTC(2025, 4, 1, 10, 0, 7, 500);
const V = "/apis/metrics.k8s.io/v1beta1";
type Labels = Readonly<Record<string, string>>;

interface ListQuery {
  path: string;
  selector: string;
  fields: string;
  accept: string;
}

/**
 * A pod cache like the reflector's: cached list arrays rebuilt after a change, and (when indexed)
 * a LabelIndex kept beside it. Counts how it is read.
 */
class PodCache implements ObjectStore<PartialObjectMetadata> {
  readonly #objects = new Map<string, PartialObjectMetadata>();
  readonly #index: LabelIndex<PartialObjectMetadata> | undefined;
  #all: PartialObjectMetadata[] | undefined;
  readonly selectNamespace?: (namespace: string, matches: LabelPredicate) => PartialObjectMetadata[];
  readonly selectAll?: (matches: LabelPredicate) => PartialObjectMetadata[];
  readonly reads = { list: 0, listNamespace: 0, select: 0 };

  constructor(indexed: boolean) {
    if (!indexed) return;
    const index = new LabelIndex<PartialObjectMetadata>();
    this.#index = index;
    this.selectNamespace = (namespace, matches) => {
      this.reads.select++;
      return index.selectNamespace(namespace, matches);
    };
    this.selectAll = (matches) => {
      this.reads.select++;
      return index.selectAll(matches);
    };
  }

  put(pod: PartialObjectMetadata): void {
    const id = `${pod.metadata.namespace}/${pod.metadata.name}`;
    this.delete(id);
    this.#objects.set(id, pod);
    this.#index?.add(pod);
    this.#all = undefined;
  }

  delete(id: string): void {
    const previous = this.#objects.get(id);
    if (previous === undefined) return;
    this.#objects.delete(id);
    this.#index?.remove(previous);
    this.#all = undefined;
  }

  list(): readonly PartialObjectMetadata[] {
    this.reads.list++;
    this.#all ??= [...this.#objects.values()];
    return this.#all;
  }

  listNamespace(namespace: string): readonly PartialObjectMetadata[] {
    this.reads.listNamespace++;
    return this.list().filter((p) => p.metadata.namespace === namespace);
  }

  get(key: string): PartialObjectMetadata | undefined {
    return this.#objects.get(key);
  }

  hasSynced(): boolean {
    return true;
  }

  get size(): number {
    return this.#objects.size;
  }
}

function api(pods: ObjectStore<PartialObjectMetadata>, metrics: FakeMetrics): MetricsApi {
  return new MetricsApi({
    nodes: new FakeStore(),
    pods,
    metrics,
    serverAddress: "127.0.0.1:4443",
    now: () => NOW,
  });
}

function request(path: string, search: string, accept = "application/json"): ApiRequest {
  return { method: "GET", path, query: new URLSearchParams(search), accept };
}

function body(a: MetricsApi, req: ApiRequest): string {
  const res = a.handle(req);
  assert.ok(res, `${req.path} handled`);
  const text = responseText(res); // once: a streamed body's chunks can be read only once
  assert.equal(res.status, 200, `${req.path}?${req.query}: ${text}`);
  return text;
}

function names(text: string): string[] {
  return JSON.parse(text).items.map(
    (i: { metadata: { namespace: string; name: string } }) => `${i.metadata.namespace}/${i.metadata.name}`,
  );
}

function point(cpu: number) {
  return {
    timestampMs: NOW - 5000,
    windowMs: 15000,
    containers: [{ name: "c", cpuNanocores: cpu, memoryBytes: 4096 }],
  };
}

/** Both caches over the same pods, and the metrics every pod (but `nometrics-*`) has. */
function pair() {
  const indexed = new PodCache(true);
  const scanned = new PodCache(false);
  const metrics = new FakeMetrics();
  const put = (namespace: string, name: string, labels: Labels | undefined) => {
    const pod = { metadata: labels === undefined ? { namespace, name } : { namespace, name, labels } };
    indexed.put(pod);
    scanned.put(pod);
    if (!name.startsWith("nometrics")) metrics.pods.set(`${namespace}/${name}`, point(name.length * 1000));
  };
  const remove = (id: string) => {
    indexed.delete(id);
    scanned.delete(id);
  };
  return { indexed, scanned, metrics, put, remove, fast: api(indexed, metrics), slow: api(scanned, metrics) };
}

describe("pod lists through the label index", () => {
  it("the HPA's call reads only the selected pods' label groups, never the namespace's list", () => {
    const { indexed, put, fast, slow } = pair();
    const target = Object.freeze({ app: "hpa-target", "pod-template-hash": "5c9d" });
    const other = Object.freeze({ app: "web", "pod-template-hash": "7d9c" });
    for (let i = 0; i < 200; i++) put("default", `web-${String(i).padStart(3, "0")}`, other);
    for (const i of [7, 3, 12, 0]) put("default", `hpa-target-${i}`, target);
    put("other", "hpa-target-x", target);
    const req = request(`${V}/namespaces/default/pods`, "labelSelector=app%3Dhpa-target");
    const text = body(fast, req);
    assert.deepEqual(names(text), [
      "default/hpa-target-0",
      "default/hpa-target-12",
      "default/hpa-target-3",
      "default/hpa-target-7",
    ]);
    assert.equal(text, body(slow, req));
    assert.deepEqual(indexed.reads, { list: 0, listNamespace: 0, select: 1 });
  });

  it("many matches are served from the sorted list, identical to the scan", () => {
    const { indexed, put, fast, slow } = pair();
    const groups = [Object.freeze({ app: "a" }), Object.freeze({ app: "b" }), undefined];
    // More than the direct-sort limit, names added out of order.
    for (let i = 0; i < 6000; i++) put(i % 2 ? "ns1" : "ns2", `p-${(i * 7919) % 6000}`, groups[i % 3]);
    for (const [path, search] of [
      [`${V}/pods`, "labelSelector=app"],
      [`${V}/namespaces/ns1/pods`, "labelSelector=app%20in%20(a,b)"],
      [`${V}/pods`, "labelSelector=!app"],
    ]) {
      const req = request(path, search);
      const fastText = body(fast, req);
      assert.equal(fastText, body(slow, req), `${path}?${search}`);
      const got = names(fastText);
      assert.ok(got.length > 1000, `${path}?${search}: ${got.length} items`);
      assert.deepEqual(
        got,
        [...got].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
      );
    }
    assert.ok(indexed.reads.select >= 3);
  });

  it("property: same bodies as the scan over random pods, label changes, deletes and selectors", () => {
    const labelKeys = ["app", "tier", "example.com/role"];
    const labelValues = ["a", "b", "c"];
    const arbLabels = fc.option(
      fc.dictionary(fc.constantFrom(...labelKeys), fc.constantFrom(...labelValues), { maxKeys: 3 }),
      { nil: undefined },
    );
    const arbOp = fc.record({
      remove: fc.boolean(),
      namespace: fc.constantFrom("ns1", "ns2", "ns3"),
      name: fc.constantFrom("p1", "p2", "p3", "p4", "nometrics-1", "nometrics-2"),
      labels: arbLabels,
      // Most pods share one frozen map per distinct labels, as the compact cache does; some carry
      // an equal map of their own (grouping by identity must not change the answer).
      shared: fc.boolean(),
    });
    const arbKey = fc.constantFrom(...labelKeys, "absent");
    const arbValue = fc.constantFrom(...labelValues);
    const arbRequirement = fc.oneof(
      fc.tuple(arbKey, arbValue).map(([k, v]) => `${k}=${v}`),
      fc.tuple(arbKey, arbValue).map(([k, v]) => `${k}!=${v}`),
      arbKey.map((k) => `!${k}`),
      arbKey,
      fc.tuple(arbKey, fc.subarray(labelValues, { minLength: 1 })).map(([k, vs]) => `${k} notin (${vs})`),
      fc.tuple(arbKey, fc.subarray(labelValues, { minLength: 1 })).map(([k, vs]) => `${k} in (${vs})`),
    );
    const arbSelector = fc.array(arbRequirement, { maxLength: 3 }).map((rs) => rs.join(","));
    const arbQuery: fc.Arbitrary<ListQuery> = fc.record({
      path: fc.constantFrom(
        `${V}/pods`,
        `${V}/namespaces/ns1/pods`,
        `${V}/namespaces/ns2/pods`,
        `${V}/namespaces/none/pods`,
      ),
      selector: arbSelector,
      fields: fc.constantFrom("", "metadata.namespace=ns2", "metadata.name!=p1", "metadata.name=p3"),
      accept: fc.constantFrom("application/json", "application/json;as=Table;v=v1;g=meta.k8s.io"),
    });
    const arbStep = fc.oneof(
      { weight: 3, arbitrary: arbOp.map((op) => ({ op })) },
      { weight: 1, arbitrary: arbQuery.map((query) => ({ query })) },
    );

    let indexedReads = 0;
    fc.assert(
      fc.property(
        fc.array(arbStep, { maxLength: 60 }),
        fc.array(arbQuery, { minLength: 1, maxLength: 5 }),
        (steps, finals) => {
          const { indexed, put, remove, fast, slow } = pair();
          const shared = new Map<string, Labels>();
          const compare = (q: ListQuery) => {
            const search = new URLSearchParams();
            search.set("labelSelector", q.selector);
            if (q.fields !== "") search.set("fieldSelector", q.fields);
            const req = request(q.path, search.toString(), q.accept);
            assert.equal(body(fast, req), body(slow, req), `${q.path}?${search}`);
          };
          for (const step of steps) {
            if ("query" in step) {
              compare(step.query);
              continue;
            }
            const { op } = step;
            if (op.remove) {
              remove(`${op.namespace}/${op.name}`);
              continue;
            }
            let labels: Labels | undefined = op.labels && Object.freeze({ ...op.labels });
            if (labels !== undefined && op.shared) {
              const signature = JSON.stringify(labels);
              labels = shared.get(signature) ?? labels;
              shared.set(signature, labels);
            }
            put(op.namespace, op.name, labels);
          }
          for (const q of finals) compare(q);
          indexedReads += indexed.reads.select;
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(indexedReads > 0, "the indexed path was exercised");
  });
});
