// The scraper thread behind WorkerScraper: a real KubeletClient and Scraper, so TLS, gunzip and
// decoding run here and the API's event loop stays free. Log lines and metric observations are
// forwarded to the main thread, which writes and records them exactly as the in-process scraper would.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import type { Node } from "../../kube/index.ts";
import * as log from "../../log/index.ts";
import type { NodeScrape } from "../../storage/index.ts";
import type { ScrapeEndpoint } from "../endpoint.ts";
import { KubeletClient } from "../kubelet/index.ts";
import { redirectKubeletRequestMetrics } from "../monitoring.ts";
import { Scraper } from "../scraper.ts";
import { type PackedMessage, pack } from "./packing.ts";
import type { FromWorker, ToWorker, WorkerEvent, WorkerInit } from "./protocol.ts";

if (!parentPort) throw new Error("thread.ts runs only as a worker thread (see WorkerScraper)");
const port = parentPort;
const init = workerData as WorkerInit;

// Events are batched per event-loop turn: thousands of per-node observations in single messages
// would cost the main thread one callback each.
let outbox: WorkerEvent[] = [];
let flushScheduled = false;
function queueEvent(event: WorkerEvent): void {
  outbox.push(event);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushEvents);
  }
}
function flushEvents(): void {
  flushScheduled = false;
  if (outbox.length === 0) return;
  const events = outbox;
  outbox = [];
  post({ type: "events", events });
}
function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

log.setVerbosity(init.verbosity);

/**
 * Scraping is throughput work, API requests are latency work: when both want the CPU, the API's
 * thread should win. On Linux a thread has a nice value of its own, and /proc/thread-self names its
 * id, so this thread alone gets nice +10 (CFS weight 110 against the API thread's 1024) without
 * affecting the rest of the process. Elsewhere, or if it fails, the thread keeps its priority.
 * Not before the first tick is done: until then there are no metrics to serve, and the first tick is
 * the costly one (a full TLS handshake with every kubelet). At 5,000 nodes on a busy 2-core machine it
 * runs into the deadline either way; at nice 0 it reached 4,006 nodes instead of 3,601 (one run each).
 */
function lowerThreadPriority(): void {
  if (process.platform !== "linux") return;
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) setPriority(tid, 10);
  } catch (err) {
    log.V(2).info("Scraper thread keeps its CPU priority", { err: String(err) });
  }
}
log.setSink((line) => queueEvent({ kind: "log", line }));
redirectKubeletRequestMetrics({
  observe: (node, seconds, success, endTimeMs) =>
    queueEvent({ kind: "observe", node, seconds, success, endTimeMs }),
  forget: (node) => queueEvent({ kind: "forget", node }),
});

// structured clone turns Buffers into plain Uint8Arrays; node:tls wants Buffers.
const asBuffer = (b: Uint8Array | undefined): Buffer | undefined =>
  b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

let token: string | undefined;
let tokenError: string | undefined;
const client = new KubeletClient({
  ...init.client,
  ca: asBuffer(init.client.ca),
  cert: asBuffer(init.client.cert),
  key: asBuffer(init.client.key),
  bearerToken: init.hasBearerToken
    ? () => {
        if (tokenError !== undefined) throw new Error(tokenError);
        return token;
      }
    : undefined,
});
// Names are interned on the main thread, where the store keeps them (see internAcrossScrapes).
const scraper = new Scraper({
  ...init.scraper,
  client,
  internAcrossScrapes: false,
  onReport: init.reports ? (report) => queueEvent({ kind: "report", report }) : undefined,
});

/** The endpoints last reported to the main thread. */
const reportedEndpoints = new Map<string, ScrapeEndpoint>();
let current: { id: number; controller: AbortController } | undefined;

/**
 * Results go out while the tick runs, so the main thread can store the nodes that answered before the
 * slow ones do. Nodes are gathered into a message until it holds containersPerMessage containers or
 * FLUSH_MS has passed since its first node: one message per node would cost the main thread a
 * callback and a name table each.
 */
const FLUSH_MS = 50;

interface ResultPart {
  packed: PackedMessage | undefined;
  failed: string[];
}

/** The results of the tick being sent. */
interface TickResults {
  id: number;
  gathered: NodeScrape[];
  gatheredContainers: number;
  gatheredFailed: string[];
  /** Parts cut and not yet sent (the window is full). */
  parts: ResultPart[];
  timer: NodeJS.Timeout | undefined;
  /** The scrape has ended: nothing more is gathered. */
  done: boolean;
  endpoints: [string, ScrapeEndpoint | null][];
}
let results: TickResults | undefined;

