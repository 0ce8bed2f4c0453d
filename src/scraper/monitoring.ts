// The scraper's three self-metrics, named and rendered as kubernetes-sigs/metrics-server
// pkg/scraper/scraper.go defines them.
//
// The request counter is a plain prom-client metric. The two per-node families are not: at 5,000
// nodes they are ~75,000 sample lines, and prom-client renders a registry in one synchronous step
// (~150 ms plus the garbage of one object per sample), stalling every API request on the event loop.
// KubeletNodeSeries keeps them in typed-array columns instead and renders them in chunks of nodes,
// which the server streams with a turn of the event loop between chunks. The text is byte-for-byte
// what prom-client rendered for the same observations (monitoring.test.ts compares the two).
import { Counter, type Registry } from "prom-client";

export const KUBELET_REQUEST_DURATION = "metrics_server_kubelet_request_duration_seconds";
export const KUBELET_REQUEST_TOTAL = "metrics_server_kubelet_request_total";
export const KUBELET_LAST_REQUEST_TIME = "metrics_server_kubelet_last_request_time_seconds";

const DURATION_HELP = "[ALPHA] Duration of requests to Kubelet API in seconds";
const LAST_REQUEST_TIME_HELP =
  "[ALPHA] Time of last request performed to Kubelet API since unix epoch in seconds";
/** Prometheus' default buckets, as upstream uses. */
const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BUCKETS = DURATION_BUCKETS.length;

/** Nodes per rendered chunk: ~7,000 lines, well under a millisecond each on a server core. */
export const DEFAULT_NODES_PER_CHUNK = 500;

export const kubeletRequestTotal = new Counter({
  name: KUBELET_REQUEST_TOTAL,
  help: "[ALPHA] Number of requests sent to Kubelet API",
  labelNames: ["success"] as const,
  registers: [],
});

/** Number text as prom-client writes it (its getValueAsString), so the output does not change. */
function sampleValue(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return `${value}`;
}

/** A label value escaped for the text format 0.0.4: backslash, newline and double quote. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

// Line prefixes that never change, built once.
const BUCKET_PREFIXES = DURATION_BUCKETS.map((le) => `${KUBELET_REQUEST_DURATION}_bucket{le="${le}",`);
const INF_BUCKET_PREFIX = `${KUBELET_REQUEST_DURATION}_bucket{le="+Inf",`;
const SUM_PREFIX = `${KUBELET_REQUEST_DURATION}_sum{`;
const COUNT_PREFIX = `${KUBELET_REQUEST_DURATION}_count{`;
const LAST_TIME_PREFIX = `${KUBELET_LAST_REQUEST_TIME}{`;
const DURATION_HEAD = `# HELP ${KUBELET_REQUEST_DURATION} ${DURATION_HELP}\n# TYPE ${KUBELET_REQUEST_DURATION} histogram\n`;
const LAST_TIME_HEAD = `# HELP ${KUBELET_LAST_REQUEST_TIME} ${LAST_REQUEST_TIME_HELP}\n# TYPE ${KUBELET_LAST_REQUEST_TIME} gauge\n`;

const INITIAL_CAPACITY = 64;

/**
 * The per-node histogram and gauge, one slot per node in columns. Nodes keep the order they were
 * first seen in (a forgotten node that comes back goes last), as prom-client kept them.
 */
export class KubeletNodeSeries {
  /** Node name → slot. Map order is the order nodes were (re)added. */
  readonly #slots = new Map<string, number>();
  /** Per slot: `node="<escaped>"}`, the label text closing every line of the node. */
  #labelText: (string | undefined)[] = [];
  /** Per slot, BUCKETS cumulative counts (le=bound for each bound). */
  #buckets = new Float64Array(INITIAL_CAPACITY * BUCKETS);
  #sum = new Float64Array(INITIAL_CAPACITY);
  #count = new Float64Array(INITIAL_CAPACITY);
  /** Unix seconds the last request ended; NaN until a request was recorded. */
  #lastTime = new Float64Array(INITIAL_CAPACITY);
  readonly #freeSlots: number[] = [];
  #nextSlot = 0;

  get size(): number {
    return this.#slots.size;
  }

  /** Records one request: a duration in seconds (non-finite durations are not observed) and its end. */
  observe(node: string, durationSeconds: number, endTimeMs: number): void {
    const slot = this.#slotFor(node);
    if (Number.isFinite(durationSeconds)) {
      this.#sum[slot] += durationSeconds;
      this.#count[slot] += 1;
      const base = slot * BUCKETS;
      for (let i = 0; i < BUCKETS; i++) {
        if (durationSeconds <= DURATION_BUCKETS[i]!) this.#buckets[base + i]! += 1;
      }
    }
    this.#lastTime[slot] = endTimeMs / 1000;
  }

  /** Drops a node's series; unknown nodes are ignored. */
  forget(node: string): void {
    const slot = this.#slots.get(node);
    if (slot === undefined) return;
    this.#slots.delete(node);
    this.#labelText[slot] = undefined;
    this.#freeSlots.push(slot);
  }

