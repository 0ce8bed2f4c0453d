// The straightforward /metrics/resource decoder that src/scraper/decode/resource.ts replaced, kept as
// the oracle the property tests hold it to on every input: it decodes the whole body to text (UTF-8)
// first and reads the text line by line.
import {
  attachLeftOut,
  buildScrape,
  type ContainerAccumulator,
  completeNode,
  completePods,
  conflictProblems,
  containerFor,
  type DecodedScrape,
  newLeftOutList,
  type PodAccumulator,
  SERIES_CPU,
  SERIES_MEMORY,
  SERIES_START_TIME,
  SERIES_SWAP,
  seriesName,
} from "../../src/scraper/index.ts";

const NODE_CPU = "node_cpu_usage_seconds_total";
const NODE_MEMORY = "node_memory_working_set_bytes";
const CONTAINER_CPU = "container_cpu_usage_seconds_total";
const CONTAINER_MEMORY = "container_memory_working_set_bytes";
const CONTAINER_START = "container_start_time_seconds";
// Swap is read for the optional swap usage only; upstream ignores it, so these samples never set a
// timestamp and never make a point complete or incomplete.
const NODE_SWAP = "node_swap_usage_bytes";
const CONTAINER_SWAP = "container_swap_usage_bytes";

const FAMILY_NODE_CPU = 1;
const FAMILY_NODE_MEMORY = 2;
const FAMILY_CONTAINER_CPU = 3;
const FAMILY_CONTAINER_MEMORY = 4;
const FAMILY_CONTAINER_START = 5;
const FAMILY_NODE_SWAP = 6;
const FAMILY_CONTAINER_SWAP = 7;

const CH_TAB = 9;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_QUOTE = 34;
const CH_HASH = 35;
const CH_COMMA = 44;
const CH_EQUALS = 61;
const CH_BACKSLASH = 92;
const CH_LBRACE = 123;
const CH_RBRACE = 125;

const utf8 = new TextDecoder("utf-8");
const identity = (s: string): string => s;

class ParseError extends Error {
  constructor(what: string, line: number) {
    super(`failed parsing metrics: ${what} at line ${line}`);
    this.name = "ParseError";
  }
}

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

function isBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB;
}

/** Which recognised family a sample line belongs to (0 = none), by its metric-name prefix. */
function familyOf(text: string, start: number, stop: number): number {
  let name: string;
  let family: number;
  const c = text.charCodeAt(start);
  if (c === 110 /* n */) {
    if (text.startsWith(NODE_CPU, start)) {
      name = NODE_CPU;
      family = FAMILY_NODE_CPU;
    } else if (text.startsWith(NODE_MEMORY, start)) {
      name = NODE_MEMORY;
      family = FAMILY_NODE_MEMORY;
    } else if (text.startsWith(NODE_SWAP, start)) {
      name = NODE_SWAP;
      family = FAMILY_NODE_SWAP;
    } else return 0;
  } else if (c === 99 /* c */) {
    if (text.startsWith(CONTAINER_CPU, start)) {
      name = CONTAINER_CPU;
      family = FAMILY_CONTAINER_CPU;
    } else if (text.startsWith(CONTAINER_MEMORY, start)) {
      name = CONTAINER_MEMORY;
      family = FAMILY_CONTAINER_MEMORY;
    } else if (text.startsWith(CONTAINER_START, start)) {
      name = CONTAINER_START;
      family = FAMILY_CONTAINER_START;
    } else if (text.startsWith(CONTAINER_SWAP, start)) {
      name = CONTAINER_SWAP;
      family = FAMILY_CONTAINER_SWAP;
    } else return 0;
  } else return 0;
  // The name must end here: `container_cpu_usage_seconds_total_foo` is another metric.
  const after = start + name.length;
  if (after === stop) return family; // a bare name: matched, and reported below as missing its value
  const next = text.charCodeAt(after);
  if (next === CH_LBRACE || isBlank(next)) return family;
  return 0;
}

