// The /metrics/resource decoder for a pure-ASCII body, reading its bytes: no string of the body, no
// substring per line, no string for a label value this body has already produced. Every kubelet body
// is ASCII; decode.ts sends anything else through the string decoder, which this one must agree with
// on every input (same NodeScrape, same error message and line number; decode.property.test.ts).
//
// Where the time goes at 5,000 bodies of 60 containers per tick, and what is done about it:
// - Families come in runs: a line's metric name is compared in place with the previous line's.
// - Container families list the same label sets in the same order, so line k of a run is compared in
//   place with line k of the previous run; on a match the set is not parsed again.
// - Otherwise the `{...}` span is parsed into byte ranges (parseLabelBytes), and looked up by hash and
//   bytes among the sets this body has already seen, so equal sets share one record and one container.
// - Label values become strings only when a container family first uses the set, once per distinct
//   value per body (`names`), and then go through `intern`.
// - Numbers are read from the bytes, in the same pass that finds where they end (readDecimal,
//   readTimestamp).
// - The tables and the pod and container accumulators live in a ByteDecoder that is reused for the
//   next body, so a body allocates little more than the NodeScrape it returns.
import type { NodeScrape } from "../../storage/index.ts";
import {
  addContainer,
  buildScrape,
  type ContainerAccumulator,
  completeNode,
  completePods,
  EmptyContainer,
  findContainer,
  newPod,
  type PodAccumulator,
  resetContainer,
} from "./accumulators.ts";
import { asciiString, hashBytes } from "./byte-ranges.ts";
import {
  atLineEnd,
  CH_CR,
  CH_HASH,
  CH_LBRACE,
  CH_LF,
  CONTAINER_CPU,
  CONTAINER_MEMORY,
  CONTAINER_START,
  CONTAINER_SWAP,
  containerSample,
  decimalEnd,
  FAMILY_CONTAINER_CPU,
  FAMILY_CONTAINER_MEMORY,
  FAMILY_CONTAINER_START,
  FAMILY_CONTAINER_SWAP,
  FAMILY_NODE_CPU,
  FAMILY_NODE_MEMORY,
  FAMILY_NODE_SWAP,
  goFloatBytes,
  isBlank,
  isNameChar,
  isNameStart,
  type LabelSpans,
  NODE_CPU,
  NODE_MEMORY,
  NODE_SWAP,
  NodeSamples,
  nodeSample,
  ParseError,
  parseLabelBytes,
  quoteToken,
  readDecimal,
  readTimestamp,
  scanned,
  timestampBytes,
  tokenEnd,
} from "./numbers.ts";

const ascii = (name: string): Uint8Array => Uint8Array.from(name, (ch) => ch.charCodeAt(0));
const identity = (s: string): string => s;
const EMPTY = new Uint8Array(0);
const EMPTY_VIEW: DataView = new DataView(EMPTY.buffer);

// Family names by family id (0 = not stored), grouped by first letter for familyOf.
const FAMILY_NAMES: Uint8Array[] = [];
FAMILY_NAMES[FAMILY_NODE_CPU] = ascii(NODE_CPU);
FAMILY_NAMES[FAMILY_NODE_MEMORY] = ascii(NODE_MEMORY);
FAMILY_NAMES[FAMILY_NODE_SWAP] = ascii(NODE_SWAP);
FAMILY_NAMES[FAMILY_CONTAINER_CPU] = ascii(CONTAINER_CPU);
FAMILY_NAMES[FAMILY_CONTAINER_MEMORY] = ascii(CONTAINER_MEMORY);
FAMILY_NAMES[FAMILY_CONTAINER_START] = ascii(CONTAINER_START);
FAMILY_NAMES[FAMILY_CONTAINER_SWAP] = ascii(CONTAINER_SWAP);
// In the order decode.ts's familyOf tries them (no name is a prefix of another, so order is moot).
const NODE_FAMILIES = [FAMILY_NODE_CPU, FAMILY_NODE_MEMORY, FAMILY_NODE_SWAP];
const CONTAINER_FAMILIES = [
  FAMILY_CONTAINER_CPU,
  FAMILY_CONTAINER_MEMORY,
  FAMILY_CONTAINER_START,
  FAMILY_CONTAINER_SWAP,
];