port.on("message", (msg: ToWorker) => {
  switch (msg.type) {
    case "tick":
      void runTick(msg);
      return;
    case "abort":
      if (current?.id === msg.id) current.controller.abort(new Error("context deadline exceeded"));
      return;
    case "next":
      if (results?.id === msg.id) {
        unacked--;
        sendNext();
      }
      return;
    case "crash":
      setImmediate(() => {
        throw new Error("crash requested by a test");
      });
  }
});

let priorityLowered = false;
async function runTick(msg: Extract<ToWorker, { type: "tick" }>): Promise<void> {
  log.setVerbosity(msg.verbosity);
  token = msg.token;
  tokenError = msg.tokenError;
  const controller = new AbortController();
  if (msg.aborted) controller.abort(new Error("context deadline exceeded"));
  current = { id: msg.id, controller };
  const out: TickResults = {
    id: msg.id,
    gathered: [],
    gatheredContainers: 0,
    gatheredFailed: [],
    parts: [],
    timer: undefined,
    done: false,
    endpoints: [],
  };
  results = out;
  unacked = 0;
  // Scraper.scrapeEach never throws because of a node; anything else is a bug that should restart us.
  // Duplicate pods across nodes are dropped on the main thread, which has every node's result.
  const nodes = JSON.parse(msg.nodesJSON) as (Node | null)[];
  const names = await scraper.scrapeEach(nodes as never, controller.signal, (node, scrape) =>
    gather(out, node, scrape),
  );
  if (!priorityLowered) {
    priorityLowered = true;
    lowerThreadPriority(); // after the log sink is set: a failure is logged by the main thread
  }
  current = undefined;
  clearTimeout(out.timer);
  cut(out);
  out.done = true;
  out.endpoints = endpointDiff(new Set(names));
  sendNext();
}

function gather(out: TickResults, node: string, scrape: NodeScrape | undefined): void {
  if (scrape === undefined) out.gatheredFailed.push(node);
  else {
    out.gathered.push(scrape);
    out.gatheredContainers += scrape.containerCount;
  }
  if (out.gatheredContainers >= init.containersPerMessage) {
    clearTimeout(out.timer);
    out.timer = undefined;
    cut(out);
    sendNext();
  } else if (out.timer === undefined) {
    out.timer = setTimeout(() => {
      out.timer = undefined;
      cut(out);
      sendNext();
    }, FLUSH_MS);
  }
}

/** Packs what has been gathered into a part to send. */
function cut(out: TickResults): void {
  if (out.gathered.length === 0 && out.gatheredFailed.length === 0) return;
  out.parts.push({
    packed: out.gathered.length === 0 ? undefined : pack(out.gathered),
    failed: out.gatheredFailed,
  });
  out.gathered = [];
  out.gatheredContainers = 0;
  out.gatheredFailed = [];
}

/**
 * Result messages sent ahead of the main thread's acknowledgements. One at a time, each hand-off
 * waited for a round trip through both threads, and with this thread at nice +10 on a busy machine
 * that was ~5 ms per message: ~0.4 s per 5,000-node tick. The main thread still takes each message
 * in its own turn and asks for more only after it (so API requests are served between them).
 */
const RESULT_WINDOW = 4;
/** Result messages (other than the last) sent and not yet acknowledged with "next". */
let unacked = 0;

function sendNext(): void {
  while (results && unacked < RESULT_WINDOW) {
    const out = results;
    if (out.parts.length === 0 && !out.done) return; // more to come
    const part = out.parts.shift();
    const last = out.done && out.parts.length === 0;
    const msg: FromWorker = {
      type: "result",
      id: out.id,
      packed: part?.packed?.message ?? null,
      last,
      done: out.done,
    };
    if (part !== undefined && part.failed.length > 0) msg.failed = part.failed;
    if (last) {
      msg.endpoints = out.endpoints;
      results = undefined;
    } else unacked++;
    // Log lines of the tick go out before its results, so the main side sees them in order.
    flushEvents();
    post(msg, part?.packed?.transfer);
  }
}

/** Endpoint changes since the last report: nodes the scraper forgot (null) and new or switched ones. */
function endpointDiff(names: Set<string>): [string, ScrapeEndpoint | null][] {
  const changes: [string, ScrapeEndpoint | null][] = [];
  for (const name of reportedEndpoints.keys()) {
    if (scraper.endpointOf(name) === undefined) {
      reportedEndpoints.delete(name);
      changes.push([name, null]);
    }
  }
  for (const name of names) {
    const endpoint = scraper.endpointOf(name);
    if (endpoint !== undefined && reportedEndpoints.get(name) !== endpoint) {
      reportedEndpoints.set(name, endpoint);
      changes.push([name, endpoint]);
    }
  }
  return changes;
}