function familyNameLength(family: number): number {
  switch (family) {
    case FAMILY_NODE_CPU:
      return NODE_CPU.length;
    case FAMILY_NODE_MEMORY:
      return NODE_MEMORY.length;
    case FAMILY_CONTAINER_CPU:
      return CONTAINER_CPU.length;
    case FAMILY_CONTAINER_MEMORY:
      return CONTAINER_MEMORY.length;
    case FAMILY_NODE_SWAP:
      return NODE_SWAP.length;
    case FAMILY_CONTAINER_SWAP:
      return CONTAINER_SWAP.length;
    default:
      return CONTAINER_START.length;
  }
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?inf(?:inity)?$/i;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

/** Go's strconv.ParseFloat syntax (decimal, exponent, Inf/Infinity, NaN, hex with p-exponent). */
function parseGoFloat(token: string): number | undefined {
  if (DECIMAL_FLOAT.test(token)) return Number(token);
  if (INFINITY.test(token)) return token.charCodeAt(0) === 45 ? -Infinity : Infinity;
  if (token.length === 3 && token.toLowerCase() === "nan") return Number.NaN;
  const hex = HEX_FLOAT.exec(token);
  if (hex && (hex[2].length > 0 || (hex[3] ?? "").length > 0)) {
    const fraction = hex[3] ?? "";
    const mantissa = Number.parseInt((hex[2] || "0") + fraction, 16);
    const value = mantissa * 2 ** (Number(hex[4]) - 4 * fraction.length);
    return hex[1] === "-" ? -value : value;
  }
  return undefined;
}

/** A counter or byte count that is NaN, infinite or negative cannot be used; 0 marks it missing. */
function usable(v: number): number {
  return Number.isFinite(v) && v > 0 ? v : 0;
}

/** A usable value times `scale`, truncated; missing (0) when the product overflows a double. */
function scaled(v: number, scale: number): number {
  const x = Math.trunc(usable(v) * scale);
  return Number.isFinite(x) ? x : 0;
}

/** A swap byte count: NaN (unknown) unless finite and non-negative; 0 is a real value (swap off). */
function swapAmount(v: number): number {
  if (!Number.isFinite(v) || v < 0) return Number.NaN;
  const bytes = Math.trunc(v);
  return bytes === 0 ? 0 : bytes; // -0 is 0
}

// A series' family as a SERIES_* bit of ContainerAccumulator.conflicts.
const SERIES_BIT: Record<number, number> = {
  [FAMILY_NODE_CPU]: SERIES_CPU,
  [FAMILY_NODE_MEMORY]: SERIES_MEMORY,
  [FAMILY_NODE_SWAP]: SERIES_SWAP,
  [FAMILY_CONTAINER_CPU]: SERIES_CPU,
  [FAMILY_CONTAINER_MEMORY]: SERIES_MEMORY,
  [FAMILY_CONTAINER_START]: SERIES_START_TIME,
  [FAMILY_CONTAINER_SWAP]: SERIES_SWAP,
};
const FAMILY_NAMES: Record<number, string> = {
  [FAMILY_NODE_CPU]: NODE_CPU,
  [FAMILY_NODE_MEMORY]: NODE_MEMORY,
  [FAMILY_NODE_SWAP]: NODE_SWAP,
  [FAMILY_CONTAINER_CPU]: CONTAINER_CPU,
  [FAMILY_CONTAINER_MEMORY]: CONTAINER_MEMORY,
  [FAMILY_CONTAINER_START]: CONTAINER_START,
  [FAMILY_CONTAINER_SWAP]: CONTAINER_SWAP,
};

/** What a series recorded: its value and (cpu and memory only) its sample time; NaN equals NaN. */
interface Recorded {
  value: number;
  timestampMs: number;
  conflicting: boolean;
  name: string;
}

/**
 * Decodes one kubelet /metrics/resource body.
 * @param defaultTimestampMs used for samples without a timestamp (upstream: the request start time).
 * @param intern shares repeated namespace/pod/container strings across scrapes.
 * @throws Error("failed parsing metrics: <what> at line N") on malformed input.
 */
export function decodeResourceMetricsReference(
  body: Uint8Array | string,
  nodeName: string,
  defaultTimestampMs: number,
  intern: (s: string) => string = identity,
): DecodedScrape {
  const text = typeof body === "string" ? body : utf8.decode(body);
  const pods = new Map<string, PodAccumulator>();
  let nodeTimestampMs = 0;
  let nodeCpuNs = 0;
  let nodeMemoryBytes = 0;
  let nodeSwapBytes = Number.NaN;

  // Every series by its key (the family, then the pod key and container as containerFor finds them),
  // to tell a repeated sample from a conflicting one.
  const series = new Map<string, Recorded>();
  const record = (family: number, value: number, timestampMs: number, c?: ContainerAccumulator): number => {
    const key = JSON.stringify(
      c ? [family, labels.namespace + "/" + labels.pod, labels.container] : [family],
    );
    // Which series a container was sent (a left-out pod's cause tells "missing" from "is 0").
    if (c) c.seen |= SERIES_BIT[family];
    const seen = series.get(key);
    if (seen === undefined) {
      const name = c
        ? seriesName(FAMILY_NAMES[family], labels.namespace, labels.pod, labels.container)
        : seriesName(FAMILY_NAMES[family]);
      series.set(key, { value, timestampMs, conflicting: false, name });
      return value;
    }
    const same = Object.is(seen.value, value) || (Number.isNaN(seen.value) && Number.isNaN(value));
    if (!same || seen.timestampMs !== timestampMs) seen.conflicting = true;
    seen.value = value;
    seen.timestampMs = timestampMs;
    if (seen.conflicting) {
      if (c) c.conflicts |= SERIES_BIT[family];
      else nodeConflicts |= SERIES_BIT[family];
      if (family === FAMILY_NODE_SWAP || family === FAMILY_CONTAINER_SWAP) return Number.NaN;
    }
    return value;
  };
  let nodeConflicts = 0;

  const labels = { container: "", namespace: "", pod: "" };
  let lineNo = 0;
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    lineNo++;
    let end = text.indexOf("\n", pos);
    if (end < 0) end = len;
    let start = pos;
    pos = end + 1;
    while (start < end && isBlank(text.charCodeAt(start))) start++;
    // Tolerate CRLF line ends (a proxy may rewrite them); the exposition itself uses LF.
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === CH_CR) stop--;
    if (start === stop) continue;
    const first = text.charCodeAt(start);
    if (first === CH_HASH) continue;
    if (!isNameStart(first)) throw new ParseError(`invalid metric name`, lineNo);
    const family = familyOf(text, start, stop);
    let i: number;
    if (family !== 0) i = start + familyNameLength(family);
    else {
      // Other families are not stored, but their lines are still checked for shape (no values are
      // kept) so that a truncated or non-Prometheus body fails as it does upstream instead of
      // silently yielding an empty node.
      i = start + 1;
      while (i < stop && isNameChar(text.charCodeAt(i))) i++;
      const next = text.charCodeAt(i);
      if (i < stop && next !== CH_LBRACE && !isBlank(next))
        throw new ParseError("invalid metric name", lineNo);
    }
    labels.container = "";
    labels.namespace = "";
    labels.pod = "";
    if (text.charCodeAt(i) === CH_LBRACE) i = parseLabels(text, i + 1, stop, lineNo, labels);

    // Value.
    if (i >= stop || !isBlank(text.charCodeAt(i))) throw new ParseError("expected a value", lineNo);
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    let tokenEnd = i;
    while (tokenEnd < stop && !isBlank(text.charCodeAt(tokenEnd))) tokenEnd++;
    if (tokenEnd === i) throw new ParseError("expected a value", lineNo);
    const valueToken = text.slice(i, tokenEnd);
    const value = parseGoFloat(valueToken);
    if (value === undefined) throw new ParseError(`invalid value ${quoteToken(valueToken)}`, lineNo);

    // Optional timestamp: integer milliseconds.
    i = tokenEnd;
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    let timestampMs = defaultTimestampMs;
    if (i < stop) {
      tokenEnd = i;
      while (tokenEnd < stop && !isBlank(text.charCodeAt(tokenEnd))) tokenEnd++;
      const tsToken = text.slice(i, tokenEnd);
      timestampMs = parseTimestamp(tsToken, lineNo);
      i = tokenEnd;
      while (i < stop && isBlank(text.charCodeAt(i))) i++;
      if (i < stop) throw new ParseError(`unexpected text after timestamp`, lineNo);
    }

    switch (family) {
      case 0:
        break;
      case FAMILY_NODE_CPU:
        nodeCpuNs = record(family, scaled(value, 1e9), timestampMs);
        nodeTimestampMs = timestampMs;
        break;
      case FAMILY_NODE_MEMORY:
        nodeMemoryBytes = record(family, scaled(value, 1), timestampMs);
        nodeTimestampMs = timestampMs;
        break;
      case FAMILY_NODE_SWAP:
        nodeSwapBytes = record(family, swapAmount(value), 0);
        break;
      default: {
        const c = containerFor(pods, labels.namespace, labels.pod, labels.container, intern);
        if (family === FAMILY_CONTAINER_CPU) {
          c.cpuNs = record(family, scaled(value, 1e9), timestampMs, c);
          c.timestampMs = timestampMs;
        } else if (family === FAMILY_CONTAINER_MEMORY) {
          c.memoryBytes = record(family, scaled(value, 1), timestampMs, c);
          c.timestampMs = timestampMs;
        } else if (family === FAMILY_CONTAINER_SWAP) {
          c.swapBytes = record(family, swapAmount(value), 0, c);
          c.swapSeen = true;
        } else {
          // The start time's own sample timestamp is ignored, as upstream does.
          const ms = usable(value) * 1000;
          c.startTimeMs = record(family, Number.isFinite(ms) ? ms : 0, 0, c);
        }
      }
    }
  }

  // A node point whose cpu or memory came twice with different values is not trusted.
  const trusted = (nodeConflicts & (SERIES_CPU | SERIES_MEMORY)) === 0;
  const node = completeNode(nodeName, {
    timestampMs: trusted ? nodeTimestampMs : 0,
    cpuNs: trusted ? nodeCpuNs : 0,
    cpuNsRemainder: 0,
    memoryBytes: trusted ? nodeMemoryBytes : 0,
    startTimeMs: 0,
  });
  const leftOut = newLeftOutList();
  const scrape: DecodedScrape = buildScrape(
    nodeName,
    node,
    completePods(pods, nodeName, leftOut),
    nodeSwapBytes,
  );
  attachLeftOut(scrape, leftOut);
  const conflicting = [...series.values()].filter((s) => s.conflicting).map((s) => s.name);
  if (conflicting.length > 0) scrape.problems = conflictProblems(conflicting);
  return scrape;
}