/**
 * Bytes [a, a + length) and [b, b + length) of `view` (the body) are equal; both ranges in bounds.
 * Eight bytes at a time: label sets are compared on almost every line, and byte by byte this was half
 * of the decoder's own time.
 */
function sameBytes(view: DataView, a: number, b: number, length: number): boolean {
  let j = 0;
  for (; j + 8 <= length; j += 8) {
    if (
      view.getInt32(a + j) !== view.getInt32(b + j) ||
      view.getInt32(a + j + 4) !== view.getInt32(b + j + 4)
    )
      return false;
  }
  for (; j < length; j++) if (view.getUint8(a + j) !== view.getUint8(b + j)) return false;
  return true;
}

/** A metric name may end at `at`: the line ends there, or a label set or blank follows. */
function nameEndsAt(bytes: Uint8Array, at: number): boolean {
  if (atLineEnd(bytes, at)) return true;
  const next = bytes[at];
  return next === CH_LBRACE || isBlank(next);
}

/** Which stored family the line at `start` is a sample of (0 = none): decode.ts's familyOf on bytes. */
function familyOf(bytes: Uint8Array, start: number): number {
  const c = bytes[start];
  const candidates = c === 110 /* n */ ? NODE_FAMILIES : c === 99 /* c */ ? CONTAINER_FAMILIES : undefined;
  if (candidates === undefined) return 0;
  for (const family of candidates) {
    const name = FAMILY_NAMES[family];
    if (start + name.length > bytes.length) continue;
    let j = 1;
    while (j < name.length && bytes[start + j] === name[j]) j++;
    if (j < name.length) continue;
    // The name must end here: `container_cpu_usage_seconds_total_foo` is another metric.
    return nameEndsAt(bytes, start + name.length) ? family : 0;
  }
  return 0;
}

const SAMPLE_VALUE = 0;
const SAMPLE_TIMESTAMP = 1;

/**
 * Reads a sample line's value and optional timestamp from `i` (just after the name or label set) into
 * `sample`, checking the rest of the line as the string decoder does; returns the line's end. The
 * numbers travel in a Float64Array so that the decoder's loop handles them as raw doubles: mixed with
 * the tagged results of the rare slow paths they were boxed, an allocation per line.
 * @param checkOnly the value is not used (other families): it is validated, not computed.
 */
function readSample(
  bytes: Uint8Array,
  i: number,
  checkOnly: boolean,
  lineNo: number,
  defaultTimestampMs: number,
  sample: Float64Array,
): number {
  const len = bytes.length;
  if (atLineEnd(bytes, i) || !isBlank(bytes[i])) throw new ParseError("expected a value", lineNo);
  while (i < len && isBlank(bytes[i])) i++;
  if (atLineEnd(bytes, i)) throw new ParseError("expected a value", lineNo);
  if (checkOnly) {
    // Long digit runs (pod_* lines have them) would cost a string each to compute.
    let end = decimalEnd(bytes, i);
    if (end < 0) {
      end = tokenEnd(bytes, i);
      if (goFloatBytes(bytes, i, end) === undefined)
        throw new ParseError(`invalid value ${quoteToken(asciiString(bytes, i, end))}`, lineNo);
    }
    sample[SAMPLE_VALUE] = 0;
    i = end;
  } else if (readDecimal(bytes, i)) {
    sample[SAMPLE_VALUE] = scanned.number[0];
    i = scanned.end;
  } else {
    const end = tokenEnd(bytes, i);
    const value = goFloatBytes(bytes, i, end);
    if (value === undefined)
      throw new ParseError(`invalid value ${quoteToken(asciiString(bytes, i, end))}`, lineNo);
    sample[SAMPLE_VALUE] = value;
    i = end;
  }

  // Optional timestamp: integer milliseconds.
  while (i < len && isBlank(bytes[i])) i++;
  sample[SAMPLE_TIMESTAMP] = defaultTimestampMs;
  if (!atLineEnd(bytes, i)) {
    if (readTimestamp(bytes, i)) {
      sample[SAMPLE_TIMESTAMP] = scanned.number[0];
      i = scanned.end;
    } else {
      const end = tokenEnd(bytes, i);
      sample[SAMPLE_TIMESTAMP] = timestampBytes(bytes, i, end, lineNo);
      i = end;
    }
    while (i < len && isBlank(bytes[i])) i++;
    if (!atLineEnd(bytes, i)) throw new ParseError(`unexpected text after timestamp`, lineNo);
  }
  return i;
}

