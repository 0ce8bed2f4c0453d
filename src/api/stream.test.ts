import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FakeMetrics, FakeStore, node, pod } from "../../test/support/fake-stores.ts";
import { responseText } from "../../test/support/response-body.ts";
import { MetricsApi } from "./handler.ts";
import { type JsonWriter, jsonListChunks, writeItemSeparator } from "./json-writer.ts";
import { listJSON } from "./objects.ts";
import { ITEMS_PER_CHUNK, STREAM_MIN_ITEMS } from "./stream.ts";

const V = "/apis/metrics.k8s.io/v1beta1";
const NOW = Date.UTC(2025, 4, 1, 10, 0, 5);

function fixture(count: number, swapUsage: boolean) {
  const nodes = new FakeStore<ReturnType<typeof node>>();
  const pods = new FakeStore<ReturnType<typeof pod>>();
  const metrics = new FakeMetrics();
  for (let i = 0; i < count; i++) {
    // Unsorted insertion, labels needing escapes, and gaps (no metrics) across chunk boundaries.
    const k = (i * 7919) % count;
    const labels = k % 3 === 0 ? undefined : { app: `a${k % 5}`, "x/y": "<é\u2028&>" };
    nodes.add(node(`node-${k}`, labels));
    pods.add(pod(`ns-${k % 4}`, `pod-${k}`, labels));
    const served = k % 600 < 300 || k % 11 === 0;
    if (!served) continue;
    const ts = Date.UTC(2025, 4, 1, 10, 0, k % 3) + k;
    metrics.nodes.set(`node-${k}`, {
      timestampMs: ts,
      windowMs: 15000 + (k % 9) / 3,
      cpuNanocores: k * 1_000_003,
      memoryBytes: k * 1024,
      swapBytes: k % 2 ? k : undefined,
    });
    metrics.pods.set(`ns-${k % 4}/pod-${k}`, {
      timestampMs: ts,
      windowMs: 14999 + (k % 5),
      containers: [
        { name: "app", cpuNanocores: k, memoryBytes: k * 1000, swapBytes: k % 2 ? 0 : undefined },
        { name: 'side"car', cpuNanocores: 5e6, memoryBytes: 1048576 },
      ],
    });
  }
  return new MetricsApi({ nodes, pods, metrics, serverAddress: "x:1", now: () => NOW, swapUsage });
}

function get(api: MetricsApi, path: string, search = "") {
  const res = api.handle({
    method: "GET",
    path,
    query: new URLSearchParams(search),
    accept: "application/json",
  });
  assert.ok(res);
  return res;
}

describe("streamed lists", () => {
  for (const swap of [false, true]) {
    it(`are byte-identical to the items served one by one${swap ? " (--swap-usage)" : ""}`, () => {
      const count = STREAM_MIN_ITEMS + 3 * ITEMS_PER_CHUNK + 17;
      const api = fixture(count, swap);
      for (const [listPath, kind, itemPath] of [
        [
          `${V}/pods`,
          "PodMetricsList",
          (name: string) => `${V}/namespaces/${name.split("/")[0]}/pods/${name.split("/")[1]}`,
        ],
        [`${V}/nodes`, "NodeMetricsList", (name: string) => `${V}/nodes/${name}`],
      ] as const) {
        const res = get(api, listPath);
        assert.ok(res.chunks, `${listPath} is streamed`);
        const text = responseText(res);
        const list = JSON.parse(text) as { items: { metadata: { name: string; namespace?: string } }[] };
        assert.ok(
          list.items.length > ITEMS_PER_CHUNK && list.items.length < count,
          "some items lack metrics",
        );
        const expected = list.items.map((item) => {
          const name = item.metadata.namespace
            ? `${item.metadata.namespace}/${item.metadata.name}`
            : item.metadata.name;
          const one = get(api, itemPath(name));
          assert.equal(one.chunks, undefined);
          return String(one.body).slice(0, -1); // without the newline
        });
        assert.ok(text === `${listJSON(kind, expected)}\n`, `${listPath} bytes`);
      }
    });
  }

  it("small lists stay one piece", () => {
    const res = get(fixture(50, false), `${V}/pods`);
    assert.equal(res.chunks, undefined);
    assert.ok(String(res.body).endsWith("]}\n"));
  });

  it("the namespace + selector list (the HPA's) reads only its own pods", () => {
    const res = get(
      fixture(STREAM_MIN_ITEMS * 4, false),
      `${V}/namespaces/ns-1/pods`,
      "labelSelector=app%3Da2",
    );
    const items = JSON.parse(responseText(res)).items as {
      metadata: { namespace: string; labels: { app: string } };
    }[];
    assert.ok(items.length > 0);
    for (const i of items) assert.deepEqual([i.metadata.namespace, i.metadata.labels.app], ["ns-1", "a2"]);
  });
});

/** Writes served items as their index, as a list's writeBatch writes items. */
function writeIndexes(served: readonly boolean[], onBatch = () => {}) {
  return (w: JsonWriter, from: number, to: number, wroteItem: boolean): boolean => {
    onBatch();
    let wrote = wroteItem;
    for (let i = from; i < to; i++) {
      if (!served[i]) continue;
      if (wrote) writeItemSeparator(w);
      const text = Buffer.from(String(i));
      w.bytes(text);
      wrote = true;
    }
    return wrote;
  };
}

describe("jsonListChunks", () => {
  it("joins served items with commas across any chunking, ending with the tail", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        (served, per) => {
          const chunks = [...jsonListChunks(served.length, writeIndexes(served), per)];
          assert.equal(chunks.length, Math.max(1, Math.ceil(served.length / per)));
          const expected = served.flatMap((s, i) => (s ? [String(i)] : [])).join(",");
          assert.equal(Buffer.concat(chunks).toString(), `${expected}]}\n`);
        },
      ),
    );
  });

  it("renders nothing until iterated", () => {
    let calls = 0;
    const chunks = jsonListChunks(
      10,
      writeIndexes(new Array(10).fill(true), () => calls++),
      5,
    );
    assert.equal(calls, 0);
    const it = chunks[Symbol.iterator]();
    it.next();
    assert.equal(calls, 1);
  });
});
