// Lists (pages with continue tokens) and watches (backlog from the watch history, then live events,
// BOOKMARKs and the timeout), filtered by label and field selectors.

import type { IncomingMessage, ServerResponse } from "node:http";
import {
  ApiError,
  type Cluster,
  expiredError,
  formPieces,
  listBytes,
  type ObjectForm,
  RESOURCE_INFO,
  type Resource,
  type StoredObject,
  type WatchEvent,
} from "../state/index.ts";
import { statusBody, writeJson, writeJsonBytes } from "./http.ts";
import { negotiate, notAcceptable, type Representation } from "./negotiate.ts";
import type { ResourceRoute } from "./routing.ts";
import {
  type FieldSelector,
  type LabelSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from "./selectors.ts";
import { toTable } from "./tables.ts";

const EVENT_END = Buffer.from("}\n");
const MAX_WATCH_BACKLOG_BYTES = 64 * 1024 * 1024;
const DEFAULT_WATCH_TIMEOUT_S = 1800;

interface ContinueToken {
  rv: number;
  /** Key (namespace/name or name) of the last item returned. */
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: "sim.k8s.io/v1", rv: t.rv, start: t.start })).toString("base64url");
}

function decodeContinue(s: string): ContinueToken {
  try {
    const o = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
    if (o?.v === "sim.k8s.io/v1" && Number.isInteger(o.rv) && typeof o.start === "string") {
      return { rv: o.rv, start: o.start };
    }
  } catch {
    // reported below
  }
  throw new ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion");
}

/** What a watch needs from its server. */
export interface WatchOptions {
  cluster: Cluster;
  /** The representations a watch may be asked for. */
  forms: readonly Representation[];
  /** BOOKMARK period for watches that allow bookmarks (0 = none). */
  bookmarkIntervalMs: number;
  /** The end functions of the open watch streams: a stream adds itself and removes itself on end. */
  streams: Set<() => void>;
}

function selectors(url: URL, resource: Resource): { labels: LabelSelector; fields: FieldSelector } {
  try {
    return {
      labels: parseLabelSelector(url.searchParams.get("labelSelector") ?? ""),
      fields: parseFieldSelector(url.searchParams.get("fieldSelector") ?? "", resource),
    };
  } catch (err) {
    if (err instanceof SelectorError) throw new ApiError(400, "BadRequest", err.message);
    throw err;
  }
}

/** A list: one page, filtered by label and field selectors, in the representation asked for. */
export function serveList(
  cluster: Cluster,
  forms: readonly Representation[],
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  route: ResourceRoute,
): void {
  const { resource, namespace } = route;
  const rep = negotiate(req.headers.accept, forms);
  if (!rep) throw notAcceptable(req.headers.accept);
  const { labels, fields } = selectors(url, resource);
  const q = url.searchParams;
  const limitText = q.get("limit");
  const limit = limitText === null || limitText === "" ? 0 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0)
    throw new ApiError(400, "BadRequest", `invalid limit: ${limitText}`);
  const cont = q.get("continue");
  let listRv = cluster.resourceVersion;
  let start: string | undefined;
  if (cont) {
    const token = decodeContinue(cont);
    if (token.rv < cluster.oldestResumableVersion) {
      throw new ApiError(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
      );
    }
    // The sim serves the current objects after the token's key; the list keeps the first page's
    // resourceVersion so that a watch started from it replays everything changed since then.
    listRv = token.rv;
    start = token.start;
  }
  const filtered = labels.length > 0 || fields.length > 0;
  const {
    items: page,
    more,
    remaining,
  } = cluster.listPage(
    resource,
    namespace,
    start,
    limit,
    filtered ? (o) => matchesLabels(labels, o.labels) && matchesFields(fields, o.fields) : undefined,
  );
  const listMeta: Record<string, unknown> = { resourceVersion: String(listRv) };
  if (more) {
    listMeta.continue = encodeContinue({ rv: listRv, start: page[page.length - 1].key });
    // Only an unfiltered list knows how many items remain without reading them all.
    if (!filtered) listMeta.remainingItemCount = remaining;
  }
  const info = RESOURCE_INFO[resource];
  if (rep === "table") {
    const objects = page.map((o) => o.object());
    writeJson(res, 200, toTable(resource, objects, listMeta, q.get("includeObject") ?? "Metadata"));
    return;
  }
  // The stored bytes, concatenated: no per-page serialization.
  writeJsonBytes(
    res,
    200,
    rep === "metadataList"
      ? listBytes("PartialObjectMetadataList", "meta.k8s.io/v1", listMeta, page, "metadata")
      : listBytes(`${info.kind}List`, info.apiVersion, listMeta, page, "item"),
  );
}