/**
 * Byte ranges of the body being decoded -> small non-negative integers, by hash and bytes (open
 * addressing, linear probing). Reused from body to body: clear() forgets the entries.
 */
class SpanTable {
  // Per slot: the value + 1 (0 = empty), the range's hash, start and length.
  #values = new Int32Array(64);
  #hashes = new Int32Array(64);
  #starts = new Int32Array(64);
  #lengths = new Int32Array(64);
  #count = 0;

  clear(): void {
    // One odd body must not make every later clear() pay for its size.
    if (this.#values.length > 1024) this.#allocate(64);
    else this.#values.fill(0);
    this.#count = 0;
  }

  /** The value stored for the body's bytes [start, start + length), or -1. */
  get(view: DataView, start: number, length: number, hash: number): number {
    const values = this.#values;
    const mask = values.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const v = values[slot];
      if (v === 0) return -1;
      if (
        this.#hashes[slot] === hash &&
        this.#lengths[slot] === length &&
        sameBytes(view, this.#starts[slot], start, length)
      ) {
        return v - 1;
      }
    }
  }

  /** Stores `value` for a range that get() did not find. */
  add(start: number, length: number, hash: number, value: number): void {
    if ((this.#count + 1) * 2 > this.#values.length) this.#grow();
    this.#count++;
    this.#put(start, length, hash, value + 1);
  }

  #put(start: number, length: number, hash: number, stored: number): void {
    const mask = this.#values.length - 1;
    let slot = hash & mask;
    while (this.#values[slot] !== 0) slot = (slot + 1) & mask;
    this.#values[slot] = stored;
    this.#hashes[slot] = hash;
    this.#starts[slot] = start;
    this.#lengths[slot] = length;
  }

  #allocate(capacity: number): void {
    this.#values = new Int32Array(capacity);
    this.#hashes = new Int32Array(capacity);
    this.#starts = new Int32Array(capacity);
    this.#lengths = new Int32Array(capacity);
  }

  #grow(): void {
    const values = this.#values;
    const hashes = this.#hashes;
    const starts = this.#starts;
    const lengths = this.#lengths;
    this.#allocate(values.length * 2);
    for (let slot = 0; slot < values.length; slot++) {
      if (values[slot] !== 0) this.#put(starts[slot], lengths[slot], hashes[slot], values[slot]);
    }
  }
}

/** The label sets of one run of a family's lines, in line order: where each is and its set id. */
class LabelRun {
  length = 0;
  starts = new Int32Array(64);
  lengths = new Int32Array(64);
  ids = new Int32Array(64);

  add(start: number, length: number, id: number): void {
    const k = this.length++;
    if (k === this.ids.length) {
      this.starts = grown(this.starts);
      this.lengths = grown(this.lengths);
      this.ids = grown(this.ids);
    }
    this.starts[k] = start;
    this.lengths[k] = length;
    this.ids[k] = id;
  }

