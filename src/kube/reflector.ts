// A client-go style reflector: LIST (paginated) into a cache, then WATCH from the list's
// resourceVersion, re-watching when a watch ends, relisting on 410 Gone and backing off on errors.
// The cache (object-cache.ts) is the ObjectStore the rest of the server reads (nodes to scrape,
// Running pods). Slightly over 400 lines: the list and watch steps share the resourceVersion, the
// Accept form and the health state, so they stay one class; failure logging is in failure-log.ts.

import * as log from "../log/index.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { ApiError, apiErrorFromStatus, type KubeClient } from "./client.ts";
import { FailureLog } from "./failure-log.ts";
import type { LabelIndex, LabelPredicate } from "./label-index.ts";
import { type Buckets, ObjectCache, putIn } from "./object-cache.ts";
import type { ObjectMeta, ObjectStore } from "./types.ts";

export interface ReflectorOptions<T> {
  client: KubeClient;
  /** Used in log lines. */
  name: string;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** Ask for PartialObjectMetadata instead of full objects. */
  metadataOnly?: boolean;
  /** Applied to every object before it is cached, to drop fields nobody reads. */
  transform?: (obj: T) => T;
  /**
   * Called with each cached object (a transform's result) once it leaves the cache: deleted, replaced
   * by a newer version, or dropped by a relist. Lets a transform that shares parts between objects
   * give its references back.
   */
  release?: (obj: T) => void;
  /** Called after every change to the cache (a list or an applied event). */
  onChange?: () => void;
  /**
   * Keep a LabelIndex beside the cache so selectNamespace/selectAll judge each distinct labels
   * object once. Pays off when a transform shares label maps between objects (the pod cache).
   */
  indexLabels?: boolean;
  backoff?: BackoffOptions;
}

interface ListResponse<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

const LIST_PAGE_SIZE = "500";
const MIN_WATCH_TIMEOUT_S = 300;
// Client-side limit on a watch beyond its timeoutSeconds, in case the server or network hangs.
const WATCH_GRACE_MS = 30_000;
// A watch that ends this quickly without events is treated as a failure, so it cannot spin.
const SHORT_WATCH_MS = 1000;
// A Retry-After longer than this is not believed (a broken proxy); the backoff still applies.
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export const LIST_ACCEPT_METADATA =
  "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json";
export const WATCH_ACCEPT_METADATA =
  "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json";

function hasName(obj: unknown): obj is { metadata: ObjectMeta } {
  const meta = (obj as { metadata?: { name?: unknown } } | null)?.metadata;
  return typeof meta?.name === "string" && meta.name !== "";
}

function isGone(err: unknown): boolean {
  return err instanceof ApiError && err.status === 410;
}

/** The wait the server asked for (429 or 5xx with Retry-After), in ms; 0 when it asked for none. */
function retryAfterMs(err: unknown): number {
  const s = err instanceof ApiError ? err.retryAfterSeconds : undefined;
  return s === undefined ? 0 : Math.min(s * 1000, MAX_RETRY_AFTER_MS);
}

function isNotAcceptable(err: unknown): boolean {
  return err instanceof ApiError && err.status === 406;
}

