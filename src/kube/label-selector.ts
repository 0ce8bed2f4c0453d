// Kubernetes label selectors, with the grammar, validation and matching rules of apimachinery's
// labels.Parse. The HPA sends set-based selectors taken from a scale subresource (e.g.
// `app in (a,b),!canary`), so the whole grammar is needed, not just `k=v`.

import { invalid, validateLabelKey, validateLabelValue } from "./label-validation.ts";

export interface LabelSelector {
  /** True when the selector has no requirements (it matches everything). */
  readonly empty: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  /** Canonical form: requirements sorted by key, set values sorted; parses back to an equal selector. */
  toString(): string;
}

export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | ">" | "<";

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted and de-duplicated; empty for `exists` and `!`. */
  readonly values: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Lexer. Identifiers are runs of anything that is neither whitespace nor one of `=!(),<>`; symbols
// are scanned greedily (`==`, `!=`), and `in`/`notin` are keywords only where an operator may appear.

type TokenKind = "id" | "in" | "notin" | "=" | "==" | "!=" | "!" | "(" | ")" | "," | ">" | "<" | "eos";

interface Token {
  kind: TokenKind;
  text: string;
}

const SYMBOL_CHARS = new Set(["=", "!", "(", ")", ",", ">", "<"]);
const SYMBOL_TOKENS = new Set(["=", "==", "!=", "!", "(", ")", ",", ">", "<"]);

function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\r" || ch === "\n";
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (isWhitespace(ch)) {
      i++;
    } else if (SYMBOL_CHARS.has(ch)) {
      let text = ch;
      i++;
      while (i < input.length && SYMBOL_TOKENS.has(text + input[i])) text += input[i++];
      tokens.push({ kind: text as TokenKind, text });
    } else {
      const start = i;
      while (i < input.length && !isWhitespace(input[i]) && !SYMBOL_CHARS.has(input[i])) i++;
      const text = input.slice(start, i);
      tokens.push({ kind: text === "in" || text === "notin" ? text : "id", text });
    }
  }
  tokens.push({ kind: "eos", text: "end of string" });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser (recursive descent over the token list).

