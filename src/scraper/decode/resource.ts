// The decoder of the kubelet's /metrics/resource body (Prometheus text exposition 0.0.4) into one
// columnar NodeScrape, as upstream's kubernetes-sigs/metrics-server
// pkg/scraper/client/resource/decode.go reads it: the families in families.ts are kept, a line of any
// other family is only checked for shape, and a malformed line fails the whole body. It reads the
// body's bytes: kubelets send ASCII, and any other byte is UTF-8 text (label values may hold any
// character), read as such where a string is made of it.
//
// Built for 5,000 bodies of 60 containers per tick in one thread; where the time goes and what is
// done about it:
// - Families come in runs: a line's metric name is compared in place with the previous line's.
// - Container families list the same label sets in the same order, so line k of a run is compared in
//   place with line k of the previous run; on a match the set is not parsed again.
// - Otherwise the `{...}` span is parsed into byte ranges (labels.ts), and looked up by hash and bytes
//   among the sets this body has already seen, so equal sets share one record and one container.
// - Label values become strings only when a container family first uses the set, once per distinct
//   value per body, and then go through `intern`.
// - Numbers are read from the bytes, in the same pass that finds where they end (numbers.ts).
// - The tables and the pod and container accumulators live in a ResourceDecoder that is reused for the
//   next body, so a body allocates little more than the NodeScrape it returns.
import { Buffer, isAscii } from "node:buffer";
import {
  buildScrape,
  type ContainerAccumulator,
  completeNode,
  completePods,
  conflictProblems,
  type DecodedScrape,
  type DecodeProblems,
  EmptyContainer,
  resetContainer,
  SERIES_TRUSTED,
  seriesName,
} from "./accumulators.ts";
import * as ranges from "./byte-ranges.ts";
import * as families from "./families.ts";
import type { LabelSpans } from "./labels.ts";
import * as labels from "./labels.ts";
import { attachLeftOut, newLeftOutList } from "./left-out.ts";
import * as numbers from "./numbers.ts";
import { PodTable } from "./pod-table.ts";
import { SpanTable } from "./span-table.ts";
import * as syntax from "./syntax.ts";

// Module constants, not imported bindings, in the per-line loops: V8 reads an import through its
// module cell at every use, which made these loops measurably slower (docs/scraping.md).
const { asciiText, hashBytes, sameBytes, utf8Text } = ranges;
const { conflictingFamilies, FAMILY_NAME, FAMILY_OF_NODE, familyOf, recordSample } = families;
const { NO_SPANS, parseLabelBytes, resetSpans } = labels;
const { readSample, SAMPLE_TIMESTAMP, SAMPLE_VALUE } = numbers;
const {
  atLineEnd,
  CH_CR,
  CH_HASH,
  CH_LBRACE,
  CH_LF,
  isBlank,
  isNameChar,
  isNameStart,
  nameEndsAt,
  ParseError,
} = syntax;

const identity = (s: string): string => s;
const EMPTY = new Uint8Array(0);
const EMPTY_VIEW: DataView = new DataView(EMPTY.buffer);

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

// A label set's record: 6 ints in ResourceDecoder.#spans (value ranges, see LabelSpans) and 3 strings in
// #texts (values with escapes), in this order.
const CONTAINER = 0;
const NAMESPACE = 1;
const POD = 2;
const SPAN_FIELDS = 6;
/** Set id of a sample without labels: all three values "". */
const NO_LABELS = 0;

/** Decodes bodies one at a time, keeping its tables for the next body. Not re-entrant. */
class ResourceDecoder {
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
  readonly #scratch: LabelSpans = { ...NO_SPANS };
  // Per body.
  #bytes: Uint8Array = EMPTY;
  #view: DataView = EMPTY_VIEW;
  /** The body is ASCII (as every kubelet's is): label values are read the fast way. */
  #ascii = true;
  /** The node's own point, recorded as a container's is. */
  readonly #node = new EmptyContainer("");
  #intern: (s: string) => string = identity;
  readonly #pods = new PodTable();

  decode(
    bytes: Uint8Array,
    nodeName: string,
    defaultTimestampMs: number,
    intern: (s: string) => string,
  ): DecodedScrape {
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
    this.#ascii = isAscii(bytes);
    this.#intern = intern;
    resetContainer(this.#node, "");
    this.#labelSets.clear();
    this.#nameIndex.clear();
    this.#names.length = 0;
    this.#current.reset();
    this.#previous.reset();
    this.#pods.begin();
    // One odd body must not make the decoder hold its size for good.
    if (this.#accumulators.length > 1024) {
      this.#spans = new Int32Array(64 * SPAN_FIELDS);
      this.#texts = [];
      this.#accumulators = [];
    }
    this.#setCount = 0;
    this.#addSet(NO_SPANS);
  }

  /** Lets go of what belongs to the body (the decoder outlives it). */
  #end(): void {
    this.#bytes = EMPTY;
    this.#view = EMPTY_VIEW;
    this.#intern = identity;
    this.#pods.end();
    this.#accumulators.fill(undefined, 0, this.#setCount);
    this.#texts.fill("", 0, this.#setCount * 3);
    this.#names.length = 0;
  }

