// Fuzzing both /metrics/resource decoders (resource.ts and the reference in test/support): whatever
// the bytes, the outcome is a NodeScrape without a non-finite, negative or incomplete value, or a
// ParseError; the two decoders give the same outcome; and a series sent twice with different values is
// never trusted. Replaying a failure: test/support/fuzz.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fc, fuzz } from "../../../test/support/fuzz.ts";
import { decodeResourceMetricsReference } from "../../../test/support/reference-resource-decoder.ts";
import { renderResourceBody } from "../../../test/support/resource-body.ts";
import { asciiLine, line } from "../../../test/support/resource-lines.ts";
import { assertSaneScrape } from "../../../test/support/scrape-invariants.ts";
import type { DecodedScrape } from "./accumulators.ts";
import { decodeResourceMetrics } from "./resource.ts";

type Outcome = { ok: DecodedScrape } | { error: string };

function outcome(decode: () => DecodedScrape): Outcome {
  try {
    return { ok: decode() };
  } catch (err) {
    // Only the documented error: a malformed body, never a TypeError or RangeError from inside.
    assert.ok(err instanceof Error && err.name === "ParseError", `threw ${String(err)}`);
    assert.match(err.message, /^failed parsing metrics: .* at line \d+$/s);
    return { error: err.message };
  }
}

/** Both decoders' outcome for `body`, checked to agree and, when a scrape, to be sane. */
function decodeChecked(body: Uint8Array): Outcome {
  const actual = outcome(() => decodeResourceMetrics(body, "node-a", 1234));
  const expected = outcome(() => decodeResourceMetricsReference(body, "node-a", 1234));
  assert.deepEqual(actual, expected);
  if ("ok" in actual) assertSaneScrape(actual.ok);
  return actual;
}

const BASE = renderResourceBody({ node: 4, pods: 3, containersPerPod: 2, swap: true });
const BASE_LINES = BASE.split("\n");
/** Indexes of BASE's sample lines (not comments, not blank). */
const SAMPLE_LINES = BASE_LINES.flatMap((l, k) => (l === "" || l.startsWith("#") ? [] : [k]));
const KEPT_FAMILY =
  /^(container_(cpu_usage_seconds_total|memory_working_set_bytes|start_time_seconds|swap_usage_bytes)|node_(cpu_usage_seconds_total|memory_working_set_bytes|swap_usage_bytes))[{ ]/;
/** BASE's sample lines of the families the decoders keep. */
const KEPT_LINES = SAMPLE_LINES.filter((k) => KEPT_FAMILY.test(BASE_LINES[k]));

/** Values a broken kubelet may send: unusable, absurd or at a double's limits. */
const badValue = fc.constantFrom(
  "NaN",
  "+Inf",
  "-Inf",
  "-1",
  "-0",
  "0",
  "1e-12",
  "1e308",
  "1.7976931348623157e308",
  "1e400",
  "99999999999999999999999",
  "0x1p1023",
  "4.9e-324",
);
const badTimestamp = fc.constantFrom(
  "",
  "0",
  "9007199254740991",
  "99999999999999999999",
  "-1",
  "1.5",
  "4102444800000",
);

/** A sample line's head (name and labels), value and timestamp ("" when it has none). */
function parts(l: string): [string, string, string] {
  const close = l.lastIndexOf("}");
  const head = close >= 0 ? l.slice(0, close + 1) : l.slice(0, l.indexOf(" "));
  const [value = "", timestamp = ""] = l.slice(head.length).trim().split(/\s+/);
  return [head, value, timestamp];
}

/** A sample line with its value (and timestamp, when given) replaced. */
function withValue(l: string, value: string, timestamp?: string): string {
  const [head, , ts] = parts(l);
  const t = timestamp ?? ts;
  return `${head} ${value}${t === "" ? "" : ` ${t}`}`;
}

// Mutations are plain data (so that a counterexample prints readably), applied by `mutate`.
const pickLine = fc.nat();
const junk = fc.constantFrom("é", "😀", "\uFEFF", "\uFFFD", "\u0000", '\\"', "\\\\");
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("value" as const), line: pickLine, value: badValue }),
  fc.record({ kind: fc.constant("timestamp" as const), line: pickLine, timestamp: badTimestamp }),
  // The same line twice, as is or with another value or time.
  fc.record({
    kind: fc.constant("duplicate" as const),
    line: pickLine,
    at: pickLine,
    value: fc.option(badValue),
    timestamp: fc.option(badTimestamp),
  }),
  fc.record({ kind: fc.constant("replace" as const), at: pickLine, text: line }),
  fc.record({ kind: fc.constant("insert" as const), at: pickLine, text: asciiLine }),
  fc.record({ kind: fc.constant("move" as const), line: pickLine, at: pickLine }),
  // UTF-8 junk in a label value.
  fc.record({ kind: fc.constant("junk" as const), line: pickLine, junk }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(ls: string[], m: Mutation): void {
  const sample = (k: number): number => SAMPLE_LINES[k % SAMPLE_LINES.length];
  switch (m.kind) {
    case "value":
      ls[sample(m.line)] = withValue(ls[sample(m.line)], m.value);
      return;
    case "timestamp": {
      const l = ls[sample(m.line)];
      ls[sample(m.line)] = withValue(l, parts(l)[1] || "1", m.timestamp);
      return;
    }
    case "duplicate": {
      const source = ls[sample(m.line)] ?? "";
      const copy =
        m.value === null && m.timestamp === null
          ? source
          : withValue(source, m.value ?? "7", m.timestamp ?? undefined);
      ls.splice(sample(m.at), 0, copy);
      return;
    }
    case "replace":
      ls[m.at % ls.length] = m.text;
      return;
    case "insert":
      ls.splice(m.at % (ls.length + 1), 0, m.text);
      return;
    case "move":
      ls.splice(m.at % ls.length, 0, ...ls.splice(m.line % ls.length, 1));
      return;
    case "junk":
      ls[sample(m.line)] = ls[sample(m.line)].replace('pod="', `pod="${m.junk}`);
  }
}

/** A byte-level mutation of the whole body: truncated, a byte flipped, or bytes inserted. */
const byteMutation = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.constantFrom<number[]>(
      [0xff],
      [0x80],
      [0xc3],
      [0xe2, 0x82],
      [0xef, 0xbb, 0xbf],
      [0x0d],
      [0x00],
    ),
  }),
);
type ByteMutation = typeof byteMutation extends fc.Arbitrary<infer M> ? M : never;