function kindOf(obj: unknown): string | undefined {
  const kind = (obj as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" ? kind : undefined;
}

// Thrown inside the loop to ask for a relist after the usual backoff (state unknown after an ERROR).
class RelistError extends Error {}

// Thrown when the server refused the metadata-only Accept for a watch: retry at once with plain JSON.
class RetryNowError extends Error {}

export class Reflector<T extends { metadata: ObjectMeta }> implements ObjectStore<T> {
  private readonly opts: ReflectorOptions<T>;
  private readonly backoff: Backoff;
  private readonly cache: ObjectCache<T>;
  private synced = false;
  private resourceVersion = "";
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  // Starts as opts.metadataOnly; false for good once the server answers 406 to the metadata Accept.
  private askMetadata: boolean;
  private reportedForm = false;
  private lastErrorMessage: string | undefined;
  private lastSync: number | undefined;
  private readonly failures: FailureLog;
  // Watches answered 410 in a row, with only a relist between them: from the second on, back off.
  private goneInARow = 0;

  constructor(opts: ReflectorOptions<T>) {
    this.opts = opts;
    this.backoff = new Backoff(opts.backoff);
    this.askMetadata = opts.metadataOnly === true;
    this.cache = new ObjectCache(opts.indexLabels === true);
    this.failures = new FailureLog({ reflector: opts.name });
  }

  // ---- ObjectStore ------------------------------------------------------------------------------

  list(): readonly T[] {
    return this.cache.list();
  }

  listNamespace(namespace: string): readonly T[] {
    return this.cache.listNamespace(namespace);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Objects of `namespace` whose labels satisfy `matches` (a new array, unordered). */
  selectNamespace(namespace: string, matches: LabelPredicate): T[] {
    return this.cache.selectNamespace(namespace, matches);
  }

  /** Every object whose labels satisfy `matches` (a new array, unordered). */
  selectAll(matches: LabelPredicate): T[] {
    return this.cache.selectAll(matches);
  }

  /** The label index's sizes (undefined without opts.indexLabels), for tests and measurements. */
  get labelIndexStats(): LabelIndex<T>["stats"] | undefined {
    return this.cache.labelIndexStats;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** start() was called and stop() was not. */
  get started(): boolean {
    return this.running !== undefined;
  }

  get size(): number {
    return this.cache.size;
  }

  /** The resourceVersion the next watch starts from ("" before the first list). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  // ---- health (diagnostics; readiness itself is hasSynced(), which stays true once set) ----------

  /** The most recent list/watch failure; cleared by the next successful list, watch start or event. */
  lastError(): string | undefined {
    return this.lastErrorMessage;
  }

  /** Unix ms of the last successful list, watch start or watch event; undefined before any. */
  get lastSyncMs(): number | undefined {
    return this.lastSync;
  }

  private succeeded(): void {
    this.lastErrorMessage = undefined;
    this.lastSync = Date.now();
    this.failures.succeeded("Reflector recovered");
  }

  private reportFailure(err: unknown, what: string, cause?: string): void {
    this.lastErrorMessage = err instanceof Error ? err.message : String(err);
    this.failures.failed(err, what, cause);
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** Starts listing and watching in the background until stop(). Calling it twice does nothing. */
  start(): void {
    if (this.running) return;
    const controller = new AbortController();
    this.controller = controller;
    this.running = this.run(controller.signal).catch((err) => {
      // run() handles its own errors; this only guards against a bug turning into an unhandled rejection.
      log.error(err, "Reflector stopped unexpectedly", { reflector: this.opts.name });
    });
  }

  /** Stops the background loop and waits for it (and its HTTP request) to finish. */
  async stop(): Promise<void> {
    this.controller?.abort();
    await this.running;
    this.running = undefined;
    this.controller = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      let phase: "list" | "watch" = "list";
      try {
        if (needList) {
          await this.listAll(signal);
          needList = false;
        }
        phase = "watch";
        await this.watchOnce(signal);
        this.goneInARow = 0;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof RetryNowError) continue;
        if (isGone(err) && phase === "watch") {
          // Our resourceVersion is too old: the only way forward is a fresh list, right away. A watch
          // from a list just made that expires again means a server that keeps answering 410: back
          // off, as client-go's reflector does between ListAndWatch rounds, instead of relisting hot.
          needList = true;
          if (this.goneInARow++ === 0) {
            log
              .V(2)
              .info("Watch expired, relisting", { reflector: this.opts.name, err: (err as Error).message });
            continue;
          }
          // The message names resourceVersions, which differ each time: one cause all the same.
          this.reportFailure(err, "Watch expired right after a relist", "410 right after a relist");
          await this.backoff.sleep(signal, retryAfterMs(err));
          continue;
        }
        this.goneInARow = 0;
        this.reportFailure(err, phase === "list" ? "Failed to list" : "Failed to watch");
        // After an ERROR event the cache may have missed changes; otherwise resume the watch.
        if (err instanceof RelistError) needList = true;
        await this.backoff.sleep(signal, retryAfterMs(err));
      }
    }
  }

  private baseQuery(): Record<string, string | undefined> {
    return {
      fieldSelector: this.opts.fieldSelector || undefined,
      labelSelector: this.opts.labelSelector || undefined,
    };
  }

  // The server refused the metadata-only form: ask for plain JSON from now on (slimmed all the same).
  private fallBackToFullObjects(): void {
    this.askMetadata = false;
    if (!this.reportedForm) {
      this.reportedForm = true;
      log.info("API server does not serve PartialObjectMetadata (406 Not Acceptable); using full objects", {
        reflector: this.opts.name,
      });
    }
  }

  // A server may ignore the metadata Accept and answer with full objects; that works, but say so once.
  private noteForm(kind: string | undefined, expected: string): void {
    if (!this.askMetadata || this.reportedForm || kind === undefined || kind === expected) return;
    this.reportedForm = true;
    log.info("API server serves full objects instead of PartialObjectMetadata", {
      reflector: this.opts.name,
      kind,
    });
  }

  private async listAll(signal: AbortSignal): Promise<void> {
    const fresh: Buckets<T> = new Map();
    let resourceVersion: string;
    try {
      resourceVersion = await this.listInto(fresh, signal);
    } catch (err) {
      // Nothing of a failed list is cached: give back what its objects took.
      this.releaseAll(fresh);
      throw err;
    }
    this.replace(fresh, resourceVersion);
  }

  /** Lists every page into `fresh`; returns the list's resourceVersion. */
  private async listInto(fresh: Buckets<T>, signal: AbortSignal): Promise<string> {
    let continueToken: string | undefined;
    let paginate = true;
    let resourceVersion = "";
    for (;;) {
      const query = {
        ...this.baseQuery(),
        limit: paginate ? LIST_PAGE_SIZE : undefined,
        continue: continueToken,
      };
      const accept = this.askMetadata ? LIST_ACCEPT_METADATA : "application/json";
      let page: ListResponse<T>;
      try {
        page = await this.opts.client.getJSON<ListResponse<T>>(this.opts.path, { query, accept, signal });
      } catch (err) {
        if (isNotAcceptable(err) && this.askMetadata) {
          this.fallBackToFullObjects();
          continue;
        }
        // An expired continue token: start over with one unpaginated list, as client-go's pager does.
        if (isGone(err) && continueToken !== undefined) {
          this.releaseAll(fresh);
          fresh.clear();
          continueToken = undefined;
          paginate = false;
          continue;
        }
        throw err;
      }
      if (!page || typeof page !== "object" || (page.items !== undefined && !Array.isArray(page.items)))
        throw new Error(`list ${this.opts.path}: response is not a list`);
      this.noteForm(kindOf(page), "PartialObjectMetadataList");
      for (const obj of page.items ?? []) this.addTo(fresh, obj);
      resourceVersion = page.metadata?.resourceVersion ?? "";
      continueToken = page.metadata?.continue || undefined;
      if (!continueToken) return resourceVersion;
    }
  }

  private addTo(buckets: Buckets<T>, obj: T): void {
    if (!hasName(obj)) {
      log.warning("Ignoring object without metadata.name", { reflector: this.opts.name });
      return;
    }
    const previous = putIn(buckets, this.opts.transform ? this.opts.transform(obj) : obj);
    // A list holding one object twice: keep the later copy, as a map keyed by name would.
    if (previous !== undefined) this.releaseOne(previous);
  }

  private releaseOne(obj: T): void {
    if (!this.opts.release) return;
    try {
      this.opts.release(obj);
    } catch (err) {
      log.error(err, "Reflector release handler failed", { reflector: this.opts.name });
    }
  }

  private releaseAll(buckets: Buckets<T>): void {
    if (!this.opts.release) return;
    for (const bucket of buckets.values()) for (const obj of bucket.values()) this.releaseOne(obj);
  }

  // The old objects are released after the new ones took their references, so shared parts carry over.
  private replace(fresh: Buckets<T>, resourceVersion: string): void {
    this.releaseAll(this.cache.replace(fresh));
    this.resourceVersion = resourceVersion;
    this.synced = true;
    this.succeeded();
    this.notify();
  }

  private notify(): void {
    try {
      this.opts.onChange?.();
    } catch (err) {
      log.error(err, "Reflector change handler failed", { reflector: this.opts.name });
    }
  }

  private upsert(obj: T): void {
    if (!hasName(obj)) {
      log.warning("Ignoring watch event for an object without metadata.name", { reflector: this.opts.name });
      return;
    }
    const previous = this.cache.put(this.opts.transform ? this.opts.transform(obj) : obj);
    if (previous !== undefined) this.releaseOne(previous);
    this.notify();
  }

  private remove(obj: T): void {
    if (!hasName(obj)) return;
    const stored = this.cache.delete(obj.metadata);
    if (stored === undefined) return;
    this.releaseOne(stored);
    this.notify();
  }

  private advance(obj: unknown): void {
    const rv = (obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
    if (typeof rv === "string" && rv !== "") this.resourceVersion = rv;
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const timeoutSeconds = MIN_WATCH_TIMEOUT_S + Math.floor(Math.random() * MIN_WATCH_TIMEOUT_S);
    const query = {
      ...this.baseQuery(),
      watch: "true",
      resourceVersion: this.resourceVersion || undefined,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(timeoutSeconds),
    };
    const accept = this.askMetadata ? WATCH_ACCEPT_METADATA : "application/json";
    // The watch's own controller also fires when the server overruns timeoutSeconds: a normal end.
    const watchController = new AbortController();
    const timer = setTimeout(() => watchController.abort(), timeoutSeconds * 1000 + WATCH_GRACE_MS);
    timer.unref();
    const onStop = (): void => watchController.abort();
    signal.addEventListener("abort", onStop, { once: true });
    const started = Date.now();
    let events = 0;
    try {
      for await (const ev of this.opts.client.watch<T>(
        this.opts.path,
        query,
        accept,
        watchController.signal,
        () => this.succeeded(),
      )) {
        events++;
        if (ev.type !== "ERROR") {
          this.succeeded();
          this.goneInARow = 0;
        }
        switch (ev.type) {
          case "ADDED":
          case "MODIFIED":
            this.noteForm(kindOf(ev.object), "PartialObjectMetadata");
            this.upsert(ev.object);
            this.advance(ev.object);
            break;
          case "DELETED":
            this.remove(ev.object);
            this.advance(ev.object);
            break;
          case "BOOKMARK":
            this.advance(ev.object);
            break;
          case "ERROR": {
            const err = apiErrorFromStatus(ev.object, `watch ${this.opts.path}`);
            if (isGone(err)) throw err;
            throw new RelistError(err.message);
          }
        }
      }
    } catch (err) {
      if (watchController.signal.aborted && !signal.aborted) return;
      if (isNotAcceptable(err) && this.askMetadata && !signal.aborted) {
        this.fallBackToFullObjects();
        throw new RetryNowError((err as Error).message);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onStop);
    }
    if (events === 0 && Date.now() - started < SHORT_WATCH_MS)
      throw new Error(
        `watch ${this.opts.path}: unexpected watch close - watch lasted less than a second and no items received`,
      );
  }
}