  /** Forgets the run, and its storage too if one odd body made it large. */
  reset(): void {
    this.length = 0;
    if (this.ids.length > 1024) {
      this.starts = new Int32Array(64);
      this.lengths = new Int32Array(64);
      this.ids = new Int32Array(64);
    }
  }
}

function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

// A label set's record: 6 ints in ByteDecoder.#spans (value ranges, see LabelSpans) and 3 strings in
// #texts (values with escapes), in this order.
const CONTAINER = 0;
const NAMESPACE = 1;
const POD = 2;
const SPAN_FIELDS = 6;
/** Pooled accumulators kept between bodies, at most (a node has up to ~110 pods). */
const POOL_KEPT = 4096;
/** Set id of a sample without labels: all three values "". */
const NO_LABELS = 0;

/** Decodes ASCII bodies one at a time, keeping its tables for the next body. Not re-entrant. */
class ByteDecoder {
  // Label sets seen in this body, by id: their kept values, and their container once a container
  // family has used them.
  #setCount = 0;
  #spans = new Int32Array(64 * SPAN_FIELDS);
  #texts: string[] = [];
  #accumulators: (ContainerAccumulator | undefined)[] = [];
  /** The `{...}` text of each set with an id -> the id. */
  readonly #labelSets = new SpanTable();
  /** A label value's bytes -> its index in #names (the interned string). */
  readonly #nameIndex = new SpanTable();
  #names: string[] = [];
  /** The value and timestamp of the line just read (see readSample). */
  readonly #sample = new Float64Array(2);
  #current = new LabelRun();
  #previous = new LabelRun();
  readonly #scratch: LabelSpans = { ...EMPTY_SPANS };
  // Per body.
  #bytes: Uint8Array = EMPTY;
  #view: DataView = EMPTY_VIEW;
  #intern: (s: string) => string = identity;
  /** Pods by namespace, then name; pods whose key has a slash by key (see #containerOf). */
  #pods: Map<string, Map<string, PodAccumulator>> | undefined;
  #podsBySlashKey: Map<string, PodAccumulator> | undefined;
  /** This body's pods, in order of first sight. */
  readonly #podList: PodAccumulator[] = [];
  // Accumulators are reused from body to body: none outlives a decode (buildScrape copies the numbers
  // out), and made afresh they were most of the garbage a body left.
  readonly #podPool: PodAccumulator[] = [];
  #podsUsed = 0;
  readonly #containerPool: ContainerAccumulator[] = [];
  #containersUsed = 0;

  decode(
    bytes: Uint8Array,
    nodeName: string,
    defaultTimestampMs: number,
    intern: (s: string) => string,
  ): NodeScrape {
    this.#begin(bytes, intern);
    try {
      return this.#decode(bytes, nodeName, defaultTimestampMs);
    } finally {
      this.#end();
    }
  }

  #begin(bytes: Uint8Array, intern: (s: string) => string): void {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#intern = intern;
    this.#labelSets.clear();
    this.#nameIndex.clear();
    this.#names.length = 0;
    this.#current.reset();
    this.#previous.reset();
    this.#podList.length = 0;
    this.#podsUsed = 0;
    this.#containersUsed = 0;
    // One odd body must not make the decoder hold its size for good.
    if (this.#podPool.length > POOL_KEPT) this.#podPool.length = POOL_KEPT;
    if (this.#containerPool.length > POOL_KEPT) this.#containerPool.length = POOL_KEPT;
    if (this.#accumulators.length > 1024) {
      this.#spans = new Int32Array(64 * SPAN_FIELDS);
      this.#texts = [];
      this.#accumulators = [];
    }
    this.#setCount = 0;
    this.#addSet(EMPTY_SPANS);
  }

  /** Lets go of what belongs to the body (the decoder outlives it). */
  #end(): void {
    this.#bytes = EMPTY;
    this.#view = EMPTY_VIEW;
    this.#intern = identity;
    this.#pods = undefined;
    this.#podsBySlashKey = undefined;
    this.#podList.length = 0;
    this.#accumulators.fill(undefined, 0, this.#setCount);
    this.#texts.fill("", 0, this.#setCount * 3);
    this.#names.length = 0;
  }

  #decode(bytes: Uint8Array, nodeName: string, defaultTimestampMs: number): NodeScrape {
    const nodeSamples = new NodeSamples();
    // The previous sample line's metric name (as a range of the body) and its family (0 = not stored).
    let lastNameStart = 0;
    let lastNameLength = 0;
    let lastFamily = 0;
    let run = this.#current;
    let previousRun = this.#previous;
    const accumulators = this.#accumulators;
    const view = this.#view;
    const sample = this.#sample;

