// The decoder's token readers (numbers.ts, labels.ts) agree with the reference decoder's, and with
// Go's float syntax, token by token.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseLabels, parseTimestamp } from "../../../test/support/reference-resource-decoder.ts";
import { formatGoFloat } from "../../../test/support/resource-body.ts";
import { asciiLabelSet } from "../../../test/support/resource-lines.ts";
import { parseGoFloat } from "../../go/index.ts";
import { type LabelSpans, parseLabelBytes } from "./labels.ts";
import { decimalEnd, goFloatBytes, readDecimal, readTimestamp, scanned, timestampBytes } from "./numbers.ts";
import { tokenEnd } from "./syntax.ts";

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

describe("the byte parsers agree with the reference decoder's", () => {
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
