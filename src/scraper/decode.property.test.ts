// The optimised decoder (decode.ts) must agree with the straightforward one it replaced
// (decode-reference.ts) on every input: the same NodeScrape, or the same error message.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeResourceMetrics } from "./decode.ts";
import { decodeResourceMetricsReference } from "./decode-reference.ts";
import { parseGoFloat, parseValue } from "./prom-text.ts";
import { formatGoFloat, renderResourceBody } from "./resource-fixture.ts";

type Outcome = { ok: unknown } | { error: string };

function outcome(decode: () => unknown): Outcome {
  try {
    return { ok: decode() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

function assertSame(body: string | Uint8Array): void {
  const interned = new Map<string, string>();
  const intern = (s: string): string => {
    const hit = interned.get(s);
    if (hit !== undefined) return hit;
    interned.set(s, s);
    return s;
  };
  const expected = outcome(() => decodeResourceMetricsReference(body, "node-a", 1234, intern));
  const actual = outcome(() => decodeResourceMetrics(body, "node-a", 1234, intern));
  assert.deepEqual(actual, expected, `body: ${JSON.stringify(typeof body === "string" ? body : "<bytes>")}`);
}

// Pieces a kubelet line is made of, plus the ways it can go wrong: odd spacing, braces and escapes in
// label values, extra labels, swapped label order, special floats, bad tokens.
const familyName = fc.constantFrom(
  "container_cpu_usage_seconds_total",
  "container_memory_working_set_bytes",
  "container_start_time_seconds",
  "container_swap_usage_bytes",
  "node_cpu_usage_seconds_total",
  "node_memory_working_set_bytes",
  "node_swap_usage_bytes",
  "pod_cpu_usage_seconds_total",
  "container_cpu_usage_seconds_total_extra",
  "node_cpu",
  "scrape_error",
  "9bad",
);
const labelValue = fc.string({
  unit: fc.constantFrom("a", "b", "-", "}", "{", '"', "\\", "\\n", ",", " ", "é", "="),
  maxLength: 5,
});
const label = fc.tuple(
  fc.constantFrom("container", "namespace", "pod", "other", "pod_x", ":bad"),
  labelValue,
);
const labelSet = fc.oneof(
  fc.constant(""),
  fc.constant("{}"),
  fc.array(label, { maxLength: 4 }).map((ls) => `{${ls.map(([k, v]) => `${k}="${v}"`).join(",")}}`),
  fc.constantFrom('{container="a",namespace="n",pod="p"}', '{ container = "a" , namespace="n",pod="p" }'),
  fc.constantFrom('{container="a"', '{container="a",}', "{container=a}", '{container="a"} }'),
);
const value = fc.oneof(
  fc.double().map((v) => formatGoFloat(v)),
  fc.double().map((v) => String(v)),
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.constantFrom(
    "+Inf",
    "-Inf",
    "NaN",
    "nan",
    "0x1p-2",
    ".5",
    "5.",
    "-0",
    "1e",
    "1e+",
    "1.2.3",
    "",
    "}",
    "1e400",
    "123456789012345678",
  ),
);
const timestamp = fc.oneof(
  fc.constant(""),
  fc.integer({ min: 0, max: 2 ** 45 }).map((t) => ` ${t}`),
  fc.constantFrom(" -5", " +17", " 1.5", " 99999999999999999999", " 12 junk"),
);
const line = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(familyName, labelSet, fc.constantFrom(" ", "\t", "  "), value, timestamp)
      .map((p) => p.join("")),
  },
  { weight: 1, arbitrary: fc.constantFrom("# HELP x y", "", "  ", "\r", "garbage {") },
);

describe("decodeResourceMetrics agrees with the reference decoder", () => {
  it("on realistic bodies of many shapes, repeated label sets included", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 5 }),
        (node, pods, containersPerPod, swap, tick) => {
          const body = renderResourceBody({ node, pods, containersPerPod, swap, tick });
          assertSame(body);
          assertSame(Buffer.from(body));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("on arbitrary lines, valid or not", () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 14 }), fc.constantFrom("\n", "\r\n"), (lines, eol) => {
        assertSame(lines.join(eol));
      }),
      { numRuns: 3000 },
    );
  });

  it("on a realistic body with a line replaced, duplicated or moved", () => {
    const base = renderResourceBody({ node: 7, pods: 3, containersPerPod: 2, swap: true }).split("\n");
    fc.assert(
      fc.property(
        fc.nat(base.length - 1),
        fc.nat(base.length - 1),
        line,
        fc.constantFrom("replace", "dup", "move"),
        (i, j, l, how) => {
          const lines = [...base];
          if (how === "replace") lines[i] = l;
          else if (how === "dup") lines.splice(j, 0, lines[i]);
          else lines.splice(j, 0, ...lines.splice(i, 1));
          assertSame(lines.join("\n"));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("on non-ASCII bytes and invalid UTF-8", () => {
    assertSame(Buffer.from('container_cpu_usage_seconds_total{container="é",namespace="ñ",pod="p"} 1 2\n'));
    assertSame(
      new Uint8Array([
        ...Buffer.from('node_cpu_usage_seconds_total{a="'),
        0xff,
        0xfe,
        ...Buffer.from('"} 1 2\n'),
      ]),
    );
  });
});

describe("parseValue", () => {
  it("gives Number()'s double for every plain decimal, and parseGoFloat's answer otherwise", () => {
    const token = fc.oneof(
      fc.double().map(formatGoFloat),
      fc.double().map(String),
      fc.double().map((v) => v.toExponential()),
      fc.double().map((v) => v.toFixed(Math.abs(v) < 1e15 ? 6 : 0)),
      fc.stringMatching(/^[+-]?\d{0,18}(\.\d{0,18})?([eE][+-]?\d{1,5})?$/),
    );
    fc.assert(
      fc.property(token, (t) => {
        const padded = `x${t} `;
        assert.equal(parseValue(padded, 1, 1 + t.length), parseGoFloat(t), t);
      }),
      { numRuns: 20_000 },
    );
  });
});
