import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { captureLogs } from "../../../test/support/logs.ts";
import { cmp, decodeBoth, rows } from "../../../test/support/resource-decoding.ts";
import { decodeResourceMetrics } from "./resource.ts";

const realistic = readFileSync(new URL("../testdata/resource-1.33.txt", import.meta.url));

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
    const lines = captureLogs(t, 1);
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
    const lines = captureLogs(t, 1);
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
