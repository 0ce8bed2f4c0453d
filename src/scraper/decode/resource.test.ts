import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeResourceMetricsReference } from "../../../test/support/reference-resource-decoder.ts";
import { renderResourceBody } from "../../../test/support/resource-body.ts";
import * as log from "../../log/index.ts";
import type { NodeScrape } from "../../storage/index.ts";
import { Interner } from "../interner.ts";
import { hashBytes } from "./byte-ranges.ts";
import { parseGoFloat } from "./numbers.ts";
import { decodeResourceMetrics } from "./resource.ts";

const realistic = readFileSync(new URL("../testdata/resource-1.33.txt", import.meta.url));

/**
 * decodeResourceMetrics of `body` as text, checked to give the same result or the same error as its
 * UTF-8 bytes (a string is read as its UTF-8 bytes, so the two must agree).
 */
function decodeBoth(body: string, nodeName: string, defaultTimestampMs: number): NodeScrape {
  const outcome = (input: string | Uint8Array): { ok: NodeScrape } | { error: string } => {
    try {
      return { ok: decodeResourceMetrics(input, nodeName, defaultTimestampMs) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const fromText = outcome(body);
  assert.deepEqual(outcome(Buffer.from(body)), fromText, `bytes of ${JSON.stringify(body)}`);
  if ("error" in fromText) throw new Error(fromText.error);
  return fromText.ok;
}

function rows(s: ReturnType<typeof decodeResourceMetrics>) {
  return Array.from({ length: s.containerCount }, (_, i) => ({
    namespace: s.namespaces[i],
    pod: s.pods[i],
    container: s.containers[i],
    startTimeMs: s.startTimeMs[i],
    timestampMs: s.timestampMs[i],
    cpuNs: s.cpuNs[i],
    memoryBytes: s.memoryBytes[i],
  }));
}

describe("decodeResourceMetrics", () => {
  it("decodes the realistic 1.33 payload exactly", () => {
    const s = decodeResourceMetrics(realistic, "node-1", 999);
    assert.equal(s.node, "node-1");
    assert.equal(s.nodeTimestampMs, 1732741801205);
    assert.equal(s.nodeCpuNs, 1457392812000);
    assert.equal(s.nodeMemoryBytes, 1113243648);
    assert.equal(s.nodeStartTimeMs, 0);
    assert.equal(s.containerCount, 4);
    assert.ok(s.cpuNs instanceof Float64Array && s.memoryBytes instanceof Float64Array);
    assert.deepEqual(rows(s), [
      {
        namespace: "default",
        pod: "web-5d8f7c9b4-q2x8z",
        container: "log-shipper",
        startTimeMs: 1.73274001308e9 * 1000,
        timestampMs: 1732741800187,
        cpuNs: 1207330000,
        memoryBytes: 10461184,
      },
      {
        namespace: "default",
        pod: "web-5d8f7c9b4-q2x8z",
        container: "nginx",
        startTimeMs: 1.732740012551e9 * 1000,
        timestampMs: 1732741800187,
        cpuNs: 85392000,
        memoryBytes: 5410816,
      },
      {
        namespace: "kube-system",
        pod: "coredns-668d6bf9bc-7xk2p",
        container: "coredns",
        startTimeMs: 1.7327340564563818e9 * 1000,
        timestampMs: 1732741798478,
        cpuNs: 12847166000,
        memoryBytes: 18239488,
      },
      {
        namespace: "kube-system",
        pod: "kube-proxy-8wq4m",
        container: "kube-proxy",
        startTimeMs: 1.73273404711e9 * 1000,
        timestampMs: 1732741799136,
        cpuNs: 3410853000,
        memoryBytes: 24354816,
      },
    ]);
  });

  it("accepts a string body the same as bytes", () => {
    assert.deepEqual(
      decodeResourceMetrics(realistic.toString("utf8"), "n", 1),
      decodeResourceMetrics(realistic, "n", 1),
    );
  });

  it("decodes upstream's decode_test example values (pkg/scraper/client/resource/decode_test.go)", () => {
    const body = [
      "node_cpu_usage_seconds_total 357.35491 1633253809720",
      "node_memory_working_set_bytes 1.6454545408e+10 1633253809720",
      'container_cpu_usage_seconds_total{container="c",namespace="ns",pod="p"} 4.710169 1633253812125',
      'container_memory_working_set_bytes{container="c",namespace="ns",pod="p"} 1.253376e+07 1633253812125',
      'container_start_time_seconds{container="c",namespace="ns",pod="p"} 1.633252712e+9',
      "",
    ].join("\n");
    const s = decodeBoth(body, "n", 1);
    assert.equal(s.nodeCpuNs, 357354910000);
    assert.equal(s.nodeTimestampMs, Date.parse("2021-10-03T09:36:49.720Z"));
    assert.equal(s.nodeMemoryBytes, 16454545408);
    assert.equal(s.memoryBytes[0], 12533760);
    assert.equal(s.cpuNs[0], 4710169000);
    assert.equal(s.startTimeMs[0], 1633252712000);
    assert.equal(s.startTimeMs[0], Date.parse("2021-10-03T09:18:32Z"));
    assert.equal(s.timestampMs[0], 1633253812125);
  });

  it("decodes a 1.28-style [ALPHA] payload with scrape_error", () => {
    const body = realistic
      .toString("utf8")
      .replaceAll("[STABLE]", "[ALPHA]")
      .replace(/# HELP resource_scrape_error[^\n]*\n# TYPE[^\n]*\nresource_scrape_error 0\n/, "")
      .concat(
        "# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise\n",
        "# TYPE scrape_error gauge\nscrape_error 0\n",
      );
    assert.ok(!body.includes("resource_scrape_error"));
    assert.deepEqual(decodeBoth(body, "n", 1), decodeResourceMetrics(realistic, "n", 1));
  });

  it("uses the default timestamp for samples without one", () => {
    const body = [
      "node_cpu_usage_seconds_total 10",
      "node_memory_working_set_bytes 20",
      'container_cpu_usage_seconds_total{container="c",namespace="ns",pod="p"} 1',
      'container_memory_working_set_bytes{container="c",namespace="ns",pod="p"} 2',
    ].join("\n");
    const s = decodeBoth(body, "n", 1700000000123);
    assert.equal(s.nodeTimestampMs, 1700000000123);
    assert.equal(s.timestampMs[0], 1700000000123);
    assert.equal(s.startTimeMs[0], 0);
  });

  it("drops the whole pod when one container has zero cpu, keeps other pods", (t) => {
    const lines = log.captureLogs(t, 1);
    const body = [
      'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="bad"} 1 1000',
      'container_cpu_usage_seconds_total{container="b",namespace="ns",pod="bad"} 0 1000',
      'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="good"} 1 1000',
      'container_memory_working_set_bytes{container="a",namespace="ns",pod="bad"} 5 1000',
      'container_memory_working_set_bytes{container="b",namespace="ns",pod="bad"} 5 1000',
      'container_memory_working_set_bytes{container="a",namespace="ns",pod="good"} 5 1000',
    ].join("\n");
    const s = decodeResourceMetrics(body, "n", 1);
    assert.deepEqual(s.pods, ["good"]);
    assert.ok(lines.some((l) => l.includes('"Failed getting complete container metric"')));
    assert.ok(
      lines.some((l) => l.includes('"Failed getting complete Pod metric"') && l.includes('pod="ns/bad"')),
    );
  });

  it("drops a pod with a zero-memory container", () => {
    const body = [
      'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="p"} 1 1000',
      'container_memory_working_set_bytes{container="a",namespace="ns",pod="p"} 0 1000',
    ].join("\n");
    assert.equal(decodeBoth(body, "n", 1).containerCount, 0);
  });

  it("drops a pod whose container is seen only through its start time", () => {
    const body = [
      'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="p"} 1 1000',
      'container_memory_working_set_bytes{container="a",namespace="ns",pod="p"} 5 1000',
      'container_start_time_seconds{container="a",namespace="ns",pod="p"} 100',
      'container_start_time_seconds{container="init",namespace="ns",pod="p"} 100',
      'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="q"} 1 1000',
      'container_memory_working_set_bytes{container="a",namespace="ns",pod="q"} 5 1000',
    ].join("\n");
    assert.deepEqual(decodeBoth(body, "n", 1).pods, ["q"]);
  });

  it("marks an incomplete node (zero memory, zero cpu or zero timestamp) with nodeTimestampMs 0 and keeps pods", (t) => {
    const lines = log.captureLogs(t, 1);
    const pod = [
      'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="p"} 1 1000',
      'container_memory_working_set_bytes{container="a",namespace="ns",pod="p"} 5 1000',
    ];
    for (const node of [
      ["node_cpu_usage_seconds_total 10 1000"],
      ["node_cpu_usage_seconds_total 0 1000", "node_memory_working_set_bytes 5 1000"],
      ["node_cpu_usage_seconds_total 10 0", "node_memory_working_set_bytes 5 0"],
    ]) {
      const s = decodeResourceMetrics([...node, ...pod].join("\n"), "n", 1);
      assert.equal(s.nodeTimestampMs, 0);
      assert.equal(s.nodeCpuNs, 0);
      assert.equal(s.nodeMemoryBytes, 0);
      assert.equal(s.containerCount, 1);
    }
    assert.equal(lines.filter((l) => l.includes('"Failed getting complete node metric"')).length, 3);
  });

  it("throws on a negative timestamp", () => {
    const body =
      "node_cpu_usage_seconds_total 357.35491 -62135596800000\nnode_memory_working_set_bytes 1 1\n";
    assert.throws(() => decodeBoth(body, "n", 1), {
      message: 'failed parsing metrics: invalid timestamp "-62135596800000" at line 1',
    });
  });

  it("throws with the line number on malformed input", () => {
    const cases: [string, RegExp][] = [
      ["<html><body>502 Bad Gateway</body></html>", /invalid metric name at line 1/],
      ["# ok\nnode_cpu_usage_seconds_total abc 1", /invalid value "abc" at line 2/],
      ["node_cpu_usage_seconds_total 1 1.5", /invalid timestamp "1.5" at line 1/],
      ["node_cpu_usage_seconds_total 1 1 extra", /unexpected text after timestamp at line 1/],
      ["node_cpu_usage_seconds_total", /expected a value at line 1/],
      ['container_cpu_usage_seconds_total{pod="p 1 1', /unterminated label value at line 1/],
      ['container_cpu_usage_seconds_total{pod="p\\', /unterminated label value at line 1/],
      ['container_cpu_usage_seconds_total{pod="p" 1', /expected ',' or '}' after label value at line 1/],
      ["container_cpu_usage_seconds_total{pod 1", /expected '=' after label name at line 1/],
      ["container_cpu_usage_seconds_total{pod=p} 1", /expected '"' to start label value at line 1/],
      ["container_cpu_usage_seconds_total{", /unterminated label set at line 1/],
      ["\n\n{}", /invalid metric name at line 3/],
      ["this is not prometheus", /invalid value "is" at line 1/],
      ['pod_cpu_usage_seconds_total{pod="p"} x 1', /invalid value "x" at line 1/],
      ["node_swap_usage_bytes 0 -1", /invalid timestamp "-1" at line 1/],
      ["node-cpu 1", /invalid metric name at line 1/],
      ["node_cpu_usage_seconds_total 1 99999999999999999999", /timestamp out of range/],
    ];
    for (const [body, re] of cases) {
      assert.throws(
        () => decodeBoth(body, "n", 1),
        (err: Error) => {
          assert.match(err.message, /^failed parsing metrics: /);
          assert.match(err.message, re);
          return true;
        },
        body,
      );
    }
  });

  it("unescapes label values and accepts any label order, spacing and a trailing comma", () => {
    const body = [
      'container_memory_working_set_bytes{pod="p\\"q",container="c\\\\d",namespace="n\\ns",} 7 5',
      'container_cpu_usage_seconds_total{ namespace = "n\\ns" , pod="p\\"q", container="c\\\\d", extra="}"}\t2\t5',
    ].join("\n");
    const s = decodeBoth(body, "n", 1);
    assert.deepEqual(rows(s), [
      {
        namespace: "n\ns",
        pod: 'p"q',
        container: "c\\d",
        startTimeMs: 0,
        timestampMs: 5,
        cpuNs: 2e9,
        memoryBytes: 7,
      },
    ]);
  });

  it("ignores other families, including names that only share a prefix", () => {
    const body = [
      "node_cpu_usage_seconds_total_extra 5 1",
      'container_cpu_usage_seconds_total_other{container="c",namespace="ns",pod="p"} 0 1',
      'pod_cpu_usage_seconds_total{namespace="ns",pod="p"} 1 1',
      'container_swap_usage_bytes{container="c",namespace="ns",pod="p"} 0 1',
      "node_swap_usage_bytes 0 1",
      "node_cpu_usage_seconds_total 3 7",
      "node_memory_working_set_bytes 4 7",
    ].join("\n");
    const s = decodeBoth(body, "n", 1);
    assert.equal(s.nodeCpuNs, 3e9);
    assert.equal(s.containerCount, 0);
  });

  it("tolerates CRLF line ends and blank or indented comment lines", () => {
    const body =
      "  # comment\r\n\r\nnode_cpu_usage_seconds_total 3 7\r\nnode_memory_working_set_bytes 4 7\r\n";
    const s = decodeBoth(body, "n", 1);
    assert.equal(s.nodeTimestampMs, 7);
    assert.equal(s.nodeMemoryBytes, 4);
  });

  it("treats NaN, Inf and negative values as missing, so the point is incomplete", () => {
    for (const v of ["NaN", "+Inf", "-Inf", "-1"]) {
      const s = decodeBoth(`node_cpu_usage_seconds_total ${v} 7\nnode_memory_working_set_bytes 4 7`, "n", 1);
      assert.equal(s.nodeTimestampMs, 0, v);
    }
  });

  it("interns names through the given interner", () => {
    const seen: string[] = [];
    decodeResourceMetrics(realistic, "n", 1, (s) => {
      seen.push(s);
      return s;
    });
    assert.deepEqual(new Set(seen), new Set(["default", "kube-system", ...realisticNames()]));
  });

  it("decodes what it is given, whatever kubelet-format samples (property)", () => {
    const name = fc.string({
      unit: fc.constantFrom("a", "b", "-", ".", '"', "\\", "\n", "é", "}", ","),
      maxLength: 6,
    });
    const container = fc.record({
      namespace: name,
      pod: name,
      container: name,
      cpu: fc.double({ min: 1e-9, max: 1e9, noNaN: true }),
      memory: fc.integer({ min: 1, max: 2 ** 40 }),
      start: fc.option(fc.double({ min: 1, max: 2e9, noNaN: true }), { nil: undefined }),
      ts: fc.option(fc.integer({ min: 1, max: 2 ** 45 }), { nil: undefined }),
    });
    const samples = fc.uniqueArray(container, {
      maxLength: 20,
      selector: (c) => JSON.stringify([c.namespace, c.pod, c.container]),
    });
    fc.assert(
      fc.property(samples, fc.boolean(), (cs, reorder) => {
        const body = renderKubelet(cs, reorder);
        const s = decodeBoth(body, "n", 42);
        const expected = cs
          .map((c) => ({
            namespace: c.namespace,
            pod: c.pod,
            container: c.container,
            startTimeMs: c.start === undefined ? 0 : c.start * 1000,
            timestampMs: c.ts ?? 42,
            cpuNs: Math.trunc(c.cpu * 1e9),
            memoryBytes: c.memory,
          }))
          .sort(
            (a, b) => cmp(a.namespace, b.namespace) || cmp(a.pod, b.pod) || cmp(a.container, b.container),
          );
        assert.deepEqual(rows(s), expected);
      }),
    );
  });
});

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

function outcomeOf(decode: () => NodeScrape): { ok: NodeScrape } | { error: string } {
  try {
    return { ok: decode() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe("parseGoFloat", () => {
  it("accepts Go float syntax and rejects the rest", () => {
    assert.equal(parseGoFloat("1.8239488e+07"), 18239488);
    assert.equal(parseGoFloat("1e-05"), 1e-5);
    assert.equal(parseGoFloat(".5"), 0.5);
    assert.equal(parseGoFloat("5."), 5);
    assert.equal(parseGoFloat("+Inf"), Infinity);
    assert.equal(parseGoFloat("-inf"), -Infinity);
    assert.equal(parseGoFloat("Infinity"), Infinity);
    assert.ok(Number.isNaN(parseGoFloat("NaN")));
    assert.equal(parseGoFloat("0x1p-2"), 0.25);
    assert.equal(parseGoFloat("-0x1.8p1"), -3);
    for (const bad of ["", "abc", "1e", "0x10", "1,5", "--1", "Infinit"])
      assert.equal(parseGoFloat(bad), undefined, bad);
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

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** strconv.FormatFloat(v, 'g', -1, 64), as the kubelet writes values. */
function formatGoFloat(v: number): string {
  const [mant, expText] = v.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(v);
}

function escapeLabel(s: string): string {
  return s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function renderKubelet(
  cs: {
    namespace: string;
    pod: string;
    container: string;
    cpu: number;
    memory: number;
    start?: number;
    ts?: number;
  }[],
  reorder: boolean,
): string {
  const labels = (c: { namespace: string; pod: string; container: string }): string => {
    const parts = [
      `container="${escapeLabel(c.container)}"`,
      `namespace="${escapeLabel(c.namespace)}"`,
      `pod="${escapeLabel(c.pod)}"`,
    ];
    return `{${(reorder ? parts.reverse() : parts).join(",")}}`;
  };
  const ts = (t: number | undefined): string => (t === undefined ? "" : ` ${t}`);
  const out: string[] = [];
  out.push("# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time", "# TYPE x counter");
  for (const c of cs)
    out.push(`container_cpu_usage_seconds_total${labels(c)} ${formatGoFloat(c.cpu)}${ts(c.ts)}`);
  for (const c of cs) {
    out.push(`container_memory_working_set_bytes${labels(c)} ${formatGoFloat(c.memory)}${ts(c.ts)}`);
  }
  for (const c of cs) {
    if (c.start !== undefined) out.push(`container_start_time_seconds${labels(c)} ${formatGoFloat(c.start)}`);
  }
  out.push("resource_scrape_error 0");
  return out.join("\n") + "\n";
}
