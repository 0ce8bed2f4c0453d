// The decoder (resource.ts) must agree with the straightforward one it replaced
// (test/support/reference-resource-decoder.ts) on every input: the same NodeScrape, or the same error
// message.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  decodeResourceMetricsReference,
  parseLabels,
  parseTimestamp,
} from "../../../test/support/reference-resource-decoder.ts";
import { formatGoFloat, renderResourceBody } from "../../../test/support/resource-body.ts";
import { type LabelSpans, parseLabelBytes } from "./labels.ts";
import {
  decimalEnd,
  goFloatBytes,
  parseGoFloat,
  readDecimal,
  readTimestamp,
  scanned,
  timestampBytes,
} from "./numbers.ts";
import { decodeResourceMetrics } from "./resource.ts";
import { tokenEnd } from "./syntax.ts";

type Outcome = { ok: unknown } | { error: string };

function outcome(decode: () => unknown): Outcome {
  try {
    return { ok: decode() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The reference's outcome for `body` is what decodeResourceMetrics gives for it as a string and as
 * bytes: a Buffer, a plain Uint8Array, and a view that does not start at its buffer's first byte.
 * (The reference reads bytes after a UTF-8 decode of the whole body; the decoder reads them as bytes.)
 */
function assertSame(body: string | Uint8Array): void {
  const interned = new Map<string, string>();
  const intern = (s: string): string => {
    const hit = interned.get(s);
    if (hit !== undefined) return hit;
    interned.set(s, s);
    return s;
  };
  const expected = outcome(() => decodeResourceMetricsReference(body, "node-a", 1234, intern));
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3);
  const forms: [string, string | Uint8Array][] = [
    ["given", body],
    ["Buffer", Buffer.from(bytes)],
    ["Uint8Array", new Uint8Array(bytes)],
    ["offset view", padded.subarray(3)],
  ];
  for (const [form, input] of forms) {
    const actual = outcome(() => decodeResourceMetrics(input, "node-a", 1234, intern));
    assert.deepEqual(
      actual,
      expected,
      `${form} body: ${JSON.stringify(typeof body === "string" ? body : Buffer.from(body).toString("latin1"))}`,
    );
  }
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
const ASCII_UNITS = ["a", "b", "-", "}", "{", '"', "\\", "\\n", "\\q", ",", " ", "=", "\r", "/"];
/** Label set texts whose values are made of `units` (some with escapes, quotes and braces). */
function labelSetOf(units: string[]): fc.Arbitrary<string> {
  const labelValue = fc.string({ unit: fc.constantFrom(...units), maxLength: 5 });
  const label = fc.tuple(
    fc.constantFrom("container", "namespace", "pod", "other", "pod_x", ":bad", "containe"),
    labelValue,
    fc.constantFrom("", " ", "\t"),
  );
  return fc.oneof(
    fc.constant(""),
    fc.constant("{}"),
    fc
      .array(label, { maxLength: 4 })
      .map((ls) => `{${ls.map(([k, v, blank]) => `${blank}${k}${blank}=${blank}"${v}"`).join(",")}}`),
    fc.constantFrom('{container="a",namespace="n",pod="p"}', '{ container = "a" , namespace="n",pod="p" }'),
    fc.constantFrom('{container="a"', '{container="a",}', "{container=a}", '{container="a"} }'),
  );
}
// Non-ASCII units: two- and four-byte UTF-8, escaped or not, and a byte order mark inside a value.
const labelSet = labelSetOf([...ASCII_UNITS, "é", "\\é", "😀", "\\😀", "\uFEFF"]);
const asciiLabelSet = labelSetOf(ASCII_UNITS);
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
  fc.constantFrom(
    " -5",
    " +17",
    " 1.5",
    " 99999999999999999999",
    " 123456789012345",
    " 1234567890123456",
    " 12 junk",
    " 12 ",
    " 12\r",
    " 1\r2",
  ),
);
function lineOf(labels: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(
          fc.constantFrom("", " "),
          familyName,
          labels,
          fc.constantFrom(" ", "\t", "  ", ""),
          value,
          timestamp,
          fc.constantFrom("", "", " ", "\r"),
        )
        .map((p) => p.join("")),
    },
    { weight: 1, arbitrary: fc.constantFrom("# HELP x y", "", "  ", "\r", "\r\r", "garbage {", "  # x") },
  );
}
const line = lineOf(labelSet);
const asciiLine = lineOf(asciiLabelSet);

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

  it("on arbitrary ASCII lines (the byte decoder's input), in runs that repeat label sets", () => {
    // Lines are drawn from a small pool so that label sets recur, in and out of order, across runs
    // of the same or different families.
    fc.assert(
      fc.property(
        fc.array(asciiLine, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 16 }),
        fc.constantFrom("\n", "\r\n"),
        fc.boolean(),
        (pool, picks, eol, trailingEol) => {
          const lines = picks.map((k) => pool[k % pool.length]);
          assertSame(lines.join(eol) + (trailingEol ? eol : ""));
        },
      ),
      { numRuns: 4000 },
    );
  });

  it("on realistic bodies whose runs list their label sets in another order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 10 }),
        fc.boolean(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        (pods, containersPerPod, swap, seeds) => {
          const lines = renderResourceBody({ node: 3, pods, containersPerPod, swap }).split("\n");
          // Shuffle each run of sample lines of one family (lines not starting with '#').
          let k = 0;
          for (let start = 0; start < lines.length; ) {
            let end = start;
            while (end < lines.length && lines[end] !== "" && !lines[end].startsWith("#")) end++;
            for (let i = end - 1; i > start; i--) {
              const j = start + (seeds[k++ % seeds.length] % (i - start + 1));
              [lines[i], lines[j]] = [lines[j], lines[i]];
            }
            start = end + 1;
          }
          assertSame(lines.join("\n"));
        },
      ),
      { numRuns: 200 },
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
          assertSame(lines.join("\n").replaceAll("é", "e"));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("on bodies with UTF-8 and invalid bytes anywhere, a leading byte order mark included", () => {
    const inserted = fc.constantFrom(
      [0xc3, 0xa9], // é
      [0xf0, 0x9f, 0x98, 0x80], // 😀
      [0xef, 0xbb, 0xbf], // a byte order mark
      [0xff],
      [0x80],
      [0xc3], // the first byte of two, alone
      [0xe2, 0x82], // two bytes of three
    );
    const realistic = renderResourceBody({ node: 5, pods: 3, containersPerPod: 2, swap: true });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(line, { maxLength: 8 }).map((lines) => lines.join("\n")),
          fc.constant(realistic),
        ),
        fc.array(fc.tuple(fc.nat(), inserted), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (text, inserts, bom) => {
          const bytes = [...Buffer.from(text)];
          for (const [at, b] of inserts) bytes.splice(at % (bytes.length + 1), 0, ...b);
          if (bom) bytes.unshift(0xef, 0xbb, 0xbf);
          assertSame(new Uint8Array(bytes));
        },
      ),
      { numRuns: 3000 },
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

/** The byte twin's outcome for a token: its number, undefined, or its error. */
function byteOutcome(read: () => number | undefined): { ok: number | undefined } | { error: string } {
  try {
    return { ok: read() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The decimal text of n / 10^places (n ≥ 0), e.g. (12345n, 2) → "123.45". */
function decimalText(n: bigint, places: number): string {
  const digits = n.toString().padStart(places + 1, "0");
  return places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

// Decimals of 16 to 19 digits, which readDecimal computes exactly without a string (nearestDecimal).
const longDecimal = fc.oneof(
  // Any digits, any dot position, maybe an exponent that moves it.
  fc
    .tuple(
      fc.bigInt({ min: 10n ** 15n, max: 10n ** 19n - 1n }),
      fc.integer({ min: 0, max: 18 }),
      fc.integer({ min: -3, max: 3 }),
    )
    .map(([n, places, exp]) => decimalText(n, places) + (exp === 0 ? "" : `e${exp}`)),
  // Exactly halfway between two doubles (ties go to the even one): (2^53 + 2j + 1) / 2^(k+1).
  fc
    .tuple(fc.bigInt({ min: 0n, max: 2n ** 52n - 1n }), fc.integer({ min: 0, max: 3 }))
    .map(([j, k]) => decimalText((2n ** 53n + 2n * j + 1n) * 5n ** BigInt(k + 1), k + 1)),
  // One unit of the last digit either side of such a halfway point.
  fc
    .tuple(
      fc.bigInt({ min: 0n, max: 2n ** 52n - 1n }),
      fc.integer({ min: 0, max: 3 }),
      fc.constantFrom(-1n, 1n),
    )
    .map(([j, k, off]) => decimalText((2n ** 53n + 2n * j + 1n) * 5n ** BigInt(k + 1) + off, k + 1)),
  // Odd integers above 2^53 (halfway when below 2^54) and their neighbours.
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n }).map((n) => (n | 1n).toString()),
);

const valueToken = fc.oneof(
  longDecimal,
  longDecimal.map((t) => `-${t}`),
  fc.double().map(formatGoFloat),
  fc.double().map(String),
  fc.double().map((v) => v.toExponential()),
  fc.double().map((v) => v.toFixed(Math.abs(v) < 1e15 ? 6 : 0)),
  // Start times as kubelets write them: 10 integer digits and up to 9 more.
  fc
    .integer({ min: 1e9, max: 2e9 })
    .chain((s) => fc.nat(999_999_999).map((ns) => formatGoFloat(s + ns / 1e9))),
  fc.stringMatching(/^[+-]?\d{0,20}(\.\d{0,20})?([eE][+-]?\d{1,5})?$/),
  fc.constantFrom("9007199254740991", "9007199254740992", "9007199254740993", "0.9007199254740993"),
  fc.constantFrom("+Inf", "-inf", "NaN", "0x1p-2", "-0x1.8p1", "1e", "1.2.3", "--1", ".", "1e400", "+.5"),
);

describe("the byte parsers agree with the string ones", () => {
  it("readDecimal, else goFloatBytes: parseGoFloat's value for every token", () => {
    fc.assert(
      fc.property(valueToken, fc.constantFrom(" ", "\t", "\n", "\r\n", "\r", "", "\rq"), (t, after) => {
        const bytes = Buffer.from(`x${t}${after}`);
        const end = 1 + t.length;
        if (after === "\rq") {
          // A CR that does not end the line is part of the token, so the number is not the token.
          assert.equal(readDecimal(bytes, 1), false, t);
          assert.equal(decimalEnd(bytes, 1), -1, t);
          return;
        }
        assert.equal(tokenEnd(bytes, 1), end === 1 ? 1 : end, t);
        const fast = t !== "" && readDecimal(bytes, 1);
        if (fast) assert.equal(scanned.end, end, t);
        const value = fast ? scanned.number[0] : goFloatBytes(bytes, 1, end);
        assert.equal(value, parseGoFloat(t), t);
        // A number followed by anything but a blank or the line's end is not the whole token.
        if (t !== "") assert.equal(readDecimal(Buffer.from(`x${t}q`), 1), false, t);
        const plain = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(t);
        assert.equal(decimalEnd(bytes, 1), plain ? end : -1, t);
      }),
      { numRuns: 20_000 },
    );
  });

  it("readTimestamp, else timestampBytes: parseTimestamp's value or error for every token", () => {
    const token = fc.oneof(
      fc.nat().map(String),
      fc.bigInt({ min: 0n, max: 10n ** 22n }).map(String),
      fc.stringMatching(/^[+-]?\d{1,18}$/),
      fc.constantFrom("1.5", "12a", "+", "-", "+7", "0", "000000000000001", "9007199254740993"),
    );
    fc.assert(
      fc.property(token, fc.constantFrom(" ", "\n", "\r\n", ""), (t, after) => {
        const bytes = Buffer.from(`x${t}${after}`);
        const end = 1 + t.length;
        const expected = byteOutcome(() => parseTimestamp(t, 7));
        const fast = readTimestamp(bytes, 1);
        if (fast) assert.equal(scanned.end, end, t);
        const actual = fast
          ? { ok: scanned.number[0] }
          : byteOutcome(() => timestampBytes(bytes, 1, tokenEnd(bytes, 1), 7));
        assert.deepEqual(actual, expected, t);
      }),
      { numRuns: 10_000 },
    );
  });

  it("parseLabelBytes: parseLabels' values, end or error for every label set", () => {
    fc.assert(
      fc.property(asciiLabelSet, fc.constantFrom(" 1", "\n", "\r\n", "", "\r"), (set, after) => {
        if (!set.startsWith("{")) return;
        const text = `m${set}${after}`;
        const bytes = Buffer.from(text);
        let stop = text.indexOf("\n");
        if (stop < 0) stop = text.length;
        if (stop > 0 && text[stop - 1] === "\r") stop--;
        const labels = { container: "", namespace: "", pod: "" };
        const expected = byteOutcome(() => parseLabels(text, 2, stop, 3, labels));
        const spans: LabelSpans = {
          containerStart: 0,
          containerEnd: 0,
          containerText: "",
          namespaceStart: 0,
          namespaceEnd: 0,
          namespaceText: "",
          podStart: 0,
          podEnd: 0,
          podText: "",
        };
        const actual = byteOutcome(() => parseLabelBytes(bytes, 2, 3, spans));
        assert.deepEqual(actual, expected, text);
        if ("error" in actual) return;
        const spanText = (start: number, end: number, escaped: string): string =>
          start < 0 ? escaped : text.slice(start, end);
        assert.deepEqual(
          {
            container: spanText(spans.containerStart, spans.containerEnd, spans.containerText),
            namespace: spanText(spans.namespaceStart, spans.namespaceEnd, spans.namespaceText),
            pod: spanText(spans.podStart, spans.podEnd, spans.podText),
          },
          labels,
          text,
        );
      }),
      { numRuns: 10_000 },
    );
  });
});

describe("readDecimal, else goFloatBytes", () => {
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
        const padded = Buffer.from(`x${t} `);
        const end = tokenEnd(padded, 1);
        const value = end > 1 && readDecimal(padded, 1) ? scanned.number[0] : goFloatBytes(padded, 1, end);
        assert.equal(value, parseGoFloat(t), t);
      }),
      { numRuns: 20_000 },
    );
  });
});
