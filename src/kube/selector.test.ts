import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { escapeFieldValue, parseFieldSelector } from "./field-selector.ts";
import { everything, labelRequirements, parseLabelSelector } from "./label-selector.ts";

describe("parseLabelSelector: valid selectors", () => {
  const labels = { app: "web", tier: "front", "example.com/team": "core", empty: "", n: "7" };
  const cases: [selector: string, canonical: string, matches: boolean][] = [
    ["", "", true],
    ["app=web", "app=web", true],
    ["app==web", "app==web", true],
    ["app=db", "app=db", false],
    ["app!=db", "app!=db", true],
    ["app!=web", "app!=web", false],
    ["missing!=x", "missing!=x", true],
    ["app in (db,web)", "app in (db,web)", true],
    ["app in (db)", "app in (db)", false],
    ["app notin (db)", "app notin (db)", true],
    ["missing notin (a)", "missing notin (a)", true],
    ["app", "app", true],
    ["missing", "missing", false],
    ["!missing", "!missing", true],
    ["!app", "!app", false],
    ["empty=", "empty=", true],
    ["app=,tier=front", "app=,tier=front", false],
    ["  tier = front ,  app in ( web , db )  ", "app in (db,web),tier=front", true],
    ["tier=front,app=web", "app=web,tier=front", true],
    ["example.com/team=core", "example.com/team=core", true],
    ["!canary,app in (web)", "app in (web),!canary", true],
    ["app in ()", "app in ()", false],
    ["empty in (,x)", "empty in (,x)", true],
    ["app in (web,web)", "app in (web)", true],
    ["n>5", "n>5", true],
    ["n<5", "n<5", false],
    ["app>5", "app>5", false],
    ["in=x", "in=x", false],
    ["app=in", "app=in", false],
    ["app\tin\n(web)", "app in (web)", true],
  ];
  for (const [sel, canonical, want] of cases) {
    test(JSON.stringify(sel), () => {
      const s = parseLabelSelector(sel);
      assert.equal(s.toString(), canonical);
      assert.equal(s.matches(labels), want);
      assert.equal(s.empty, sel.trim() === "");
      // The canonical form parses back to the same selector.
      assert.equal(parseLabelSelector(s.toString()).toString(), canonical);
    });
  }

  test("undefined labels behave like no labels", () => {
    assert.equal(parseLabelSelector("a!=b,!c").matches(undefined), true);
    assert.equal(parseLabelSelector("a").matches(undefined), false);
    assert.equal(everything().matches(undefined), true);
    assert.equal(everything().empty, true);
    assert.equal(everything().toString(), "");
  });

  test("inherited object properties are not labels", () => {
    assert.equal(parseLabelSelector("constructor").matches({}), false);
    assert.equal(parseLabelSelector("!toString").matches({}), true);
  });

  test("exposes parsed requirements", () => {
    assert.deepEqual(labelRequirements(parseLabelSelector("b notin (y,x),a")), [
      { key: "a", operator: "exists", values: [] },
      { key: "b", operator: "notin", values: ["x", "y"] },
    ]);
  });
});

describe("parseLabelSelector: invalid selectors", () => {
  const cases: [selector: string, message: RegExp][] = [
    ["a b", /unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt/],
    ["a=b c", /found 'c', expected: ',' or 'end of string'/],
    ["a=b,", /found 'end of string', expected: identifier after ','/],
    [",a=b", /found ',', expected: !, identifier, or 'end of string'/],
    ["a=(", /unable to parse requirement: found '\(', expected: identifier/],
    ["a in b", /found 'b', expected: '\('/],
    ["a in (b c)", /found 'c', expected: ',' or '\)'/],
    ["a in (b", /found 'end of string', expected: ',', or identifier/],
    ["!a=b", /found '=', expected: ',' or 'end of string'/],
    ["!", /found 'end of string', expected: identifier/],
    ["a=-b", /values\[0\]\[a\]: Invalid value: "-b": a valid label must be an empty string/],
    ["a in (ok,b_)", /values\[1\]\[a\]: Invalid value: "b_"/],
    [`a=${"x".repeat(64)}`, /must be no more than 63 characters/],
    ["-a=b", /key: Invalid value: "-a": name part must consist of alphanumeric/],
    ["Example.com/a=b", /prefix part a lowercase RFC 1123 subdomain/],
    ["/a=b", /prefix part must be non-empty/],
    ["a/=b", /name part must be non-empty/],
    ["a/b/c", /a qualified name must consist of/],
    [`${"k".repeat(64)}=v`, /name part must be no more than 63 characters/],
    ["a>b", /for 'Gt', 'Lt' operators, the value must be an integer/],
    ["a>", /for 'Gt', 'Lt' operators, the value must be an integer/],
  ];
  for (const [sel, message] of cases) {
    test(JSON.stringify(sel), () => {
      assert.throws(() => parseLabelSelector(sel), message);
    });
  }
});

// ---- properties -----------------------------------------------------------------------------------

type Op = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | ">" | "<";
interface Req {
  key: string;
  op: Op;
  values: readonly string[];
}

const keys = ["a", "b", "app", "example.com/tier", "x_y.z"];
const values = ["", "v", "w", "1", "a.b", "in"];
const ints = ["0", "5", "-3", "12"];

