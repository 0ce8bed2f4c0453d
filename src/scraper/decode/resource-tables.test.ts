// The decoder's tables and shortcuts (hashing, runs, pod keys, pooling) on inputs that could fool them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { decodeResourceMetricsReference } from "../../../test/support/reference-resource-decoder.ts";
import { renderResourceBody } from "../../../test/support/resource-body.ts";
import { cmp, decodeBoth, outcomeOf, rows } from "../../../test/support/resource-decoding.ts";
import type { NodeScrape } from "../../storage/index.ts";
import { Interner } from "../interner.ts";
import { hashBytes } from "./byte-ranges.ts";
import { decodeResourceMetrics } from "./resource.ts";

const realistic = readFileSync(new URL("../testdata/resource-1.33.txt", import.meta.url));

/** Two different strings of the same length made by `make(i)` whose bytes hashBytes alike. */
function hashCollision(make: (i: number) => string): [string, string] {
  const seen = new Map<number, string>();
  const bytes = Buffer.alloc(256);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let i = 0; i < 2_000_000; i++) {
    const text = make(i);
    const hash = hashBytes(view, 0, bytes.write(text, "latin1"));
    const other = seen.get(hash);
    if (other !== undefined && other.length === text.length) return [other, text];
    seen.set(hash, text);
  }
  throw new Error("no collision found");
}

