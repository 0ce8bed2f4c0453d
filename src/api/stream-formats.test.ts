// Large protobuf and Table lists produced in batches (docs/metrics-api.md#large-lists): the same bytes as the one-shot
// encodings, with the event loop free between batches.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import protobuf from "protobufjs";
import { FakeMetrics, FakeStore, node, pod } from "../../test/support/fake-stores.ts";
import { METRICS_PROTO_SCHEMA } from "../../test/support/metrics-proto.ts";
import { responseBytes, responseText } from "../../test/support/response-body.ts";
import type { ApiResponse } from "../apiserver/index.ts";
import type { ProtobufEncoder } from "./deps.ts";
import { MetricsApi } from "./handler.ts";
import { encodePodMetricsListItems } from "./list-items-testing.ts";
import type { NodeMetricsListJSON, PodMetricsJSON, PodMetricsListJSON } from "./objects.ts";
import {
  encodeListEnvelope,
  encodeNodeMetricsList,
  encodePodMetricsList,
  protobufEncoder,
} from "./protobuf.ts";
import { bufferedListChunks, ITEMS_PER_CHUNK, STREAM_MIN_ITEMS } from "./stream.ts";
import { type TableItem, TableWriter, tableJSON } from "./table.ts";

const V = "/apis/metrics.k8s.io/v1beta1";
const NOW = Date.UTC(2025, 4, 1, 10, 0, 5);
const PROTOBUF = "application/vnd.kubernetes.protobuf";
const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io";
const root = protobuf.parse(METRICS_PROTO_SCHEMA).root;

/**
 * `count` nodes and pods, inserted out of order, some without metrics (gaps across batch
 * boundaries); the first pods in list order have no containers, so a Table's columns are only known
 * after them.
 */
function fixture(count: number, opts: { swapUsage?: boolean; protobuf?: ProtobufEncoder } = {}) {
  const nodes = new FakeStore<ReturnType<typeof node>>();
  const pods = new FakeStore<ReturnType<typeof pod>>();
  const metrics = new FakeMetrics();
  for (let i = 0; i < count; i++) {
    const k = (i * 7919) % count;
    const id = String(k).padStart(6, "0");
    const labels = k % 3 === 0 ? undefined : { app: `a${k % 5}`, "x/y": "<é\u2028&>" };
    nodes.add(node(`node-${id}`, labels));
    pods.add(pod(`ns-${k % 4}`, `pod-${id}`, labels));
    if (!(k % 600 < 300 || k % 11 === 0)) continue;
    const ts = Date.UTC(2025, 4, 1, 10, 0, k % 3) + k;
    metrics.nodes.set(`node-${id}`, {
      timestampMs: ts,
      windowMs: 15000 + (k % 9) / 3,
      cpuNanocores: k * 1_000_003,
      memoryBytes: k * 1024,
      swapBytes: k % 2 ? k : undefined,
    });
    metrics.pods.set(`ns-${k % 4}/pod-${id}`, {
      timestampMs: k < 40 ? 0 : ts,
      windowMs: 14999 + (k % 5),
      containers:
        k < 40
          ? []
          : [
              { name: "app", cpuNanocores: k, memoryBytes: k * 1000, swapBytes: k % 2 ? 0 : undefined },
              { name: 'side"car', cpuNanocores: 5e6, memoryBytes: 1048576 },
            ],
    });
  }
  const api = new MetricsApi({
    nodes,
    pods,
    metrics,
    serverAddress: "x:1",
    now: () => NOW,
    swapUsage: opts.swapUsage,
    protobuf: opts.protobuf ?? protobufEncoder,
  });
  return { api, metrics };
}

function get(api: MetricsApi, path: string, accept: string, search = ""): ApiResponse {
  const res = api.handle({ method: "GET", path, query: new URLSearchParams(search), accept });
  assert.ok(res);
  return res;
}