  #decode(bytes: Uint8Array, nodeName: string, defaultTimestampMs: number): DecodedScrape {
    const nodePoint = this.#node;
    // The previous sample line's metric name (as a range of the body) and its family (0 = not stored).
    let lastNameStart = 0;
    let lastNameLength = 0;
    let lastFamily = 0;
    let run = this.#current;
    let previousRun = this.#previous;
    const accumulators = this.#accumulators;
    const view = this.#view;
    const sample = this.#sample;

    /** Series sent twice with different values (see recordSample). */
    let conflicts = 0;

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
        if (family !== 0) i = start + FAMILY_NAME[family].length;
        else {
          // Other families are not kept, but their lines are still checked for shape (no values are
          // computed) so that a truncated or non-Prometheus body fails as it does upstream instead of
          // silently yielding an empty node.
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

      if (family !== 0) {
        const c = FAMILY_OF_NODE[family] === 1 ? nodePoint : (accumulators[set] ?? this.#containerOf(set));
        conflicts += recordSample(c, family, value, timestampMs);
      }
    }
    this.#current = run;
    this.#previous = previousRun;

    // A node point whose cpu or memory came twice with different values is not trusted.
    const trusted = (nodePoint.conflicts & SERIES_TRUSTED) === 0;
    const node = completeNode(nodeName, {
      timestampMs: trusted ? nodePoint.timestampMs : 0,
      cpuNs: trusted ? nodePoint.cpuNs : 0,
      cpuNsRemainder: 0,
      memoryBytes: trusted ? nodePoint.memoryBytes : 0,
      startTimeMs: nodePoint.startTimeMs,
    });
    const leftOut = newLeftOutList();
    const scrape: DecodedScrape = buildScrape(
      nodeName,
      node,
      completePods(this.#pods.list, nodeName, leftOut),
      nodePoint.swapBytes,
    );
    attachLeftOut(scrape, leftOut);
    if (conflicts > 0) scrape.problems = this.#conflictProblems();
    return scrape;
  }

  /** The problems of a body with conflicting series: the node's and the containers'. */
  #conflictProblems(): DecodeProblems {
    const series = conflictingFamilies(this.#node.conflicts, true).map((family) => seriesName(family));
    for (const pod of this.#pods.list) {
      for (const c of pod.containers) {
        for (const family of conflictingFamilies(c.conflicts, false))
          series.push(seriesName(family, pod.namespace, pod.name, c.name));
      }
    }
    return conflictProblems(series);
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
      const text = this.#ascii ? asciiText(bytes, start, end) : utf8Text(bytes, start, end);
      this.#names.push(this.#intern(text));
      this.#nameIndex.add(start, length, hash, index);
    }
    return this.#names[index];
  }

  /** The container of set `id`, created empty on first sight. */
  #containerOf(id: number): ContainerAccumulator {
    const c = this.#pods.containerOf(
      this.#value(id, NAMESPACE),
      this.#value(id, POD),
      this.#value(id, CONTAINER),
    );
    this.#accumulators[id] = c;
    return c;
  }
}

// Decoders not in use. Usually one: a decode that starts while another is running (an intern callback
// that decodes) takes a fresh one instead of sharing tables.
const idle: ResourceDecoder[] = [];

/**
 * Decodes one kubelet /metrics/resource body.
 * @param body the body's bytes; a string (as tests pass) is read as its UTF-8 encoding.
 * @param defaultTimestampMs used for samples without a timestamp (upstream: the request start time).
 * @param intern shares repeated namespace/pod/container strings across scrapes; must return a string
 * equal to its argument.
 * @returns the node's scrape; with `problems` when the body sent a series twice with different values
 * (that node point, or those containers' pods, are left out).
 * @throws ParseError("failed parsing metrics: <what> at line N") on malformed input.
 */
export function decodeResourceMetrics(
  body: Uint8Array | string,
  nodeName: string,
  defaultTimestampMs: number,
  intern: (s: string) => string = identity,
): DecodedScrape {
  let bytes: Uint8Array;
  if (typeof body === "string") bytes = Buffer.from(body, "utf8");
  // Bytes are read as a UTF-8 decoder reads them, which skips a leading byte order mark.
  else bytes = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
  const decoder = idle.pop() ?? new ResourceDecoder();
  try {
    return decoder.decode(bytes, nodeName, defaultTimestampMs, intern);
  } finally {
    idle.push(decoder);
  }
}