/** A watch stream, from a resourceVersion or from the current state, until it times out or ends. */
export function serveWatch(
  o: WatchOptions,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  route: ResourceRoute,
): void {
  const cluster = o.cluster;
  const { resource, namespace } = route;
  const rep = negotiate(req.headers.accept, o.forms);
  if (!rep) throw notAcceptable(req.headers.accept);
  const { labels, fields } = selectors(url, resource);
  const q = url.searchParams;
  const rvText = q.get("resourceVersion") ?? "";
  if (rvText !== "" && !/^\d+$/.test(rvText)) {
    throw new ApiError(400, "BadRequest", `invalid resource version: ${JSON.stringify(rvText)}`);
  }
  const bookmarks = q.get("allowWatchBookmarks") === "true";
  const sendInitial = q.get("sendInitialEvents") === "true";
  const timeoutText = q.get("timeoutSeconds");
  const timeoutS =
    timeoutText !== null && /^\d+$/.test(timeoutText) ? Number(timeoutText) : DEFAULT_WATCH_TIMEOUT_S;

  const matches = (o: StoredObject | undefined) =>
    o !== undefined &&
    (namespace === undefined || o.namespace === namespace) &&
    matchesLabels(labels, o.labels) &&
    matchesFields(fields, o.fields);
  const form: ObjectForm = rep === "metadata" ? "metadata" : "object";
  const info = RESOURCE_INFO[resource];
  const bookmarkObject = (rv: number, annotations?: Record<string, string>) =>
    rep === "metadata"
      ? {
          kind: "PartialObjectMetadata",
          apiVersion: "meta.k8s.io/v1",
          metadata: {
            resourceVersion: String(rv),
            creationTimestamp: null,
            ...(annotations ? { annotations } : {}),
          },
        }
      : {
          kind: info.kind,
          apiVersion: info.apiVersion,
          metadata: {
            resourceVersion: String(rv),
            creationTimestamp: null,
            ...(annotations ? { annotations } : {}),
          },
        };

  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
  let open = true;
  const write = (line: Buffer) => {
    if (!open) return;
    res.write(line);
    // A watcher that stops reading is cut off instead of buffering without bound.
    if (res.writableLength > MAX_WATCH_BACKLOG_BYTES) end();
  };
  const send = (type: string, object: unknown) => write(Buffer.from(`${JSON.stringify({ type, object })}\n`));
  // {"type":…,"object":<the stored bytes>}, the bytes JSON.stringify would give.
  const sendStored = (type: string, o: StoredObject) =>
    write(
      Buffer.concat([
        Buffer.from(`{"type":${JSON.stringify(type)},"object":`),
        ...formPieces(o, form),
        EVENT_END,
      ]),
    );
  const deliver = (e: WatchEvent) => {
    const now = matches(e.object);
    if (e.type === "MODIFIED") {
      const before = matches(e.previous);
      if (now && before) sendStored("MODIFIED", e.object);
      else if (now) sendStored("ADDED", e.object);
      else if (before) sendStored("DELETED", e.object);
    } else if (now) sendStored(e.type, e.object);
  };

  let unsubscribe = () => {};
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  const end = () => {
    if (!open) return;
    open = false;
    unsubscribe();
    clearInterval(bookmarkTimer);
    clearTimeout(timeoutTimer);
    o.streams.delete(end);
    res.end();
  };
  o.streams.add(end);
  res.on("close", end);

  // Everything below runs synchronously, so no change can slip between the backlog and the subscription.
  const startRv = rvText === "" || rvText === "0" || sendInitial ? undefined : Number(rvText);
  if (startRv === undefined) {
    for (const o of cluster.listStored(resource, namespace)) if (matches(o)) sendStored("ADDED", o);
    if (sendInitial && bookmarks) {
      send("BOOKMARK", bookmarkObject(cluster.resourceVersion, { "k8s.io/initial-events-end": "true" }));
    }
  } else {
    let backlog: WatchEvent[];
    try {
      backlog = cluster.eventsSince(resource, startRv);
    } catch (err) {
      // Like the watch cache: a 200 stream carrying one ERROR event with the 410 Status.
      const e = err instanceof ApiError ? err : expiredError(startRv, cluster.oldestResumableVersion);
      send("ERROR", statusBody(e));
      end();
      return;
    }
    for (const e of backlog) deliver(e);
  }
  unsubscribe = cluster.subscribe(resource, deliver);
  if (bookmarks && o.bookmarkIntervalMs > 0) {
    bookmarkTimer = setInterval(
      () => send("BOOKMARK", bookmarkObject(cluster.resourceVersion)),
      o.bookmarkIntervalMs,
    );
  }
  timeoutTimer = setTimeout(end, timeoutS * 1000);
}
