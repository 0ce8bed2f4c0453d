// A sample line's label set, read from the body's bytes: only the container, namespace and pod labels
// are kept (as upstream's decoder keeps them); any other label is checked for shape and skipped.
import { Buffer } from "node:buffer";
import * as ranges from "./byte-ranges.ts";
import * as syntax from "./syntax.ts";

// Module constants, not imported bindings, in the per-line loops: V8 reads an import through its
// module cell at every use, which made these loops measurably slower (docs/scraping.md).
const { utf8Text } = ranges;
const {
  atLineEnd,
  CH_BACKSLASH,
  CH_COLON,
  CH_COMMA,
  CH_EQUALS,
  CH_LF,
  CH_QUOTE,
  CH_RBRACE,
  isBlank,
  isNameChar,
  isNameStart,
  ParseError,
} = syntax;

/**
 * Where the three kept labels' values are in the body, as [start, end) byte ranges: a label that is
 * absent is the empty range 0..0, which reads as "" like an empty value. A value with escapes has
 * start -1 and its unescaped text in the *Text field.
 */
export interface LabelSpans {
  containerStart: number;
  containerEnd: number;
  containerText: string;
  namespaceStart: number;
  namespaceEnd: number;
  namespaceText: string;
  podStart: number;
  podEnd: number;
  podText: string;
}

// Byte classes for parseLabelBytes' inner loops: one table load per byte instead of a chain of compares.
const LABEL_NAME_CHAR = 1; // what isNameChar accepts, but ':'
const ENDS_PLAIN_VALUE = 2; // '"', '\\' or LF
const BYTE_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (isNameChar(c) && c !== CH_COLON) BYTE_CLASS[c] |= LABEL_NAME_CHAR;
  if (c === CH_QUOTE || c === CH_BACKSLASH || c === CH_LF) BYTE_CLASS[c] |= ENDS_PLAIN_VALUE;
}

const KEPT_NONE = 0;
const KEPT_CONTAINER = 1;
const KEPT_NAMESPACE = 2;
const KEPT_POD = 3;
const CONTAINER_BYTES = Buffer.from("container", "latin1");
const NAMESPACE_BYTES = Buffer.from("namespace", "latin1");

/** The bytes at `at` are those of `word` (bounds already known to hold). */
function bytesAre(bytes: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let j = 0; j < word.length; j++) if (bytes[at + j] !== word[j]) return false;
  return true;
}

function keptLabel(bytes: Uint8Array, nameStart: number, nameEnd: number): number {
  const length = nameEnd - nameStart;
  if (length === 3) {
    return bytes[nameStart] === 112 && bytes[nameStart + 1] === 111 && bytes[nameStart + 2] === 100 // pod
      ? KEPT_POD
      : KEPT_NONE;
  }
  if (length === 9) {
    if (bytesAre(bytes, nameStart, CONTAINER_BYTES)) return KEPT_CONTAINER;
    if (bytesAre(bytes, nameStart, NAMESPACE_BYTES)) return KEPT_NAMESPACE;
  }
  return KEPT_NONE;
}

/**
 * Parses `name="value",...}` from `start` (just after `{`) and records the kept labels' value ranges in
 * `out` (which the caller resets); returns the index after `}`. No string is made unless a kept value
 * has escapes. The last occurrence of a label wins.
 */
