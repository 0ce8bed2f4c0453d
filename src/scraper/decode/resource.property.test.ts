// The decoder (resource.ts) must agree with the straightforward one it replaced
// (test/support/reference-resource-decoder.ts) on every input: the same NodeScrape, or the same error
// message.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeResourceMetricsReference } from "../../../test/support/reference-resource-decoder.ts";
import { renderResourceBody } from "../../../test/support/resource-body.ts";
import { asciiLine, line } from "../../../test/support/resource-lines.ts";
import { decodeResourceMetrics } from "./resource.ts";

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
