import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type Decoded,
  entries,
  nodeJSON,
  podJSON,
  timeText,
  unwrap,
  usageEntries,
} from "../../test/support/metrics-proto.ts";
import { formatGoDurationNs } from "../go/index.ts";
import { PROTOBUF_MEDIA_TYPE } from "./negotiation.ts";
import type {
  ListMetaJSON,
  NodeMetricsJSON,
  NodeMetricsListJSON,
  PodMetricsJSON,
  PodMetricsListJSON,
} from "./objects.ts";
import {
  encodeNodeMetrics,
  encodeNodeMetricsList,
  encodePodMetrics,
  encodePodMetricsList,
} from "./protobuf.ts";

type StringMap = Record<string, string>;

/** Go's sort.Strings order, computed independently of the encoder: compare UTF-8 bytes. */
function goSorted(map: StringMap): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function meta(name: string, extra: Partial<{ namespace: string; labels: StringMap }> = {}) {
  return { name, creationTimestamp: "2025-05-01T10:00:07Z", ...extra };
}

const API_VERSION = "metrics.k8s.io/v1beta1";

function nodeList(items: NodeMetricsJSON[], metadata: ListMetaJSON = {}): NodeMetricsListJSON {
  return { kind: "NodeMetricsList", apiVersion: API_VERSION, metadata, items };
}

function podList(items: PodMetricsJSON[], metadata: ListMetaJSON = {}): PodMetricsListJSON {
  return { kind: "PodMetricsList", apiVersion: API_VERSION, metadata, items };
}

const node: NodeMetricsJSON = {
  kind: "NodeMetrics",
  apiVersion: "metrics.k8s.io/v1beta1",
  metadata: meta("kind-worker", { labels: { "kubernetes.io/hostname": "kind-worker", arch: "amd64" } }),
  timestamp: "2025-05-01T10:00:01Z",
  window: "15.006s",
  usage: { memory: "1578392Ki", cpu: "123456789n" },
};

const pod: PodMetricsJSON = {
  kind: "PodMetrics",
  apiVersion: "metrics.k8s.io/v1beta1",
  metadata: meta("cpu-consumer", { namespace: "default", labels: { app: "x" } }),
  timestamp: "2025-05-01T10:00:01Z",
  window: "14.987s",
  containers: [
    { name: "sidecar", usage: { cpu: "50m", memory: "1236Ki" } },
    { name: "app", usage: { cpu: "1", memory: "12Mi" } },
  ],
};