export function parseLabelBytes(bytes: Uint8Array, start: number, lineNo: number, out: LabelSpans): number {
  const len = bytes.length;
  let i = start;
  for (;;) {
    while (i < len && isBlank(bytes[i])) i++;
    if (atLineEnd(bytes, i)) throw new ParseError("unterminated label set", lineNo);
    const first = bytes[i];
    if (first === CH_RBRACE) return i + 1;
    if (!isNameStart(first) || first === CH_COLON) throw new ParseError("invalid label name", lineNo);
    const nameStart = i;
    i++;
    while (i < len && (BYTE_CLASS[bytes[i]] & LABEL_NAME_CHAR) !== 0) i++;
    const kept = keptLabel(bytes, nameStart, i);
    while (i < len && isBlank(bytes[i])) i++;
    if (i >= len || bytes[i] !== CH_EQUALS) throw new ParseError("expected '=' after label name", lineNo);
    i++;
    while (i < len && isBlank(bytes[i])) i++;
    if (i >= len || bytes[i] !== CH_QUOTE) throw new ParseError("expected '\"' to start label value", lineNo);
    i++;
    const valueStart = i;
    // Fast path: the value ends at the first quote unless a backslash comes first. A value cannot run
    // past LF (nor past a CRLF's CR, which LF follows), so reaching LF or the end is unterminated.
    while (i < len && (BYTE_CLASS[bytes[i]] & ENDS_PLAIN_VALUE) === 0) i++;
    const c = i < len ? bytes[i] : CH_LF;
    if (c === CH_LF) throw new ParseError("unterminated label value", lineNo);
    let valueEnd: number;
    let text = "";
    if (c === CH_QUOTE) {
      valueEnd = i;
      i++;
    } else {
      valueEnd = -1;
      // The value's text is made of the runs between escapes, each read as UTF-8 (they start and end
      // next to ASCII bytes, so they read as in the whole body; see utf8Text).
      let run = valueStart;
      let j = valueStart;
      for (;;) {
        if (atLineEnd(bytes, j)) throw new ParseError("unterminated label value", lineNo);
        const ch = bytes[j];
        if (ch === CH_QUOTE) break;
        if (ch !== CH_BACKSLASH) {
          j++;
          continue;
        }
        if (atLineEnd(bytes, j + 1)) throw new ParseError("unterminated label value", lineNo);
        const e = bytes[j + 1];
        if (kept !== KEPT_NONE) {
          text += utf8Text(bytes, run, j);
          if (e === CH_BACKSLASH) text += "\\";
          else if (e === CH_QUOTE) text += '"';
          else if (e === 110 /* n */) text += "\n";
          // An unknown escape is kept literally: the backslash here, the character with the next run.
          else text += "\\";
        }
        const known = e === CH_BACKSLASH || e === CH_QUOTE || e === 110 /* n */;
        run = known ? j + 2 : j + 1;
        j += 2;
      }
      if (kept !== KEPT_NONE) text += utf8Text(bytes, run, j);
      i = j + 1;
    }
    // The last occurrence of a label wins.
    const spanStart = valueEnd < 0 ? -1 : valueStart;
    const spanEnd = valueEnd < 0 ? -1 : valueEnd;
    if (kept === KEPT_POD) {
      out.podStart = spanStart;
      out.podEnd = spanEnd;
      out.podText = text;
    } else if (kept === KEPT_CONTAINER) {
      out.containerStart = spanStart;
      out.containerEnd = spanEnd;
      out.containerText = text;
    } else if (kept === KEPT_NAMESPACE) {
      out.namespaceStart = spanStart;
      out.namespaceEnd = spanEnd;
      out.namespaceText = text;
    }
    while (i < len && isBlank(bytes[i])) i++;
    const sep = i < len ? bytes[i] : 0;
    if (sep === CH_COMMA) i++;
    else if (sep !== CH_RBRACE) throw new ParseError("expected ',' or '}' after label value", lineNo);
  }
}

/** The spans of a label set without the kept labels: all three read as "". */
export const NO_SPANS: Readonly<LabelSpans> = {
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

export function resetSpans(spans: LabelSpans): void {
  spans.containerStart = 0;
  spans.containerEnd = 0;
  spans.containerText = "";
  spans.namespaceStart = 0;
  spans.namespaceEnd = 0;
  spans.namespaceText = "";
  spans.podStart = 0;
  spans.podEnd = 0;
  spans.podText = "";
}