class SelectorParser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(input: string) {
    this.tokens = tokenize(input);
  }

  // In value position the keywords are ordinary identifiers (`k=in` and `in=x` are valid).
  private peek(asValue: boolean): Token {
    const t = this.tokens[this.pos];
    return asValue && (t.kind === "in" || t.kind === "notin") ? { kind: "id", text: t.text } : t;
  }

  private next(asValue: boolean): Token {
    const t = this.peek(asValue);
    if (t.kind !== "eos") this.pos++;
    return t;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const t = this.peek(true);
      if (t.kind === "eos") return reqs;
      if (t.kind !== "id" && t.kind !== "!")
        throw new Error(`found '${t.text}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.parseRequirement());
      } catch (err) {
        throw new Error(`unable to parse requirement: ${(err as Error).message}`);
      }
      const sep = this.next(true);
      if (sep.kind === "eos") return reqs;
      if (sep.kind !== ",") throw new Error(`found '${sep.text}', expected: ',' or 'end of string'`);
      const after = this.peek(true);
      if (after.kind !== "id" && after.kind !== "!")
        throw new Error(`found '${after.text}', expected: identifier after ','`);
    }
  }

  private parseRequirement(): LabelRequirement {
    let t = this.next(true);
    let negated = false;
    if (t.kind === "!") {
      negated = true;
      t = this.next(true);
    }
    if (t.kind !== "id") throw new Error(`found '${t.text}', expected: identifier`);
    const key = t.text;
    const keyErrs = validateLabelKey(key);
    if (keyErrs.length > 0) throw new Error(invalid("key", key, keyErrs.join("; ")));
    if (negated) return { key, operator: "!", values: [] };
    const la = this.peek(true);
    if (la.kind === "eos" || la.kind === ",") return { key, operator: "exists", values: [] };

    const op = this.next(false);
    let values: string[];
    switch (op.kind) {
      case "in":
      case "notin":
        values = this.parseSetValues();
        break;
      case "=":
      case "==":
      case "!=":
      case ">":
      case "<":
        values = [this.parseExactValue()];
        break;
      default:
        throw new Error(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    const operator = op.kind as LabelOperator;
    if (operator === ">" || operator === "<") {
      if (!/^[+-]?\d+$/.test(values[0]) || !Number.isSafeInteger(Number(values[0])))
        throw new Error(
          invalid("values[0]", values[0], "for 'Gt', 'Lt' operators, the value must be an integer"),
        );
    } else {
      values.forEach((v, i) => {
        const errs = validateLabelValue(v);
        if (errs.length > 0) throw new Error(invalid(`values[${i}][${key}]`, v, errs.join("; ")));
      });
    }
    return { key, operator, values: [...new Set(values)].sort() };
  }

  // `k=` and `k=,x=y` mean the empty value.
  private parseExactValue(): string {
    const la = this.peek(true);
    if (la.kind === "eos" || la.kind === ",") return "";
    const t = this.next(true);
    if (t.kind !== "id") throw new Error(`found '${t.text}', expected: identifier`);
    return t.text;
  }

  // `(a,b)`; as in apimachinery, empty entries (`()`, `(,a)`, `(a,)`) stand for the empty value.
  private parseSetValues(): string[] {
    const open = this.next(true);
    if (open.kind !== "(") throw new Error(`found '${open.text}', expected: '('`);
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const t = this.next(true);
      if (t.kind === ")") {
        if (expectValue) values.push("");
        return values;
      }
      if (t.kind === "id" && expectValue) {
        values.push(t.text);
        expectValue = false;
      } else if (t.kind === ",") {
        if (expectValue) values.push("");
        expectValue = true;
      } else if (t.kind === "id") {
        throw new Error(`found '${t.text}', expected: ',' or ')'`);
      } else {
        throw new Error(`found '${t.text}', expected: ',', or identifier`);
      }
    }
  }
}

function requirementMatches(
  r: LabelRequirement,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case "exists":
      return has;
    case "!":
      return !has;
    case "=":
    case "==":
    case "in":
      return has && r.values.includes(value as string);
    case "!=":
    case "notin":
      return !has || !r.values.includes(value as string);
    case ">":
    case "<": {
      // Non-integer label values never match, as in apimachinery.
      if (!has || !/^[+-]?\d+$/.test(value as string)) return false;
      const actual = Number(value);
      const wanted = Number(r.values[0]);
      return r.operator === ">" ? actual > wanted : actual < wanted;
    }
  }
}

function requirementString(r: LabelRequirement): string {
  switch (r.operator) {
    case "exists":
      return r.key;
    case "!":
      return `!${r.key}`;
    case "in":
    case "notin":
      return `${r.key} ${r.operator} (${r.values.join(",")})`;
    default:
      return `${r.key}${r.operator}${r.values[0]}`;
  }
}

class RequirementsSelector implements LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  readonly empty: boolean;
  private readonly text: string;

  constructor(requirements: LabelRequirement[]) {
    // Stable sort by key, as apimachinery does, so the string form is canonical.
    this.requirements = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.empty = requirements.length === 0;
    this.text = this.requirements.map(requirementString).join(",");
  }

  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    for (const r of this.requirements) if (!requirementMatches(r, labels)) return false;
    return true;
  }

  toString(): string {
    return this.text;
  }
}

/** Parses a label selector; throws an Error naming the problem on bad syntax or invalid keys/values. */
export function parseLabelSelector(s: string): LabelSelector {
  return new RequirementsSelector(new SelectorParser(s).parse());
}

/** The selector that matches every object. */
export function everything(): LabelSelector {
  return new RequirementsSelector([]);
}

/** The requirements of a selector made by parseLabelSelector (empty for others). */
export function labelRequirements(sel: LabelSelector): readonly LabelRequirement[] {
  return sel instanceof RequirementsSelector ? sel.requirements : [];
}