const reqArb: fc.Arbitrary<Req> = fc.oneof(
  fc.record({
    key: fc.constantFrom(...keys),
    op: fc.constantFrom<Op>("=", "==", "!="),
    values: fc.tuple(fc.constantFrom(...values)).map((v) => [...v]),
  }),
  fc.record({
    key: fc.constantFrom(...keys),
    op: fc.constantFrom<Op>("in", "notin"),
    values: fc.array(fc.constantFrom(...values), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    key: fc.constantFrom(...keys),
    op: fc.constantFrom<Op>("exists", "!"),
    values: fc.constant([]),
  }),
  fc.record({
    key: fc.constantFrom(...keys),
    op: fc.constantFrom<Op>(">", "<"),
    values: fc.tuple(fc.constantFrom(...ints)).map((v) => [...v]),
  }),
);

const spaceArb = fc.constantFrom("", " ", "  ", "\t");

function render(r: Req, sp: string): string {
  switch (r.op) {
    case "exists":
      return `${sp}${r.key}${sp}`;
    case "!":
      return `${sp}!${sp}${r.key}${sp}`;
    case "in":
    case "notin":
      // A lone empty value must be written `()`; elsewhere empty entries are just gaps between commas.
      return `${sp}${r.key} ${r.op}${sp}(${r.values.join(`${sp},${sp}`)})${sp}`;
    default:
      return `${sp}${r.key}${sp}${r.op}${sp}${r.values[0]}${r.values[0] === "" ? "" : sp}`;
  }
}

function naiveMatch(reqs: Req[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const has = Object.keys(labels).includes(r.key);
    const v = labels[r.key];
    switch (r.op) {
      case "=":
      case "==":
        return has && v === r.values[0];
      case "!=":
        return !has || v !== r.values[0];
      case "in":
        return has && r.values.includes(v);
      case "notin":
        return !has || !r.values.includes(v);
      case "exists":
        return has;
      case "!":
        return !has;
      case ">":
        return has && /^-?\d+$/.test(v) && Number.parseInt(v, 10) > Number.parseInt(r.values[0], 10);
      case "<":
        return has && /^-?\d+$/.test(v) && Number.parseInt(v, 10) < Number.parseInt(r.values[0], 10);
      default:
        throw new Error(`unknown operator ${r.op}`);
    }
  });
}

const labelsArb = fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values, ...ints), {
  maxKeys: 5,
});

describe("label selector properties", () => {
  test("toString() round-trips through parseLabelSelector", () => {
    fc.assert(
      fc.property(fc.array(reqArb, { maxLength: 5 }), spaceArb, labelsArb, (reqs, sp, labels) => {
        const sel = parseLabelSelector(reqs.map((r) => render(r, sp)).join(","));
        const again = parseLabelSelector(sel.toString());
        assert.equal(again.toString(), sel.toString());
        assert.equal(again.matches(labels), sel.matches(labels));
      }),
    );
  });

  test("matches() agrees with a naive evaluator", () => {
    fc.assert(
      fc.property(fc.array(reqArb, { maxLength: 5 }), spaceArb, labelsArb, (reqs, sp, labels) => {
        const sel = parseLabelSelector(reqs.map((r) => render(r, sp)).join(","));
        assert.equal(sel.matches(labels), naiveMatch(reqs, labels));
      }),
    );
  });

  test("arbitrary input never throws anything but an Error", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          parseLabelSelector(s).matches({ a: "b" });
        } catch (err) {
          assert.ok(err instanceof Error && err.message.length > 0);
        }
      }),
    );
  });
});

describe("parseFieldSelector", () => {
  test("operators and multiple terms", () => {
    assert.deepEqual(parseFieldSelector("metadata.name=a,metadata.namespace!=b,x==c"), [
      { field: "metadata.name", operator: "=", value: "a" },
      { field: "metadata.namespace", operator: "!=", value: "b" },
      { field: "x", operator: "==", value: "c" },
    ]);
  });

  test("empty selector and empty terms", () => {
    assert.deepEqual(parseFieldSelector(""), []);
    assert.deepEqual(parseFieldSelector("a=b,,"), [{ field: "a", operator: "=", value: "b" }]);
    assert.deepEqual(parseFieldSelector("a="), [{ field: "a", operator: "=", value: "" }]);
  });

  test("escapes", () => {
    assert.deepEqual(parseFieldSelector(String.raw`a=x\,y\=z\\w\!`), [
      { field: "a", operator: "=", value: "x,y=z\\w!" },
    ]);
    assert.deepEqual(parseFieldSelector(String.raw`a!=b\,c,d=e`), [
      { field: "a", operator: "!=", value: "b,c" },
      { field: "d", operator: "=", value: "e" },
    ]);
  });

  test("errors", () => {
    assert.throws(() => parseFieldSelector("abc"), /invalid selector: 'abc'; can't understand 'abc'/);
    assert.throws(() => parseFieldSelector("a=b=c"), /unescaped character "="/);
    assert.throws(() => parseFieldSelector("a=b\\"), /invalid escape sequence/);
    assert.throws(() => parseFieldSelector("a=\\q"), /invalid escape sequence: \\q/);
    assert.throws(() => parseFieldSelector("=b"), /field name is empty/);
  });

  test("escapeFieldValue round-trips", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (v) => {
        assert.deepEqual(parseFieldSelector(`f=${escapeFieldValue(v)}`), [
          { field: "f", operator: "=", value: v },
        ]);
      }),
    );
  });
});