function decodeList(body: Buffer, kind: string) {
  assert.deepEqual([...body.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
  const Unknown = root.lookupType("k8s.Unknown");
  const unknown = Unknown.toObject(Unknown.decode(body.subarray(4)));
  assert.equal(unknown.typeMeta.kind, kind);
  const List = root.lookupType(`k8s.${kind}`);
  return List.toObject(List.decode(unknown.raw), { longs: Number }) as {
    items?: { metadata: { name: string; namespace: string } }[];
  };
}

const COUNT = STREAM_MIN_ITEMS + 3 * ITEMS_PER_CHUNK + 17;

describe("protobuf lists in batches", () => {
  for (const swapUsage of [false, true]) {
    it(`are byte-identical to the one-shot encoding and decode${swapUsage ? " (--swap-usage)" : ""}`, () => {
      const { api } = fixture(COUNT, { swapUsage });
      for (const [path, kind] of [
        [`${V}/pods`, "PodMetricsList"],
        [`${V}/nodes`, "NodeMetricsList"],
      ] as const) {
        const res = get(api, path, PROTOBUF);
        assert.equal(res.contentType, PROTOBUF);
        assert.ok(res.chunks, `${path} is produced in batches`);
        const streamed = responseBytes(res);
        // The one-shot encoder over the very objects the JSON list carries.
        const list = JSON.parse(responseText(get(api, path, "application/json")));
        assert.ok(list.items.length > ITEMS_PER_CHUNK && list.items.length < COUNT, "gaps in the list");
        const oneShot =
          kind === "PodMetricsList"
            ? encodePodMetricsList(list as PodMetricsListJSON)
            : encodeNodeMetricsList(list as NodeMetricsListJSON);
        assert.ok(streamed.equals(oneShot), `${path}: ${streamed.length} vs ${oneShot.length} bytes`);
        const decoded = decodeList(streamed, kind);
        assert.deepEqual(
          decoded.items?.map((i) => `${i.metadata.namespace}/${i.metadata.name}`),
          list.items.map(
            (i: { metadata: { name: string; namespace?: string } }) =>
              `${i.metadata.namespace ?? ""}/${i.metadata.name}`,
          ),
        );
      }
    });
  }

  it("send nothing until every item is encoded, with a step for each batch", () => {
    const { api, metrics } = fixture(COUNT);
    const res = get(api, `${V}/pods`, PROTOBUF);
    assert.ok(res.chunks);
    assert.equal(res.body.length, 0);
    const batches = Math.ceil(COUNT / ITEMS_PER_CHUNK);
    const iterator = res.chunks[Symbol.iterator]();
    for (let i = 0; i < batches; i++) {
      const next = iterator.next();
      assert.equal(next.done, false);
      assert.equal(next.value?.length, 0, `step ${i} yields while encoding`);
      assert.equal(metrics.podRequests.length, i + 1, "storage is read one batch per step");
    }
    const head = iterator.next();
    assert.ok(head.value && head.value.length > 0, "then the envelope head");
    iterator.return?.(undefined);
  });

  it("a list with no served items in a large selection is an empty list", () => {
    const { api, metrics } = fixture(COUNT);
    metrics.pods.clear();
    const res = get(api, `${V}/pods`, PROTOBUF);
    assert.ok(res.chunks);
    const bytes = responseBytes(res);
    const empty = encodePodMetricsList({
      kind: "PodMetricsList",
      apiVersion: "metrics.k8s.io/v1beta1",
      metadata: {},
      items: [],
    });
    assert.ok(bytes.equals(empty));
    assert.equal(decodeList(bytes, "PodMetricsList").items, undefined);
  });

  it("small lists, and encoders without batch support, stay one piece", () => {
    assert.equal(get(fixture(50).api, `${V}/pods`, PROTOBUF).chunks, undefined);
    const oneShotOnly: ProtobufEncoder = {
      encodeNodeMetrics: protobufEncoder.encodeNodeMetrics,
      encodeNodeMetricsList: protobufEncoder.encodeNodeMetricsList,
      encodePodMetrics: protobufEncoder.encodePodMetrics,
      encodePodMetricsList: protobufEncoder.encodePodMetricsList,
    };
    const res = get(fixture(COUNT, { protobuf: oneShotOnly }).api, `${V}/pods`, PROTOBUF);
    assert.equal(res.chunks, undefined);
    assert.ok(responseBytes(res).equals(responseBytes(get(fixture(COUNT).api, `${V}/pods`, PROTOBUF))));
  });

  it("any batching of any list gives the one-shot bytes (property)", () => {
    const items = fc.array(
      fc.record({
        name: fc.string({ maxLength: 12 }),
        cpu: fc.integer({ min: 0, max: 10_000 }),
        // Long label values push items past 127 bytes, so length prefixes take two bytes.
        label: fc.string({ maxLength: 200 }),
      }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(items, fc.integer({ min: 1, max: 17 }), (rows, per) => {
        const objects = rows.map(
          (r): PodMetricsJSON => ({
            kind: "PodMetrics",
            apiVersion: "metrics.k8s.io/v1beta1",
            metadata: {
              name: r.name,
              namespace: "ns",
              creationTimestamp: "2025-05-01T10:00:00Z",
              labels: { l: r.label },
            },
            timestamp: "2025-05-01T10:00:00Z",
            window: "15s",
            containers: [{ name: "c", usage: { cpu: `${r.cpu}n`, memory: "1Ki" } }],
          }),
        );
        const chunks = bufferedListChunks(
          objects.length,
          (from, to) => encodePodMetricsListItems(objects.slice(from, to)),
          (length) => encodeListEnvelope("PodMetricsList", length),
          per,
        );
        const streamed = Buffer.concat([...chunks]);
        const oneShot = encodePodMetricsList({
          kind: "PodMetricsList",
          apiVersion: "metrics.k8s.io/v1beta1",
          metadata: {},
          items: objects,
        });
        assert.ok(streamed.equals(oneShot));
      }),
    );
  });

  it("refuses a length the envelope cannot carry", () => {
    assert.throws(() => encodeListEnvelope("PodMetricsList", -1), RangeError);
    assert.throws(() => encodeListEnvelope("PodMetricsList", 2 ** 32), RangeError);
  });
});

describe("Table lists in batches", () => {
  for (const [path, what] of [
    [`${V}/pods`, "pods (first rows without containers)"],
    [`${V}/nodes`, "nodes"],
  ] as const) {
    it(`${what}: every row as the one-shot Table of that object, under the same columns`, () => {
      const { api } = fixture(COUNT, { swapUsage: true });
      for (const include of ["", "None", "Object"]) {
        const search = include === "" ? "" : `includeObject=${include}`;
        const res = get(api, path, TABLE, search);
        assert.ok(res.chunks, `${path} is streamed`);
        const text = responseText(res);
        assert.ok(text.endsWith("]}\n"));
        const table = JSON.parse(text);
        const list = JSON.parse(responseText(get(api, path, "application/json")));
        assert.equal(table.rows.length, list.items.length);
        // The first item with usage fixes the columns (its own have no swap).
        assert.deepEqual(
          table.columnDefinitions.map((c: { name: string }) => c.name),
          ["Name", "cpu", "memory", "Window"],
        );
        // A row must equal the row a one-shot Table of the same object carries whenever that Table
        // has the same columns (same bytes); others (pods without containers, nodes with swap)
        // are laid out under the list's columns.
        let sameColumns = 0;
        list.items.forEach((item: { metadata: { name: string; namespace?: string } }, i: number) => {
          const one = get(
            api,
            item.metadata.namespace
              ? `${V}/namespaces/${item.metadata.namespace}/pods/${item.metadata.name}`
              : `${V}/nodes/${item.metadata.name}`,
            TABLE,
            search,
          );
          assert.equal(one.chunks, undefined);
          const single = JSON.parse(String(one.body));
          if (JSON.stringify(single.columnDefinitions) !== JSON.stringify(table.columnDefinitions)) {
            assert.equal(table.rows[i].cells[0], single.rows[0].cells[0]);
            return;
          }
          sameColumns++;
          assert.equal(JSON.stringify(table.rows[i]), JSON.stringify(single.rows[0]), item.metadata.name);
        });
        assert.ok(sameColumns > list.items.length / 2);
      }
    });
  }

  it("an invalid includeObject is still a 400", () => {
    const res = get(fixture(COUNT).api, `${V}/pods`, TABLE, "includeObject=All");
    assert.equal(res.status, 400);
    assert.equal(res.chunks, undefined);
  });

  it("small lists stay one piece", () => {
    assert.equal(get(fixture(50).api, `${V}/pods`, TABLE).chunks, undefined);
  });

  it("TableWriter gives tableJSON's bytes for any rows and any batching (property)", () => {
    const usage = fc.oneof(
      fc.constant({}),
      fc.record({ cpu: fc.constantFrom("1m", "250n"), memory: fc.constantFrom("1Ki", "0") }),
      fc.record({ memory: fc.constant("5Mi"), swap: fc.constant("0") }),
    );
    const row = fc.record({
      name: fc.string({ maxLength: 8 }),
      usage,
      window: fc.constantFrom("15s", "1m0s"),
    });
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 6 }),
        fc.constantFrom("None", "Metadata", "Object"),
        fc.constantFrom("v1", "v1beta1"),
        (rows, cuts, include, version) => {
          const items: TableItem[] = rows.map((r) => ({
            ...r,
            metadataJSON: `{"name":${JSON.stringify(r.name)}}`,
            objectJSON: () => `{"o":${JSON.stringify(r.name)}}`,
          }));
          const writer = new TableWriter(version, include);
          const bounds = [...new Set([0, ...cuts.map((c) => Math.min(c, items.length)), items.length])].sort(
            (a, b) => a - b,
          );
          let text = "";
          for (let b = 0; b + 1 < bounds.length; b++)
            text += writer.add(items.slice(bounds[b], bounds[b + 1]));
          text += writer.end();
          assert.equal(text, tableJSON(version, items, include));
        },
      ),
    );
  });
});