/** A token for an error message, shortened so a garbage body cannot make a giant log line. */
function quoteToken(token: string): string {
  return JSON.stringify(token.length > 40 ? token.slice(0, 40) + "..." : token);
}

export function parseTimestamp(token: string, lineNo: number): number {
  // Prometheus timestamps are int64 milliseconds; a negative one is before 1970 and upstream's
  // decoder fails on it, so it is rejected here too.
  if (!/^\+?\d+$/.test(token)) throw new ParseError(`invalid timestamp ${quoteToken(token)}`, lineNo);
  const ms = Number(token);
  if (!Number.isSafeInteger(ms)) throw new ParseError(`timestamp out of range ${quoteToken(token)}`, lineNo);
  return ms;
}

/** Parses `name="value",...}` starting after `{`; returns the index after `}`. */
export function parseLabels(
  text: string,
  start: number,
  stop: number,
  lineNo: number,
  out: { container: string; namespace: string; pod: string },
): number {
  let i = start;
  for (;;) {
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    if (i >= stop) throw new ParseError("unterminated label set", lineNo);
    if (text.charCodeAt(i) === CH_RBRACE) return i + 1;
    const nameStart = i;
    if (!isNameStart(text.charCodeAt(i)) || text.charCodeAt(i) === 58) {
      throw new ParseError("invalid label name", lineNo);
    }
    while (i < stop && isNameChar(text.charCodeAt(i)) && text.charCodeAt(i) !== 58) i++;
    const nameEnd = i;
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== CH_EQUALS) throw new ParseError("expected '=' after label name", lineNo);
    i++;
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== CH_QUOTE) throw new ParseError("expected '\"' to start label value", lineNo);
    i++;
    // Fast path: no backslash before the first quote, so that quote closes the value.
    let close = text.indexOf('"', i);
    if (close < 0 || close >= stop) throw new ParseError("unterminated label value", lineNo);
    let value: string;
    let escaped = false;
    for (let k = i; k < close; k++) {
      if (text.charCodeAt(k) === CH_BACKSLASH) {
        escaped = true;
        break;
      }
    }
    if (!escaped) {
      value = text.slice(i, close);
      i = close + 1;
    } else {
      value = "";
      let j = i;
      for (;;) {
        if (j >= stop) throw new ParseError("unterminated label value", lineNo);
        const c = text.charCodeAt(j);
        if (c === CH_QUOTE) break;
        if (c === CH_BACKSLASH) {
          if (j + 1 >= stop) throw new ParseError("unterminated label value", lineNo);
          const e = text.charCodeAt(j + 1);
          if (e === CH_BACKSLASH) value += "\\";
          else if (e === CH_QUOTE) value += '"';
          else if (e === 110 /* n */) value += "\n";
          else value += text[j] + text[j + 1]; // unknown escapes are kept literally
          j += 2;
        } else {
          value += text[j];
          j++;
        }
      }
      close = j;
      i = j + 1;
    }
    const nameLen = nameEnd - nameStart;
    if (nameLen === 3 && text.startsWith("pod", nameStart)) out.pod = value;
    else if (nameLen === 9) {
      if (text.startsWith("container", nameStart)) out.container = value;
      else if (text.startsWith("namespace", nameStart)) out.namespace = value;
    }
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    const sep = text.charCodeAt(i);
    if (sep === CH_COMMA) i++;
    else if (sep !== CH_RBRACE) throw new ParseError("expected ',' or '}' after label value", lineNo);
  }
}
