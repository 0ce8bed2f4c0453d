// Kubernetes field selectors, as apimachinery's fields.ParseSelector: comma-separated `field=value`,
// `field==value`, `field!=value`. In values, `\` escapes `\`, `,`, `=` (and `!`, harmlessly); an
// unescaped `,` splits terms.

export interface FieldRequirement {
  field: string;
  operator: "=" | "==" | "!=";
  value: string;
}

function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === ",") {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const FIELD_OPERATORS = ["!=", "==", "="] as const;

function splitTerm(term: string): FieldRequirement | undefined {
  for (let i = 0; i < term.length; i++) {
    if (term[i] === "\\") {
      i++;
      continue;
    }
    for (const op of FIELD_OPERATORS) {
      if (term.startsWith(op, i))
        return { field: term.slice(0, i), operator: op, value: term.slice(i + op.length) };
    }
  }
  return undefined;
}

function unescapeFieldValue(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const ch = v[i];
    if (ch === "\\") {
      const nextCh = v[i + 1];
      if (nextCh === "\\" || nextCh === "," || nextCh === "=" || nextCh === "!") {
        out += nextCh;
        i++;
      } else {
        throw new Error(`invalid escape sequence: ${nextCh === undefined ? "\\" : `\\${nextCh}`}`);
      }
    } else if (ch === "," || ch === "=") {
      throw new Error(`invalid field selector: unescaped character ${JSON.stringify(ch)}`);
    } else {
      out += ch;
    }
  }
  return out;
}

/** Parses a field selector into its requirements (an empty string gives none). Throws on bad syntax. */
export function parseFieldSelector(s: string): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  for (const term of splitTerms(s)) {
    if (term === "") continue;
    const req = splitTerm(term);
    if (!req) throw new Error(`invalid selector: '${s}'; can't understand '${term}'`);
    if (req.field === "") throw new Error(`invalid selector: '${s}'; field name is empty in '${term}'`);
    req.value = unescapeFieldValue(req.value);
    reqs.push(req);
  }
  return reqs;
}

/** Escapes a value for use in a field selector (the inverse of the parser's unescaping). */
export function escapeFieldValue(v: string): string {
  return v.replace(/[\\,=]/g, (c) => `\\${c}`);
}