function mutateBytes(b: number[], m: ByteMutation): void {
  if (m.kind === "truncate") b.length = m.at % (b.length + 1);
  else if (m.kind === "flip") {
    if (b.length > 0) b[m.at % b.length] ^= m.mask;
  } else b.splice(m.at % (b.length + 1), 0, ...m.bytes);
}

describe("the /metrics/resource decoders, fuzzed", () => {
  it("random bytes: a sane scrape or a ParseError, the same from both decoders", () => {
    fuzz(
      fc.property(fc.uint8Array({ maxLength: 160 }), (bytes) => {
        decodeChecked(bytes);
      }),
      12_000,
    );
  });

  it("random text in the exposition's alphabet: the same", () => {
    const unit = fc.constantFrom(
      ..."container_cpu_usage_seconds_total node_memory_working_set_bytes".split(""),
      "{",
      "}",
      '"',
      "=",
      ",",
      " ",
      "\n",
      "\r\n",
      "\\",
      "#",
      "1",
      "e",
      "-",
      "+",
      ".",
      "NaN",
      "Inf",
      'container="a",namespace="n",pod="p"',
      "container_cpu_usage_seconds_total",
      "node_cpu_usage_seconds_total",
      "container_memory_working_set_bytes",
      " 1700000000000",
    );
    fuzz(
      fc.property(fc.string({ unit, maxLength: 60 }), (text) => {
        decodeChecked(Buffer.from(text));
      }),
      10_000,
    );
  });

  it("a kubelet body, mutated: bad values and times, duplicates, junk, truncation, CRLF", () => {
    fuzz(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(byteMutation, { maxLength: 2 }),
        fc.boolean(),
        (mutations, byteMutations, crlf) => {
          const lines = [...BASE_LINES];
          for (const m of mutations) mutate(lines, m);
          const bytes = [...Buffer.from(lines.join(crlf ? "\r\n" : "\n"))];
          for (const m of byteMutations) mutateBytes(bytes, m);
          decodeChecked(new Uint8Array(bytes));
        },
      ),
      8_000,
    );
  });

  it("a series twice with different values: its node point or pod is left out, and the result says so", () => {
    fuzz(
      fc.property(pickLine, pickLine, fc.constantFrom("value", "time", "both"), (k, j, what) => {
        const at = KEPT_LINES[k % KEPT_LINES.length];
        const original = BASE_LINES[at];
        const [, value, time] = parts(original);
        const otherValue = value === "0" ? "4096" : "0.5";
        const copy =
          what === "value"
            ? withValue(original, otherValue)
            : withValue(
                original,
                what === "time" ? value : otherValue,
                time === "" ? "" : `${Number(time) + 1}`,
              );
        if (copy === original) return; // a start time has no timestamp to change
        const lines = [...BASE_LINES];
        lines.splice(SAMPLE_LINES[j % SAMPLE_LINES.length], 0, copy);
        const result = decodeChecked(Buffer.from(lines.join("\n")));
        assert.ok("ok" in result);
        const scrape = result.ok;
        const family = original.slice(0, original.search(/[{ ]/));
        if (what === "time" && family.includes("swap")) {
          // Swap never sets a time, so only its value can conflict.
          assert.equal(scrape.problems, undefined);
          return;
        }
        assert.equal(scrape.problems?.cause, "the same series sent twice with different values");
        assert.equal(scrape.problems?.count, 1);
        assert.ok(scrape.problems?.series[0].startsWith(family), scrape.problems?.series[0]);
        const clean = decodeResourceMetrics(BASE, "node-a", 1234);
        const pod = /namespace="([^"]*)",pod="([^"]*)"/.exec(original);
        if (family.includes("swap")) {
          // Swap is extra: only the swap figure becomes unknown.
          if (pod === null) assert.ok(Number.isNaN(scrape.nodeSwapBytes ?? Number.NaN));
          assert.equal(scrape.containerCount, clean.containerCount);
        } else if (pod === null) {
          assert.equal(scrape.nodeTimestampMs, 0);
          assert.equal(scrape.containerCount, clean.containerCount);
        } else {
          for (let i = 0; i < scrape.containerCount; i++)
            assert.ok(
              scrape.namespaces[i] !== pod[1] || scrape.pods[i] !== pod[2],
              `pod ${pod[1]}/${pod[2]} served`,
            );
          assert.ok(scrape.containerCount < clean.containerCount);
          assert.equal(scrape.nodeCpuNs, clean.nodeCpuNs);
        }
      }),
      3_000,
    );
  });

  it("a line sent twice as it was changes nothing", () => {
    const clean = decodeResourceMetrics(BASE, "node-a", 1234);
    fuzz(
      fc.property(pickLine, pickLine, (k, j) => {
        const lines = [...BASE_LINES];
        lines.splice(
          SAMPLE_LINES[j % SAMPLE_LINES.length],
          0,
          BASE_LINES[SAMPLE_LINES[k % SAMPLE_LINES.length]],
        );
        const result = decodeChecked(Buffer.from(lines.join("\n")));
        assert.ok("ok" in result);
        // The later line of cpu or memory sets the point's time, so only the numbers are compared there.
        assert.equal(result.ok.problems, undefined);
        assert.deepEqual(result.ok.cpuNs, clean.cpuNs);
        assert.deepEqual(result.ok.memoryBytes, clean.memoryBytes);
        assert.deepEqual(result.ok.containers, clean.containers);
        assert.equal(result.ok.nodeCpuNs, clean.nodeCpuNs);
      }),
      1_000,
    );
  });
});