    const len = bytes.length;
    let lineNo = 0;
    let pos = 0;
    while (pos < len) {
      lineNo++;
      let start = pos;
      while (start < len && isBlank(bytes[start])) start++;
      if (atLineEnd(bytes, start) || bytes[start] === CH_HASH) {
        const lf = bytes.indexOf(CH_LF, start);
        pos = lf < 0 ? len : lf + 1;
        continue;
      }
      if (!isNameStart(bytes[start])) throw new ParseError(`invalid metric name`, lineNo);

      let family: number;
      let i: number;
      if (
        lastNameLength !== 0 &&
        start + lastNameLength <= len &&
        sameBytes(view, lastNameStart, start, lastNameLength) &&
        nameEndsAt(bytes, start + lastNameLength)
      ) {
        family = lastFamily;
        i = start + lastNameLength;
      } else {
        family = familyOf(bytes, start);
        if (family !== 0) i = start + FAMILY_NAMES[family].length;
        else {
          // Lines of other families are only checked for shape, as in decode.ts.
          i = start + 1;
          while (i < len && isNameChar(bytes[i])) i++;
          if (!nameEndsAt(bytes, i)) throw new ParseError("invalid metric name", lineNo);
        }
        lastNameStart = start;
        lastNameLength = i - start;
        lastFamily = family;
        const finished = previousRun;
        previousRun = run;
        run = finished;
        run.length = 0;
      }

      let set = NO_LABELS;
      if (i < len && bytes[i] === CH_LBRACE) {
        const k = run.length;
        let length = -1;
        if (k < previousRun.length) {
          const previousLength = previousRun.lengths[k];
          if (i + previousLength <= len && sameBytes(view, previousRun.starts[k], i, previousLength)) {
            // The same bytes parse the same way, and the parse never looks past the closing brace.
            length = previousLength;
            set = previousRun.ids[k];
          }
        }
        if (length < 0) {
          const spans = this.#scratch;
          resetSpans(spans);
          length = parseLabelBytes(bytes, i + 1, lineNo, spans) - i;
          const hash = hashBytes(view, i, i + length);
          set = this.#labelSets.get(view, i, length, hash);
          if (set < 0) {
            set = this.#addSet(spans);
            this.#labelSets.add(i, length, hash, set);
          }
        }
        run.add(i, length, set);
        i += length;
      }

      i = readSample(bytes, i, family === 0, lineNo, defaultTimestampMs, sample);
      // i is at the line's end: LF, CR LF, or the end of the body.
      if (i < len && bytes[i] === CH_CR) i++;
      pos = i + 1;
      const value = sample[SAMPLE_VALUE];
      const timestampMs = sample[SAMPLE_TIMESTAMP];

      if (!nodeSample(nodeSamples, family, value, timestampMs)) {
        containerSample(accumulators[set] ?? this.#containerOf(set), family, value, timestampMs);
      }
    }
    this.#current = run;
    this.#previous = previousRun;

    const node = completeNode(nodeName, {
      timestampMs: nodeSamples.timestampMs,
      cpuNs: nodeSamples.cpuNs,
      cpuNsRemainder: 0,
      memoryBytes: nodeSamples.memoryBytes,
      startTimeMs: 0,
    });
    return buildScrape(nodeName, node, completePods(this.#podList, nodeName), nodeSamples.swapBytes);
  }

  /** Records a new label set; returns its id. */
  #addSet(spans: LabelSpans): number {
    const id = this.#setCount++;
    let all = this.#spans;
    if ((id + 1) * SPAN_FIELDS > all.length) {
      all = this.#spans = grown(all);
    }
    const at = id * SPAN_FIELDS;
    all[at + 2 * CONTAINER] = spans.containerStart;
    all[at + 2 * CONTAINER + 1] = spans.containerEnd;
    all[at + 2 * NAMESPACE] = spans.namespaceStart;
    all[at + 2 * NAMESPACE + 1] = spans.namespaceEnd;
    all[at + 2 * POD] = spans.podStart;
    all[at + 2 * POD + 1] = spans.podEnd;
    this.#texts[id * 3 + CONTAINER] = spans.containerText;
    this.#texts[id * 3 + NAMESPACE] = spans.namespaceText;
    this.#texts[id * 3 + POD] = spans.podText;
    this.#accumulators[id] = undefined;
    return id;
  }

  /** Label `which` of set `id` as an interned string. */
  #value(id: number, which: number): string {
    const at = id * SPAN_FIELDS + 2 * which;
    const start = this.#spans[at];
    if (start < 0) return this.#intern(this.#texts[id * 3 + which]);
    const end = this.#spans[at + 1];
    const length = end - start;
    const bytes = this.#bytes;
    const hash = hashBytes(this.#view, start, end);
    let index = this.#nameIndex.get(this.#view, start, length, hash);
    if (index < 0) {
      index = this.#names.length;
      this.#names.push(this.#intern(asciiString(bytes, start, end)));
      this.#nameIndex.add(start, length, hash, index);
    }
    return this.#names[index];
  }

  /**
   * The container of set `id`, created empty on first sight (batch.ts containerFor, from bytes). Pods
   * are keyed as containerFor keys them, by `namespace + "/" + pod`: without a slash in either name
   * that key is one-to-one with the pair, so a map per namespace serves without building the key;
   * with a slash, two pairs can share a key (and so a pod), which the keyed map reproduces.
   */
  #containerOf(id: number): ContainerAccumulator {
    const namespace = this.#value(id, NAMESPACE);
    const podName = this.#value(id, POD);
    const containerName = this.#value(id, CONTAINER);
    let pod: PodAccumulator | undefined;
    if (namespace.includes("/") || podName.includes("/")) {
      const key = namespace + "/" + podName;
      this.#podsBySlashKey ??= new Map();
      pod = this.#podsBySlashKey.get(key);
      if (pod === undefined) {
        pod = this.#newPod(namespace, podName);
        this.#podsBySlashKey.set(key, pod);
      }
    } else {
      this.#pods ??= new Map();
      let byName = this.#pods.get(namespace);
      if (byName === undefined) {
        byName = new Map();
        this.#pods.set(namespace, byName);
      }
      pod = byName.get(podName);
      if (pod === undefined) {
        pod = this.#newPod(namespace, podName);
        byName.set(podName, pod);
      }
    }
    let c = findContainer(pod, containerName);
    if (c === undefined) {
      if (this.#containersUsed < this.#containerPool.length) {
        c = this.#containerPool[this.#containersUsed];
        resetContainer(c, containerName);
      } else {
        c = new EmptyContainer(containerName);
        this.#containerPool.push(c);
      }
      this.#containersUsed++;
      addContainer(pod, c);
    }
    this.#accumulators[id] = c;
    return c;
  }

