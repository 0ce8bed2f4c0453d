// The scraper thread behind WorkerScraper: a real KubeletClient and Scraper, so TLS, gunzip and
// decoding run here and the API's event loop stays free. Log lines and metric observations are
// forwarded to the main thread, which writes and records them exactly as the in-process scraper would.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import type { Node } from "../../kube/index.ts";
import * as log from "../../log/index.ts";
import type { ScrapeEndpoint } from "../endpoint.ts";
import { KubeletClient } from "../kubelet/index.ts";
import { redirectKubeletRequestMetrics } from "../monitoring.ts";
import { Scraper } from "../scraper.ts";
import { type PackedMessage, packBatch } from "./packing.ts";
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
const scraper = new Scraper({ ...init.scraper, client, internAcrossScrapes: false });

/** The endpoints last reported to the main thread. */
const reportedEndpoints = new Map<string, ScrapeEndpoint>();
let current: { id: number; controller: AbortController } | undefined;
/** Result messages of the finished tick not yet asked for. */
let pending: { id: number; messages: PackedMessage[] } | undefined;

port.on("message", (msg: ToWorker) => {
  switch (msg.type) {
    case "tick":
      void runTick(msg);
      return;
    case "abort":
      if (current?.id === msg.id) current.controller.abort(new Error("context deadline exceeded"));
      return;
    case "next":
      if (pending?.id === msg.id) {
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
  // Scraper.scrape never throws because of a node; anything else is a bug that should restart us.
  const nodes = JSON.parse(msg.nodesJSON) as (Node | null)[];
  const batch = await scraper.scrape(nodes as never, controller.signal);
  if (!priorityLowered) {
    priorityLowered = true;
    lowerThreadPriority(); // after the log sink is set: a failure is logged by the main thread
  }
  current = undefined;
  pending = { id: msg.id, messages: packBatch(batch, init.containersPerMessage) };
  unacked = 0;
  const names = new Set<string>();
  for (const n of nodes) if (typeof n?.metadata?.name === "string") names.add(n.metadata.name);
  endpointChanges = endpointDiff(names);
  sendNext();
}

let endpointChanges: [string, ScrapeEndpoint | null][] = [];

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
  while (pending && unacked < RESULT_WINDOW) {
    const next = pending.messages.shift();
    const last = pending.messages.length === 0;
    const msg: FromWorker = { type: "result", id: pending.id, packed: next?.message ?? null, last };
    if (last) {
      msg.endpoints = endpointChanges;
      pending = undefined;
    } else unacked++;
    // Log lines of the tick go out before its results, so the main side sees them in order.
    flushEvents();
    post(msg, next?.transfer);
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