describe("protobuf encoding of metrics.k8s.io/v1beta1", () => {
  it("names the Kubernetes protobuf media type", () => {
    assert.equal(PROTOBUF_MEDIA_TYPE, "application/vnd.kubernetes.protobuf");
  });

  it("writes the exact bytes a Go apiserver writes for a small NodeMetrics", () => {
    const body = encodeNodeMetrics({
      kind: "NodeMetrics",
      apiVersion: API_VERSION,
      metadata: { name: "n1", creationTimestamp: "1970-01-01T00:00:10Z" },
      timestamp: "1970-01-01T00:00:05Z",
      window: "15s",
      usage: { memory: "2Ki", cpu: "1" },
    });
    // Assembled by hand from the upstream layout (see the header comment of protobuf.ts).
    const expected =
      "6b387300" + // k8s\0
      "0a25" + // typeMeta
      "0a166d6574726963732e6b38732e696f2f76316265746131" + // apiVersion
      "120b4e6f64654d657472696373" + // kind
      "1245" + // raw
      "0a18" + // metadata
      "0a026e31" + // name
      "1200" + // generateName
      "1a00" + // namespace
      "2200" + // selfLink
      "2a00" + // uid
      "3200" + // resourceVersion
      "3800" + // generation
      "4204080a1000" + // creationTimestamp {seconds 10, nanos 0}
      "7a00" + // clusterName (15)
      "120408051000" + // timestamp {5, 0}
      "1a060880acc7f037" + // window 15e9 ns
      "220a0a0363707512030a0131" + // usage cpu: 1
      "220f0a066d656d6f727912050a03324b69" + // usage memory: 2Ki
      "1a00" + // contentEncoding
      "2200"; // contentType
    assert.equal(Buffer.from(body).toString("hex"), expected);
  });

  it("wraps every kind in the envelope with its kind and empty content fields", () => {
    const cases: [Uint8Array, string][] = [
      [encodeNodeMetrics(node), "NodeMetrics"],
      [encodePodMetrics(pod), "PodMetrics"],
      [encodeNodeMetricsList(nodeList([node])), "NodeMetricsList"],
      [encodePodMetricsList(podList([pod])), "PodMetricsList"],
    ];
    for (const [body, kind] of cases) {
      const { unknown } = unwrap(body, kind);
      // Go always writes the two content strings, empty.
      assert.equal(Object.hasOwn(unknown, "contentEncoding"), true);
      assert.equal(Object.hasOwn(unknown, "contentType"), true);
      assert.equal(unknown.contentEncoding, "");
      assert.equal(unknown.contentType, "");
    }
  });

  it("round-trips a NodeMetrics: names, labels, times, window and every quantity", () => {
    const { object } = unwrap(encodeNodeMetrics(node), "NodeMetrics");
    assert.deepEqual(nodeJSON(object), {
      metadata: {
        name: "kind-worker",
        creationTimestamp: "2025-05-01T10:00:07Z",
        labels: { arch: "amd64", "kubernetes.io/hostname": "kind-worker" },
      },
      timestamp: "2025-05-01T10:00:01Z",
      windowNs: 15_006_000_000,
      usage: [
        ["cpu", "123456789n"],
        ["memory", "1578392Ki"],
      ],
    });
    // Map entries are written sorted by key, whatever the input's key order.
    assert.deepEqual(
      object.metadata.labels.map((e: Decoded) => e.key),
      ["arch", "kubernetes.io/hostname"],
    );
  });

  it("round-trips a PodMetrics, keeping container order", () => {
    const { object } = unwrap(encodePodMetrics(pod), "PodMetrics");
    assert.deepEqual(podJSON(object), {
      metadata: {
        name: "cpu-consumer",
        namespace: "default",
        creationTimestamp: "2025-05-01T10:00:07Z",
        labels: { app: "x" },
      },
      timestamp: "2025-05-01T10:00:01Z",
      windowNs: 14_987_000_000,
      containers: [
        {
          name: "sidecar",
          usage: [
            ["cpu", "50m"],
            ["memory", "1236Ki"],
          ],
        },
        {
          name: "app",
          usage: [
            ["cpu", "1"],
            ["memory", "12Mi"],
          ],
        },
      ],
    });
  });

  it("encodes lists with their ListMeta and items in order", () => {
    const second = { ...node, metadata: meta("z-node") };
    const { object } = unwrap(encodeNodeMetricsList(nodeList([node, second])), "NodeMetricsList");
    assert.deepEqual(object.metadata, { selfLink: "", resourceVersion: "", continue: "" });
    assert.deepEqual(
      object.items.map((i: Decoded) => i.metadata.name),
      ["kind-worker", "z-node"],
    );
    const pods = unwrap(
      // Our lists never set ListMeta fields (ListMetaJSON is {}), but set ones must not be dropped.
      encodePodMetricsList(
        podList([pod, pod], { resourceVersion: "7", remainingItemCount: 3 } as unknown as ListMetaJSON),
      ),
      "PodMetricsList",
    ).object;
    assert.deepEqual(pods.metadata, {
      selfLink: "",
      resourceVersion: "7",
      continue: "",
      remainingItemCount: 3,
    });
    assert.equal(pods.items.length, 2);
    assert.deepEqual(podJSON(pods.items[1]), podJSON(unwrap(encodePodMetrics(pod), "PodMetrics").object));
  });

  it("encodes empty lists as ListMeta alone", () => {
    for (const [body, kind] of [
      [encodeNodeMetricsList(nodeList([])), "NodeMetricsList"],
      [encodePodMetricsList(podList([])), "PodMetricsList"],
    ] as const) {
      const { object, unknown } = unwrap(body, kind);
      assert.equal(object.items, undefined);
      assert.equal(Buffer.from(unknown.raw).toString("hex"), "0a06" + "0a00" + "1200" + "1a00");
    }
  });

  it("sorts map keys in Go's byte order, not UTF-16 order", () => {
    // In UTF-16 code units U+1F600 (0xD83D 0xDE00) sorts before U+FF5E; in UTF-8 bytes
    // (F0 9F 98 80 vs EF BD 9E), as Go compares, it sorts after.
    const labels = { "\u{1F600}": "emoji", "\uFF5E": "tilde", b: "2", a: "1", "": "empty" };
    const body = encodeNodeMetrics({ ...node, metadata: meta("n", { labels }), usage: { z: "1", a: "2" } });
    const { object } = unwrap(body, "NodeMetrics");
    assert.deepEqual(
      entries(object.metadata.labels, (v) => v),
      goSorted(labels),
    );
    assert.deepEqual(usageEntries(object.usage), [
      ["a", "2"],
      ["z", "1"],
    ]);
  });

  it("writes the zero time (JSON null) as an empty Time message", () => {
    const body = encodeNodeMetrics({
      ...node,
      timestamp: null,
      metadata: { name: "n", creationTimestamp: null },
    });
    const { object } = unwrap(body, "NodeMetrics");
    assert.deepEqual(object.timestamp, {});
    assert.deepEqual(object.metadata.creationTimestamp, {});
  });

  it("encodes times before 1970 and negative windows as ten-byte two's complement varints", () => {
    const body = encodePodMetrics({ ...pod, timestamp: "1969-12-31T23:59:59Z", window: "-1h30m" });
    const { object } = unwrap(body, "PodMetrics");
    assert.equal(object.timestamp.seconds, -1);
    assert.equal(object.window.duration, -5_400_000_000_000);
    const yearOne = unwrap(encodePodMetrics({ ...pod, timestamp: "0001-01-01T00:00:01Z" }), "PodMetrics");
    assert.equal(yearOne.object.timestamp.seconds, -62_135_596_799);
  });

  it("parses every Go duration spelling", () => {
    const cases: [string, number][] = [
      ["0", 0],
      ["0s", 0],
      ["15s", 15e9],
      ["15.006s", 15_006_000_000],
      ["1m0.5s", 60_500_000_000],
      ["1h0m0s", 3_600_000_000_000],
      ["999ms", 999_000_000],
      ["1µs", 1000],
      ["1μs", 1000],
      ["1.5us", 1500],
      ["7ns", 7],
      ["+2s", 2e9],
      ["-2s", -2e9],
      [".5s", 5e8],
      ["1.s", 1e9],
    ];
    for (const [window, ns] of cases) {
      const { object } = unwrap(encodeNodeMetrics({ ...node, window }), "NodeMetrics");
      assert.equal(object.window.duration, ns, window);
    }
  });

  it("parses RFC 3339 times with offsets and drops fractions like Go's Time.Unix", () => {
    const cases: [string, string][] = [
      ["2025-05-01T12:00:01+02:00", "2025-05-01T10:00:01Z"],
      ["2025-05-01T09:30:01-00:30", "2025-05-01T10:00:01Z"],
      ["2025-05-01T10:00:01.999999Z", "2025-05-01T10:00:01Z"],
      ["2024-02-29t10:00:01z", "2024-02-29T10:00:01Z"],
    ];
    for (const [timestamp, utc] of cases) {
      const { object } = unwrap(encodeNodeMetrics({ ...node, timestamp }), "NodeMetrics");
      assert.equal(timeText(object.timestamp), utc, timestamp);
    }
  });

  it("rejects malformed times and durations with a TypeError naming the text", () => {
    for (const timestamp of ["", "yesterday", "2025-02-30T00:00:00Z", "2025-05-01T24:00:00Z", "2025-05-01"]) {
      assert.throws(() => encodeNodeMetrics({ ...node, timestamp }), {
        name: "TypeError",
        message: new RegExp(`RFC 3339 time ${JSON.stringify(timestamp)}`),
      });
    }
    for (const window of ["", "15", "s", "1.5", "1x", "--1s", "1e3s", "3000000h"]) {
      assert.throws(() => encodePodMetrics({ ...pod, window }), {
        name: "TypeError",
        message: new RegExp(`Go duration ${JSON.stringify(window)}`),
      });
    }
  });

  it("writes multi-byte length prefixes and non-ASCII text correctly", () => {
    const long = "é".repeat(10_000) + "x".repeat(70_000); // 90,000 UTF-8 bytes: a three-byte length
    const labels = { ["k".repeat(200)]: "ü".repeat(100), ø: long };
    const body = encodePodMetrics({
      ...pod,
      metadata: meta(long, { namespace: "ns-ä", labels }),
      containers: [{ name: "\u{1F600}", usage: { cpu: "1" } }],
    });
    const decoded = podJSON(unwrap(body, "PodMetrics").object);
    assert.equal(decoded.metadata.name, long);
    assert.equal(decoded.metadata.namespace, "ns-ä");
    assert.deepEqual(decoded.metadata.labels, labels);
    assert.equal(decoded.containers[0].name, "\u{1F600}");
  });

  it("round-trips random objects through protobufjs", () => {
    // Well-formed text only: strings from JSON or the API server never hold lone surrogates.
    const text = fc
      .oneof(fc.string(), fc.string({ unit: "binary", maxLength: 40 }))
      .filter((s) => s.isWellFormed());
    const stringMap = fc.dictionary(text, text, { maxKeys: 5 });
    // Years 0001..9999, the range RFC 3339 text can carry.
    const seconds = fc.integer({ min: -62_135_596_800, max: 253_402_300_799 });
    const time = fc.option(seconds, { nil: null });
    const windowNs = fc.integer({ min: -1e15, max: 1e15 });
    const toText = (s: number | null) =>
      s === null ? null : new Date(s * 1000).toISOString().replace(".000Z", "Z");
    const metadata = fc.record({
      name: text,
      namespace: text,
      creationTimestamp: time,
      labels: fc.option(stringMap, { nil: undefined }),
    });
    const podItem = fc.record({
      metadata,
      timestamp: time,
      windowNs,
      containers: fc.array(fc.record({ name: text, usage: stringMap }), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(podItem, { maxLength: 5 }), (items) => {
        const input = items.map(
          (p): PodMetricsJSON => ({
            kind: "PodMetrics",
            apiVersion: API_VERSION,
            metadata: { ...p.metadata, creationTimestamp: toText(p.metadata.creationTimestamp) },
            timestamp: toText(p.timestamp),
            window: formatGoDurationNs(p.windowNs),
            containers: p.containers,
          }),
        );
        const decoded = unwrap(encodePodMetricsList(podList(input)), "PodMetricsList").object;
        const got = (decoded.items ?? []).map(podJSON);
        const want = items.map((p) => {
          const labels = goSorted(p.metadata.labels ?? {});
          return {
            metadata: {
              name: p.metadata.name,
              creationTimestamp: toText(p.metadata.creationTimestamp),
              ...(p.metadata.namespace === "" ? {} : { namespace: p.metadata.namespace }),
              ...(labels.length === 0 ? {} : { labels: Object.fromEntries(labels) }),
            },
            timestamp: toText(p.timestamp),
            windowNs: p.windowNs,
            containers: p.containers.map((c) => ({ name: c.name, usage: goSorted(c.usage) })),
          };
        });
        assert.deepEqual(got, want);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips random node lists through protobufjs", () => {
    const quantity = fc.stringMatching(/^[0-9]{1,12}(n|u|m|Ki|Mi|Gi)?$/);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ name: fc.string(), cpu: quantity, memory: quantity, windowMs: fc.nat(120_000) }),
          { maxLength: 20 },
        ),
        (nodes) => {
          const items = nodes.map(
            (n): NodeMetricsJSON => ({
              kind: "NodeMetrics",
              apiVersion: API_VERSION,
              metadata: { name: n.name, creationTimestamp: "2025-05-01T10:00:07Z" },
              timestamp: "2025-05-01T10:00:01Z",
              window: formatGoDurationNs(n.windowMs * 1e6),
              usage: { memory: n.memory, cpu: n.cpu },
            }),
          );
          const decoded = unwrap(encodeNodeMetricsList(nodeList(items)), "NodeMetricsList").object;
          assert.deepEqual(
            (decoded.items ?? []).map((i: Decoded) => [
              i.metadata.name,
              i.window.duration,
              ...usageEntries(i.usage).flat(),
            ]),
            nodes.map((n) => [n.name, n.windowMs * 1e6, "cpu", n.cpu, "memory", n.memory]),
          );
        },
      ),
    );
  });
});