  #newPod(namespace: string, name: string): PodAccumulator {
    let pod: PodAccumulator;
    if (this.#podsUsed < this.#podPool.length) {
      pod = this.#podPool[this.#podsUsed];
      pod.namespace = namespace;
      pod.name = name;
      pod.containers.length = 0;
      pod.byName = undefined;
    } else {
      pod = newPod(namespace, name);
      this.#podPool.push(pod);
    }
    this.#podsUsed++;
    this.#podList.push(pod);
    return pod;
  }
}

const EMPTY_SPANS: LabelSpans = {
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

function resetSpans(spans: LabelSpans): void {
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

// Decoders not in use. Usually one: a decode that starts while another is running (an intern callback
// that decodes) takes a fresh one instead of sharing tables.
const idle: ByteDecoder[] = [];

/**
 * Decodes one kubelet /metrics/resource body that is pure ASCII (see decodeResourceMetrics).
 * @throws ParseError as the string decoder does.
 */
export function decodeAsciiResourceMetrics(
  bytes: Uint8Array,
  nodeName: string,
  defaultTimestampMs: number,
  intern: (s: string) => string,
): NodeScrape {
  const decoder = idle.pop() ?? new ByteDecoder();
  try {
    return decoder.decode(bytes, nodeName, defaultTimestampMs, intern);
  } finally {
    idle.push(decoder);
  }
}
