// Decoder for the kubelet's /metrics/resource body (Prometheus text exposition 0.0.4) into one
// columnar NodeScrape. Hand-written because only seven families matter and a node can carry hundreds
// of containers: a line of any other family is recognised by its name prefix and only validated.
// Completeness rules follow upstream metrics-server (reference upstream-behaviour.md §1.5).
//
// Built for 5,000 bodies per tick in one thread. Bytes that are pure ASCII (every kubelet body) are
// decoded from the bytes by decode-bytes.ts. This file keeps the decoder for text (a string body, or
// bytes with UTF-8 beyond ASCII), which plays the same tricks on a string: a container appears on three
// or more lines (cpu, memory, start time, swap) with the same label set, so each distinct label-set
// text is parsed once per body and looked up as a whole afterwards; families come in sorted runs, so
// the previous line's family name is tried first; plain decimal values are computed without
// substrings (prom-text.ts). decode-reference.ts keeps the straightforward version both must agree
// with on every input.
import { isAscii } from "node:buffer";
import type { NodeScrape } from "../../storage/index.ts";
import {
  buildScrape,
  type ContainerAccumulator,
  completeNode,
  completePods,
  containerFor,
  type PodAccumulator,
} from "./accumulators.ts";
import {
  CH_CR,
  CH_HASH,
  CH_LBRACE,
  CONTAINER_CPU,
  CONTAINER_MEMORY,
  CONTAINER_START,
  CONTAINER_SWAP,
  type ContainerLabels,
  containerSample,
  FAMILY_CONTAINER_CPU,
  FAMILY_CONTAINER_MEMORY,
  FAMILY_CONTAINER_START,
  FAMILY_CONTAINER_SWAP,
  FAMILY_NODE_CPU,
  FAMILY_NODE_MEMORY,
  FAMILY_NODE_SWAP,
  isBlank,
  isNameChar,
  isNameStart,
  NODE_CPU,
  NODE_MEMORY,
  NODE_SWAP,
  NodeSamples,
  nodeSample,
  ParseError,
  parseLabels,
  parseTimestamp,
  parseValue,
  quoteToken,
} from "./numbers.ts";
import { decodeAsciiResourceMetrics } from "./resource.ts";

export { parseGoFloat } from "./numbers.ts";

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

const utf8 = new TextDecoder("utf-8");
const identity = (s: string): string => s;

/** A label set seen in this body: its three kept values and, once needed, its container. */
interface LabelSet extends ContainerLabels {
  accumulator: ContainerAccumulator | undefined;
}

/**
 * Decodes one kubelet /metrics/resource body.
 * @param defaultTimestampMs used for samples without a timestamp (upstream: the request start time).
 * @param intern shares repeated namespace/pod/container strings across scrapes; must return a string
 * equal to its argument.
 * @throws Error("failed parsing metrics: <what> at line N") on malformed input.
 */
export function decodeResourceMetrics(
  body: Uint8Array | string,
  nodeName: string,
  defaultTimestampMs: number,
  intern: (s: string) => string = identity,
): NodeScrape {
  if (typeof body === "string") return decodeText(body, nodeName, defaultTimestampMs, intern);
  // Every kubelet body is ASCII, read as bytes (decode-bytes.ts). Other bytes are UTF-8 text: label
  // values may hold any character, which the string decoder below reads after a UTF-8 decode.
  if (isAscii(body)) return decodeAsciiResourceMetrics(body, nodeName, defaultTimestampMs, intern);
  return decodeText(utf8.decode(body), nodeName, defaultTimestampMs, intern);
}