describe("the /metrics/resource decoders' fuzz findings", () => {
  const labels = '{container="c",namespace="n",pod="p"}';
  const body = (cpu: string, start = "1.7e9"): string =>
    `container_cpu_usage_seconds_total${labels} ${cpu} 1000\n` +
    `container_memory_working_set_bytes${labels} 4096 1000\n` +
    `container_start_time_seconds${labels} ${start}\n` +
    `node_cpu_usage_seconds_total ${cpu} 1000\nnode_memory_working_set_bytes 4096 1000\n`;

  it("a cpu counter too large for nanoseconds in a double is missing, not Infinity", () => {
    // 1e300 core-seconds × 1e9 overflowed to an infinite counter, served as such.
    const result = decodeChecked(Buffer.from(body("1e300")));
    assert.ok("ok" in result);
    assert.equal(result.ok.containerCount, 0);
    assert.equal(result.ok.nodeTimestampMs, 0);
  });

  it("a start time too large for milliseconds in a double is unknown, not Infinity", () => {
    const result = decodeChecked(Buffer.from(body("5", "1.7976931348623157e308")));
    assert.ok("ok" in result);
    assert.deepEqual([...result.ok.startTimeMs], [0]);
  });

  it("a container with only unusable samples and a zero time is not served", () => {
    // It counted as "never seen" for its pod's completeness, but stayed in the pod's list and was
    // served with zero cpu, memory and time.
    const result = decodeChecked(Buffer.from("container_cpu_usage_seconds_total 0 0\n"));
    assert.ok("ok" in result);
    assert.equal(result.ok.containerCount, 0);
    const mixed = decodeChecked(
      Buffer.from(
        `${body("5")}container_memory_working_set_bytes{container="d",namespace="n",pod="p"} NaN 0\n`,
      ),
    );
    assert.ok("ok" in mixed);
    assert.deepEqual(mixed.ok.containers, ["c"]);
  });

  it("a swap of -0 is 0 bytes, not negative zero", () => {
    const result = decodeChecked(Buffer.from(`${body("5")}node_swap_usage_bytes -0 1000\n`));
    assert.ok("ok" in result);
    assert.ok(Object.is(result.ok.nodeSwapBytes, 0));
  });

  it("the same container's cpu twice with different values drops its pod and says which series", () => {
    const result = decodeChecked(
      Buffer.from(
        `${body("5")}container_cpu_usage_seconds_total{namespace="n",pod="p",container="c"} 6 1000\n`,
      ),
    );
    assert.ok("ok" in result);
    assert.equal(result.ok.containerCount, 0);
    assert.deepEqual(result.ok.problems, {
      cause: "the same series sent twice with different values",
      count: 1,
      series: ['container_cpu_usage_seconds_total{namespace="n",pod="p",container="c"}'],
    });
  });
});
