// The lexical layer of the Prometheus text exposition (format 0.0.4) as the decoder reads it from a
// body's bytes: character classes, where a line and a token end, and the error every malformed line
// raises.

export const CH_TAB = 9;
export const CH_LF = 10;
export const CH_CR = 13;
export const CH_SPACE = 32;
export const CH_QUOTE = 34;
export const CH_HASH = 35;
export const CH_PLUS = 43;
export const CH_COMMA = 44;
export const CH_MINUS = 45;
export const CH_DOT = 46;
export const CH_0 = 48;
export const CH_9 = 57;
export const CH_COLON = 58;
export const CH_EQUALS = 61;
export const CH_BACKSLASH = 92;
export const CH_LBRACE = 123;
export const CH_RBRACE = 125;

/** "failed parsing metrics: <what> at line N", as every malformed line fails. */
export class ParseError extends Error {
  constructor(what: string, line: number) {
    super(`failed parsing metrics: ${what} at line ${line}`);
    this.name = "ParseError";
  }
}

/** A token for an error message, shortened so a garbage body cannot make a giant log line. */
export function quoteToken(token: string): string {
  return JSON.stringify(token.length > 40 ? token.slice(0, 40) + "..." : token);
}

export function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === CH_COLON;
}

export function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= CH_0 && c <= CH_9);
}

export function isBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB;
}

export function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

// A line ends at LF, at the end of the body, or at a CR that is its last character (CRLF: a proxy may
// rewrite line ends; the exposition itself uses LF). Loops over blanks, digits or name characters need
// no such check: none of those is CR or LF.

/** The current line ends at `i`: LF, the end of the body, or a CR right before LF or the end. */
export function atLineEnd(bytes: Uint8Array, i: number): boolean {
  if (i >= bytes.length) return true;
  const c = bytes[i];
  if (c === CH_LF) return true;
  return c === CH_CR && (i + 1 === bytes.length || bytes[i + 1] === CH_LF);
}

/** The end of the token that starts at `i`: the next blank or the end of the line. */
export function tokenEnd(bytes: Uint8Array, i: number): number {
  const len = bytes.length;
  for (; i < len; i++) {
    const c = bytes[i];
    if (c === CH_SPACE || c === CH_TAB || c === CH_LF) return i;
    if (c === CH_CR && (i + 1 === len || bytes[i + 1] === CH_LF)) return i;
  }
  return i;
}

/** A token that has reached `i` ends there: a blank or the end of the line is next. */
export function endsToken(bytes: Uint8Array, i: number): boolean {
  if (i >= bytes.length) return true;
  const c = bytes[i];
  return c === CH_SPACE || c === CH_TAB || atLineEnd(bytes, i);
}

/** A metric name may end at `at`: the line ends there, or a label set or blank follows. */
export function nameEndsAt(bytes: Uint8Array, at: number): boolean {
  if (atLineEnd(bytes, at)) return true;
  const next = bytes[at];
  return next === CH_LBRACE || isBlank(next);
}
