// Fuzzing the label and field selector parsers (what every list request's query reaches): any text
// gives a selector or a plain Error naming the problem (the API turns it into a 400), never another
// exception; a selector's canonical form parses back to itself; and generated valid selectors
// survive format → parse unchanged. Replaying a failure: test/support/fuzz.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fc, fuzz } from "../../test/support/fuzz.ts";
import { escapeFieldValue, type FieldRequirement, parseFieldSelector } from "./field-selector.ts";
import { type LabelRequirement, labelRequirements, parseLabelSelector } from "./label-selector.ts";

/** `parse(text)`, or undefined when it threw the documented error: a plain Error with a message. */
function parsedOrRejected<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    assert.ok(err instanceof Error && err.constructor === Error, `threw ${String(err)}`);
    assert.ok(err.message.length > 0);
    return undefined;
  }
}

// Text made of the pieces a selector is made of, and some it must reject.
const selectorText = fc.oneof(
  fc.string({
    unit: fc.constantFrom(
      "a",
      "b",
      "1",
      "-",
      "_",
      ".",
      "/",
      "=",
      "==",
      "!",
      "!=",
      ",",
      "(",
      ")",
      "<",
      ">",
      " ",
      "\t",
      "in",
      "notin",
      " in ",
      " notin ",
      "app",
      "x.io/",
      "\\",
      "é",
      "😀",
      "\u0000",
    ),
    maxLength: 24,
  }),
  fc.string({ maxLength: 24 }),
);

const nameChars = fc.constantFrom(..."abcxyzABZ0189-_.");
const alnum = fc.constantFrom(..."abcxyzABZ0189");
/** A qualified name: alphanumeric at both ends, up to 63 characters. */
const qualifiedName = fc
  .tuple(alnum, fc.string({ unit: nameChars, maxLength: 8 }), alnum, fc.boolean())
  .map(([first, middle, last, single]) => (single ? first : first + middle + last));
const dnsLabel = fc
  .tuple(
    fc.constantFrom(..."abz09"),
    fc.string({ unit: fc.constantFrom(..."abz09-"), maxLength: 6 }),
    fc.constantFrom(..."abz09"),
  )
  .map(([a, b, c]) => a + b + c);
const labelKey = fc.oneof(
  qualifiedName,
  fc
    .tuple(fc.array(dnsLabel, { minLength: 1, maxLength: 3 }), qualifiedName)
    .map(([p, n]) => `${p.join(".")}/${n}`),
  fc.constantFrom("in", "notin", "app.kubernetes.io/name"),
);
const labelValue = fc.oneof(qualifiedName, fc.constant(""), fc.constantFrom("in", "notin"));
const requirement: fc.Arbitrary<LabelRequirement> = fc.oneof(
  labelKey.map((key) => ({ key, operator: "exists" as const, values: [] })),
  labelKey.map((key) => ({ key, operator: "!" as const, values: [] })),
  fc
    .tuple(labelKey, fc.constantFrom("=" as const, "==" as const, "!=" as const), labelValue)
    .map(([key, operator, value]) => ({ key, operator, values: [value] })),
  fc
    .tuple(
      labelKey,
      fc.constantFrom("in" as const, "notin" as const),
      fc.array(labelValue, { minLength: 1, maxLength: 4 }),
    )
    .map(([key, operator, values]) => ({ key, operator, values: [...new Set(values)].sort() })),
  fc
    .tuple(labelKey, fc.constantFrom(">" as const, "<" as const), fc.integer({ min: -1e12, max: 1e12 }))
    .map(([key, operator, n]) => ({ key, operator, values: [String(n)] })),
);

/** A requirement as a user could write it, with optional blanks where the grammar allows them. */
function written(r: LabelRequirement, blank: string): string {
  switch (r.operator) {
    case "exists":
      return r.key;
    case "!":
      return `!${blank}${r.key}`;
    case "in":
    case "notin":
      return `${r.key} ${r.operator}${blank}(${blank}${r.values.join(`${blank},${blank}`)}${blank})`;
    default:
      return `${r.key}${blank}${r.operator}${blank}${r.values[0]}`;
  }
}

const byKey = (a: LabelRequirement, b: LabelRequirement): number =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

describe("parseLabelSelector, fuzzed", () => {
  it("any text: a selector whose canonical form parses back to itself, or a plain Error", () => {
    fuzz(
      fc.property(
        selectorText,
        fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })),
        (text, labels) => {
          const selector = parsedOrRejected(() => parseLabelSelector(text));
          if (selector === undefined) return;
          const canonical = selector.toString();
          assert.equal(parseLabelSelector(canonical).toString(), canonical, text);
          assert.equal(typeof selector.matches(labels), "boolean");
        },
      ),
      20_000,
    );
  });

  it("valid requirements, written out: parse to the same requirements", () => {
    fuzz(
      fc.property(
        fc.array(requirement, { minLength: 1, maxLength: 5 }),
        fc.constantFrom("", " ", "  ", "\t"),
        (requirements, blank) => {
          const text = requirements.map((r) => written(r, blank)).join(`${blank},${blank}`);
          const parsed = labelRequirements(parseLabelSelector(text));
          assert.deepEqual(parsed, [...requirements].sort(byKey), text);
          // And the canonical form says the same.
          const canonical = parseLabelSelector(text).toString();
          assert.deepEqual(labelRequirements(parseLabelSelector(canonical)), parsed, canonical);
        },
      ),
      8_000,
    );
  });
});

describe("parseFieldSelector, fuzzed", () => {
  it("any text: requirements or a plain Error", () => {
    fuzz(
      fc.property(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(..."ab.=!,\\ é"), maxLength: 20 }),
          fc.string({ maxLength: 20 }),
        ),
        (text) => {
          const reqs = parsedOrRejected(() => parseFieldSelector(text));
          if (reqs === undefined) return;
          for (const r of reqs) {
            assert.notEqual(r.field, "");
            assert.ok(["=", "==", "!="].includes(r.operator));
          }
        },
      ),
      10_000,
    );
  });

  it("fields with any values, escaped: parse to the same requirements", () => {
    const requirementArb: fc.Arbitrary<FieldRequirement> = fc
      .record({
        field: fc.constantFrom("metadata.name", "metadata.namespace", "spec.nodeName", "a", "status.phase"),
        operator: fc.constantFrom("=" as const, "==" as const, "!=" as const),
        value: fc.oneof(
          fc.string({ maxLength: 10 }),
          fc.string({ unit: fc.constantFrom(..."\\,=!a "), maxLength: 8 }),
        ),
      })
      .map((r) => ({ ...r }));
    fuzz(
      fc.property(fc.array(requirementArb, { minLength: 1, maxLength: 4 }), (reqs) => {
        const text = reqs.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(",");
        assert.deepEqual(parseFieldSelector(text), reqs, text);
      }),
      8_000,
    );
  });
});