describe("decodeResourceMetrics on bytes", () => {
  const sameAsReference = (body: string): NodeScrape => {
    const expected = decodeResourceMetricsReference(body, "n", 1);
    const actual = decodeBoth(body, "n", 1);
    assert.deepEqual(actual, expected);
    return actual;
  };

  it("tells apart label sets of equal length whose bytes hash alike", () => {
    const [a, b] = hashCollision(
      (i) => `{container="c",namespace="ns",pod="p-${i.toString(36).padStart(5, "0")}"}`,
    );
    // Memory lists the sets in the other order, so each is looked up by hash, not compared in place.
    const body = [
      `container_cpu_usage_seconds_total${a} 1 1000`,
      `container_cpu_usage_seconds_total${b} 2 1000`,
      `container_memory_working_set_bytes${b} 20 1000`,
      `container_memory_working_set_bytes${a} 10 1000`,
      `container_start_time_seconds${a} 5`,
      `container_start_time_seconds${b} 6`,
    ].join("\n");
    const pod = (set: string): string => /pod="([^"]+)"/.exec(set)![1];
    const s = sameAsReference(body);
    const byPod = new Map(rows(s).map((r) => [r.pod, r]));
    assert.deepEqual(
      [pod(a), pod(b)].map((p) => {
        const r = byPod.get(p)!;
        return [r.cpuNs, r.memoryBytes, r.startTimeMs];
      }),
      [
        [1e9, 10, 5000],
        [2e9, 20, 6000],
      ],
    );
  });

  it("tells apart label values of equal length whose bytes hash alike", () => {
    const [a, b] = hashCollision((i) => `pod-${i.toString(36).padStart(6, "0")}-abcde`);
    const body = [
      `container_cpu_usage_seconds_total{container="c",namespace="ns",pod="${a}"} 1 1000`,
      `container_cpu_usage_seconds_total{container="c",namespace="ns",pod="${b}"} 2 1000`,
      `container_memory_working_set_bytes{container="c",namespace="ns",pod="${a}"} 10 1000`,
      `container_memory_working_set_bytes{container="c",namespace="ns",pod="${b}"} 20 1000`,
    ].join("\n");
    const s = sameAsReference(body);
    assert.deepEqual(
      rows(s).map((r) => [r.pod, r.cpuNs, r.memoryBytes]),
      [
        [a, 1e9, 10],
        [b, 2e9, 20],
      ].sort((x, y) => cmp(x[0] as string, y[0] as string)),
    );
  });

  it("reads a label set whatever the previous run's set at that position was", () => {
    const set = '{container="c",namespace="ns",pod="p"}';
    for (const [memory, what] of [
      [`container_memory_working_set_bytes${set} 5 1000`, "the same set"],
      ['container_memory_working_set_bytes{namespace="ns",pod="p",container="c"} 5 1000', "reordered"],
      ['container_memory_working_set_bytes{container="c", namespace="ns",pod="p"} 5 1000', "respaced"],
      ['container_memory_working_set_bytes{container="c",namespace="ns",pod="p",x="}"} 5 1000', "extended"],
      [`container_memory_working_set_bytes${set},pod="q"} 5 1000`, "the set as a prefix"],
      [`container_memory_working_set_bytes${set}5 1000`, "no blank after it"],
      ['container_memory_working_set_bytes{container="c",namespace="ns",pod="p} 5 1000', "unterminated"],
    ]) {
      const body = `container_cpu_usage_seconds_total${set} 1 1000\n${memory}\n`;
      assert.deepEqual(
        outcomeOf(() => decodeBoth(body, "n", 1)),
        outcomeOf(() => decodeResourceMetricsReference(body, "n", 1)),
        what,
      );
    }
  });

  it("keeps one pod for the namespace/pod pairs whose joined key is the same", () => {
    // containerFor keys pods by namespace + "/" + pod, so these two pairs share a pod upstream-style.
    const body = [
      'container_cpu_usage_seconds_total{container="c",namespace="a/b",pod="c"} 1 1000',
      'container_cpu_usage_seconds_total{container="d",namespace="a",pod="b/c"} 2 1000',
      'container_cpu_usage_seconds_total{container="c",namespace="a",pod="b"} 3 1000',
      'container_memory_working_set_bytes{container="c",namespace="a/b",pod="c"} 10 1000',
      'container_memory_working_set_bytes{container="d",namespace="a",pod="b/c"} 20 1000',
      'container_memory_working_set_bytes{container="c",namespace="a",pod="b"} 30 1000',
    ].join("\n");
    const s = sameAsReference(body);
    assert.deepEqual(
      rows(s).map((r) => [r.namespace, r.pod, r.container, r.cpuNs]),
      [
        ["a", "b", "c", 3e9],
        ["a/b", "c", "c", 1e9],
        ["a/b", "c", "d", 2e9],
      ],
    );
  });

  it("reads values that need Go's float syntax, and long decimals, exactly", () => {
    const line = (pod: string, cpu: string, memory: string, start: string): string[] => [
      `container_cpu_usage_seconds_total{container="c",namespace="ns",pod="${pod}"} ${cpu} 1000`,
      `container_memory_working_set_bytes{container="c",namespace="ns",pod="${pod}"} ${memory} 1000`,
      `container_start_time_seconds{container="c",namespace="ns",pod="${pod}"} ${start}`,
    ];
    const body = [
      ...line("a", "0x1p-2", "1e+07", "1.7327340564563818e+09"),
      ...line("b", "+12.5", "5.", "1.732734056456382e+09"),
      ...line("c", ".5", "1e00003", "17327340564.563818e-1"),
      ...line("d", "123456789012345678", "9007199254740993", "+Inf"),
      ...line("e", "1.5", "NaN", "0x1.8p1"),
      "node_cpu_usage_seconds_total 1e400 7",
      "node_memory_working_set_bytes 4 7",
    ].join("\n");
    const s = sameAsReference(body);
    assert.deepEqual(
      rows(s).map((r) => [r.pod, r.cpuNs, r.memoryBytes, r.startTimeMs]),
      [
        ["a", 0.25e9, 1e7, 1.7327340564563818e9 * 1000],
        ["b", 12.5e9, 5, 1.732734056456382e9 * 1000],
        ["c", 0.5e9, 1000, 1.7327340564563818e9 * 1000],
        ["d", Math.trunc(Number("123456789012345678") * 1e9), 2 ** 53, 0],
      ],
    );
    assert.equal(s.nodeTimestampMs, 0); // an infinite cpu counter is unusable, so the node is incomplete
  });

  it("decodes a body with any non-ASCII byte as its UTF-8 text", () => {
    const text = [
      "# HELP container_cpu_usage_seconds_total Cumulative cpu time — in core-seconds",
      'container_cpu_usage_seconds_total{container="é",namespace="ns",pod="p-ñ"} 1 1000',
      'container_memory_working_set_bytes{container="é",namespace="ns",pod="p-ñ"} 5 1000',
    ].join("\n");
    const s = decodeResourceMetrics(Buffer.from(text), "n", 1);
    assert.deepEqual(s, decodeResourceMetrics(text, "n", 1));
    assert.deepEqual(
      rows(s).map((r) => [r.pod, r.container]),
      [["p-ñ", "é"]],
    );
    // Only the comment is not ASCII: the same containers as the ASCII body without it.
    const commentOnly = text.replace(/é/g, "e").replace(/ñ/g, "n").replace("core-seconds", "core-séconds");
    assert.deepEqual(
      decodeResourceMetrics(Buffer.from(commentOnly), "n", 1),
      decodeResourceMetrics(Buffer.from(commentOnly.replace("é", "e")), "n", 1),
    );
  });

  it("keeps pods with many containers apart, in any order", () => {
    const names = Array.from({ length: 12 }, (_, k) => `c${(k * 7) % 12}`);
    const lines: string[] = [];
    for (const [family, value] of [
      ["container_cpu_usage_seconds_total", 1],
      ["container_memory_working_set_bytes", 2],
    ] as const) {
      for (const [k, name] of names.entries()) {
        const set = `{container="${name}",namespace="ns",pod="p"}`;
        lines.push(`${family}${set} ${value + k} 1000`);
      }
      names.reverse();
    }
    const s = sameAsReference(lines.join("\n"));
    assert.equal(s.containerCount, 12);
    assert.deepEqual(s.containers, [...names].sort());
    assert.deepEqual(new Set(Array.from(s.cpuNs, (v, i) => v / 1e9 + Number(s.memoryBytes[i]))).size, 1);
  });

  it("sorts any number of pods by namespace and name", () => {
    for (const count of [1, 40, 200]) {
      const pods = Array.from({ length: count }, (_, k) => [`ns-${(k * 13) % 3}`, `p-${(k * 7919) % count}`]);
      const body = ["container_cpu_usage_seconds_total", "container_memory_working_set_bytes"]
        .flatMap((family) =>
          pods.map(([ns, pod]) => `${family}{container="c",namespace="${ns}",pod="${pod}"} 1 1000`),
        )
        .join("\n");
      const s = decodeBoth(body, "n", 1);
      const expected = [...pods].sort(([n1, p1], [n2, p2]) => cmp(n1, n2) || cmp(p1, p2));
      assert.deepEqual(
        rows(s).map((r) => [r.namespace, r.pod]),
        expected,
        String(count),
      );
    }
  });

  it("decodes correctly when intern itself decodes a body", () => {
    const inner = Buffer.from(
      'container_cpu_usage_seconds_total{container="x",namespace="y",pod="z"} 9 9\n' +
        'container_memory_working_set_bytes{container="x",namespace="y",pod="z"} 9 9\n',
    );
    let nested: NodeScrape | undefined;
    const intern = (name: string): string => {
      nested ??= decodeResourceMetrics(inner, "m", 1);
      return name;
    };
    const s = decodeResourceMetrics(realistic, "n", 1, intern);
    assert.deepEqual(s, decodeResourceMetrics(realistic, "n", 1));
    assert.deepEqual(nested?.pods, ["z"]);
  });

  it("decodes a small body correctly after a very large one", () => {
    const big = renderResourceBody({ node: 1, pods: 700, containersPerPod: 7 });
    assert.equal(decodeBoth(big, "n", 1).containerCount, 4900);
    assert.deepEqual(
      decodeBoth(realistic.toString("latin1"), "n", 1),
      decodeResourceMetrics(realistic, "n", 1),
    );
  });

  it("interns names through the Interner it is given, across bodies", () => {
    const interner = new Interner();
    const first = decodeResourceMetrics(realistic, "n", 1, interner.intern);
    interner.rotate();
    const second = decodeResourceMetrics(realistic, "n", 1, interner.intern);
    assert.deepEqual(second, first);
    assert.deepEqual(second, decodeResourceMetrics(realistic, "n", 1));
    assert.equal(interner.size, new Set(["default", "kube-system", ...realisticNames()]).size);
  });
});

function realisticNames(): string[] {
  return [
    "web-5d8f7c9b4-q2x8z",
    "coredns-668d6bf9bc-7xk2p",
    "kube-proxy-8wq4m",
    "log-shipper",
    "nginx",
    "coredns",
    "kube-proxy",
  ];
}