  /**
   * Both families in the text format, as prom-client renders a registry holding just these two
   * (histogram, blank line, gauge), split into chunks of at most `nodesPerChunk` nodes. Lazy: each
   * chunk is rendered when asked for, from the values at that moment, so a consumer that yields
   * between chunks never blocks for more than one chunk. The node list is taken when rendering
   * starts; a node forgotten meanwhile is left out, and a slot is printed at most once per family,
   * so each series appears at most once even when nodes come and go between chunks.
   */
  *render(nodesPerChunk = DEFAULT_NODES_PER_CHUNK): Generator<string, void, undefined> {
    const perChunk = Math.max(1, Math.floor(nodesPerChunk) || DEFAULT_NODES_PER_CHUNK);
    const slots = Int32Array.from(this.#slots.values());
    yield DURATION_HEAD;
    for (let from = 0; from < slots.length; from += perChunk) {
      yield this.#durationLines(slots, from, Math.min(from + perChunk, slots.length));
    }
    yield "\n" + LAST_TIME_HEAD;
    for (let from = 0; from < slots.length; from += perChunk) {
      yield this.#lastTimeLines(slots, from, Math.min(from + perChunk, slots.length));
    }
  }

  #durationLines(slots: Int32Array, from: number, to: number): string {
    let text = "";
    for (let i = from; i < to; i++) {
      const slot = slots[i]!;
      const labels = this.#labelText[slot];
      if (labels === undefined) continue;
      const base = slot * BUCKETS;
      for (let b = 0; b < BUCKETS; b++) {
        text += BUCKET_PREFIXES[b] + labels + " " + sampleValue(this.#buckets[base + b]!) + "\n";
      }
      const count = sampleValue(this.#count[slot]!);
      text += INF_BUCKET_PREFIX + labels + " " + count + "\n";
      text += SUM_PREFIX + labels + " " + sampleValue(this.#sum[slot]!) + "\n";
      text += COUNT_PREFIX + labels + " " + count + "\n";
    }
    return text;
  }

  #lastTimeLines(slots: Int32Array, from: number, to: number): string {
    let text = "";
    for (let i = from; i < to; i++) {
      const slot = slots[i]!;
      const labels = this.#labelText[slot];
      if (labels === undefined) continue;
      text += LAST_TIME_PREFIX + labels + " " + sampleValue(this.#lastTime[slot]!) + "\n";
    }
    return text;
  }

  #slotFor(node: string): number {
    const known = this.#slots.get(node);
    if (known !== undefined) return known;
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      slot = this.#nextSlot++;
      if (slot >= this.#sum.length) this.#grow(this.#sum.length * 2);
    }
    this.#buckets.fill(0, slot * BUCKETS, (slot + 1) * BUCKETS);
    this.#sum[slot] = 0;
    this.#count[slot] = 0;
    this.#lastTime[slot] = Number.NaN;
    this.#labelText[slot] = `node="${escapeLabelValue(node)}"}`;
    this.#slots.set(node, slot);
    return slot;
  }

  #grow(capacity: number): void {
    const grown = (old: Float64Array<ArrayBuffer>, width: number): Float64Array<ArrayBuffer> => {
      const next = new Float64Array(capacity * width);
      next.set(old);
      return next;
    };
    this.#buckets = grown(this.#buckets, BUCKETS);
    this.#sum = grown(this.#sum, 1);
    this.#count = grown(this.#count, 1);
    this.#lastTime = grown(this.#lastTime, 1);
  }
}

/** The process's kubelet request series (main thread; the worker forwards to it). */
const nodeSeries = new KubeletNodeSeries();

/** Adds the request counter to a registry (idempotent per registry). The per-node families are
 * rendered by kubeletNodeFamilies and appended to the registry's text by the /metrics handler. */
export function registerScraperMetrics(registry: Registry): void {
  if (!registry.getSingleMetric(KUBELET_REQUEST_TOTAL)) registry.registerMetric(kubeletRequestTotal);
}

/**
 * The per-node families (request duration histogram, last request time gauge) in Prometheus text
 * format 0.0.4, lazily in chunks of `nodesPerChunk` nodes. Joined, the chunks are complete families
 * (HELP, TYPE, samples) separated by a blank line and ending in a newline.
 */
export function kubeletNodeFamilies(nodesPerChunk = DEFAULT_NODES_PER_CHUNK): Iterable<string> {
  return nodeSeries.render(nodesPerChunk);
}

/**
 * Where observations go instead of this module's metrics. Inside the scraper worker thread these
 * metrics live in a registry nobody exposes, so the worker forwards every observation to the main
 * thread, which records it here with the same functions.
 */
export interface KubeletRequestObserver {
  observe(node: string, durationSeconds: number, success: boolean, endTimeMs: number): void;
  forget(node: string): void;
}

let redirect: KubeletRequestObserver | undefined;

/** Sends every later observation to `observer` (undefined: record locally again). */
export function redirectKubeletRequestMetrics(observer: KubeletRequestObserver | undefined): void {
  redirect = observer;
}

/** Records one kubelet request: its duration (seconds), outcome and end time (Unix ms, default now). */
export function observeKubeletRequest(
  node: string,
  durationSeconds: number,
  success: boolean,
  endTimeMs = Date.now(),
): void {
  if (redirect) {
    redirect.observe(node, durationSeconds, success, endTimeMs);
    return;
  }
  nodeSeries.observe(node, durationSeconds, endTimeMs);
  kubeletRequestTotal.inc({ success: success ? "true" : "false" });
}

/** Drops a vanished node's series, so node churn does not grow the exposition without bound. */
export function forgetNode(node: string): void {
  if (redirect) {
    redirect.forget(node);
    return;
  }
  nodeSeries.forget(node);
}