/** decodeResourceMetrics for a body that is already text. */
function decodeText(
  text: string,
  nodeName: string,
  defaultTimestampMs: number,
  intern: (s: string) => string,
): NodeScrape {
  const pods = new Map<string, PodAccumulator>();
  // Label-set text (from `{` to `}`) -> its parsed values. Identical text parses identically, so a
  // hit skips the parse; "" stands for a sample without labels.
  const labelSets = new Map<string, LabelSet>();
  labelSets.set("", { container: "", namespace: "", pod: "", accumulator: undefined });
  // Namespace and container names repeat across a node's pods: most are found here, in a map of a few
  // entries, instead of in the interner's map of every name in the cluster.
  const repeated = new Map<string, string>();
  const internRepeated = (name: string): string => {
    let interned = repeated.get(name);
    if (interned === undefined) {
      interned = intern(name);
      repeated.set(name, interned);
    }
    return interned;
  };
  const nodeSamples = new NodeSamples();
  // Where the previous sample line's metric name is in `text`, and its family (0 = not stored): the
  // next line is compared with it in place first, since families come in runs.
  let lastNameStart = 0;
  let lastNameLength = 0;
  let lastFamily = 0;
  // The label sets of the current and the previous run of one family, by position in the run (as
  // offsets into `text`): container families list the same containers in the same order, so line k
  // of container_memory_* usually has the label set of line k of container_cpu_*, compared in place.
  let run = new LabelRun();
  let previousRun = new LabelRun();

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

    let family: number;
    let i: number;
    if (
      lastNameLength !== 0 &&
      nameEndsAt(text, start + lastNameLength, stop) &&
      sameText(text, lastNameStart, start, lastNameLength)
    ) {
      family = lastFamily;
      i = start + lastNameLength;
    } else {
      family = familyOf(text, start, stop);
      if (family !== 0) i = start + familyNameLength(family);
      else {
        // Other families are not stored, but their lines are still checked for shape (no values are
        // kept) so that a truncated or non-Prometheus body fails as it does upstream instead of
        // silently yielding an empty node.
        i = start + 1;
        while (i < stop && isNameChar(text.charCodeAt(i))) i++;
        if (!nameEndsAt(text, i, stop)) throw new ParseError("invalid metric name", lineNo);
      }
      lastNameStart = start;
      lastNameLength = i - start;
      lastFamily = family;
      const finished = previousRun;
      previousRun = run;
      run = finished;
      run.length = 0;
    }

    let labels: LabelSet;
    if (text.charCodeAt(i) !== CH_LBRACE) labels = labelSets.get("")!;
    else {
      // The set's closing brace is the line's last one: values and timestamps cannot contain braces.
      const close = text.lastIndexOf("}", stop - 1);
      const length = close + 1 - i;
      const k = run.length;
      let known: LabelSet | undefined;
      if (length > 1) {
        if (k < previousRun.length && previousRun.lengths[k] === length) {
          if (sameText(text, previousRun.starts[k], i, length)) known = previousRun.sets[k];
        }
        known ??= labelSets.get(text.slice(i, close + 1));
      }
      if (known !== undefined) {
        labels = known;
        run.add(i, length, known);
        i = close + 1;
      } else {
        labels = { container: "", namespace: "", pod: "", accumulator: undefined };
        const after = parseLabels(text, i + 1, stop, lineNo, labels);
        // Remember only a set that really ends at that brace. (One that ends earlier leaves a brace in
        // a later token, which fails the line below anyway; this keeps the cache obviously exact.)
        if (length > 1 && after === close + 1) {
          labelSets.set(text.slice(i, close + 1), labels);
          run.add(i, length, labels);
        }
        i = after;
      }
    }

    // Value.
    if (i >= stop || !isBlank(text.charCodeAt(i))) throw new ParseError("expected a value", lineNo);
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    let tokenEnd = i;
    while (tokenEnd < stop && !isBlank(text.charCodeAt(tokenEnd))) tokenEnd++;
    if (tokenEnd === i) throw new ParseError("expected a value", lineNo);
    const value = parseValue(text, i, tokenEnd);
    if (value === undefined)
      throw new ParseError(`invalid value ${quoteToken(text.slice(i, tokenEnd))}`, lineNo);

    // Optional timestamp: integer milliseconds.
    i = tokenEnd;
    while (i < stop && isBlank(text.charCodeAt(i))) i++;
    let timestampMs = defaultTimestampMs;
    if (i < stop) {
      tokenEnd = i;
      while (tokenEnd < stop && !isBlank(text.charCodeAt(tokenEnd))) tokenEnd++;
      timestampMs = parseTimestamp(text, i, tokenEnd, lineNo);
      i = tokenEnd;
      while (i < stop && isBlank(text.charCodeAt(i))) i++;
      if (i < stop) throw new ParseError(`unexpected text after timestamp`, lineNo);
    }

    if (!nodeSample(nodeSamples, family, value, timestampMs)) {
      labels.accumulator ??= containerFor(
        pods,
        labels.namespace,
        labels.pod,
        labels.container,
        intern,
        internRepeated,
      );
      containerSample(labels.accumulator, family, value, timestampMs);
    }
  }

  const node = completeNode(nodeName, {
    timestampMs: nodeSamples.timestampMs,
    cpuNs: nodeSamples.cpuNs,
    cpuNsRemainder: 0,
    memoryBytes: nodeSamples.memoryBytes,
    startTimeMs: 0,
  });
  return buildScrape(nodeName, node, completePods(pods, nodeName), nodeSamples.swapBytes);
}

/** text[a, a + length) and text[b, b + length) hold the same characters (both ranges in bounds). */
function sameText(text: string, a: number, b: number, length: number): boolean {
  for (let j = 0; j < length; j++) if (text.charCodeAt(a + j) !== text.charCodeAt(b + j)) return false;
  return true;
}

/** The label sets of one run of a family's lines, as ranges of the body text. */
class LabelRun {
  length = 0;
  starts: number[] = [];
  lengths: number[] = [];
  sets: LabelSet[] = [];

  add(start: number, length: number, set: LabelSet): void {
    const k = this.length++;
    this.starts[k] = start;
    this.lengths[k] = length;
    this.sets[k] = set;
  }
}

/** A metric name may end at `at`: the line ends there, or a label set or blank follows. */
function nameEndsAt(text: string, at: number, stop: number): boolean {
  if (at >= stop) return at === stop;
  const next = text.charCodeAt(at);
  return next === CH_LBRACE || isBlank(next);
}
