// What the Running-pod cache costs per pod, in this process:
//
//   node --expose-gc bench/micro/pod-cache-memory.ts [--pods 20000] [--namespaces 100] [--pods-per-set 30]
//
// The defaults are a quick run; the scale worth recording is --pods 150000.
// It builds the list pages an API server sends for `GET /api/v1/pods?fieldSelector=status.phase=Running`
// with the PartialObjectMetadata Accept (500 per page, as JSON text), lets the real pod reflector
// list them through a stand-in client (JSON.parse per page, like KubeClient.getJSON), and compares
// heapUsed after full GCs before and after. It also reports the extra arrays list() and
// listNamespace() keep, since the API reads through them.
import { randomBytes, randomUUID } from "node:crypto";
import { type KubeClient, newRunningPodReflector } from "../../src/kube/index.ts";
import { note, report } from "./report.ts";

interface Shape {
  pods: number;
  namespaces: number;
  podsPerSet: number;
}

const HASH_CHARS = "bcdfghjklmnpqrstvwxz2456789";

function randomChars(n: number): string {
  const bytes = randomBytes(n);
  let s = "";
  for (let i = 0; i < n; i++) s += HASH_CHARS[bytes[i] % HASH_CHARS.length];
  return s;
}

/**
 * One pod as the API server writes it: Deployment pods `<app>-<rs hash>-<5 chars>` with the usual
 * labels, uid, resourceVersion, creationTimestamp, generateName and a ReplicaSet owner reference.
 * No managedFields: they only add parse garbage, which the cache keeps none of.
 */
function podJSON(app: string, hash: string, namespace: string, rv: number): string {
  const name = `${app}-${hash}-${randomChars(5)}`;
  return JSON.stringify({
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: {
      name,
      generateName: `${app}-${hash}-`,
      namespace,
      uid: randomUUID(),
      resourceVersion: String(rv),
      creationTimestamp: "2024-05-01T12:00:00Z",
      labels: {
        app,
        "app.kubernetes.io/part-of": `${namespace}-suite`,
        "pod-template-hash": hash,
        tier: "backend",
      },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${app}-${hash}`,
          uid: randomUUID(),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
  });
}

/** The list pages, as JSON text, chained by continue tokens "1", "2", … */
function buildPages(shape: Shape, pageSize = 500): string[] {
  const items: string[] = [];
  let rv = 1000;
  for (let set = 0; items.length < shape.pods; set++) {
    const namespace = `ns-${set % shape.namespaces}`;
    const app = `app-${Math.floor(set / shape.namespaces)}`;
    const hash = randomChars(10);
    for (let i = 0; i < shape.podsPerSet && items.length < shape.pods; i++)
      items.push(podJSON(app, hash, namespace, rv++));
  }
  const pages: string[] = [];
  for (let from = 0; from < items.length; from += pageSize) {
    const next = from + pageSize < items.length ? String(pages.length + 1) : "";
    pages.push(
      `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"${rv}"` +
        (next ? `,"continue":"${next}"` : "") +
        `},"items":[${items.slice(from, from + pageSize).join(",")}]}`,
    );
  }
  return pages;
}

/** Just enough of KubeClient for a reflector: pages by continue token; a watch that idles until stopped. */
function pagesClient(pages: string[]): KubeClient {
  return {
    async getJSON(_path: string, opts: { query?: Record<string, string | undefined> }) {
      return JSON.parse(pages[Number(opts.query?.continue ?? 0)]);
    },
    async *watch(_path: string, _q: unknown, _a: string, signal: AbortSignal) {
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      yield* [];
    },
  } as unknown as KubeClient;
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

interface PodCacheCost {
  pods: number;
  cacheBytesPerPod: number;
  listArraysBytesPerPod: number;
}

async function measurePodCache(shape: Shape): Promise<PodCacheCost> {
  const pages = buildPages(shape);
  const before = heapUsed();
  const reflector = newRunningPodReflector(pagesClient(pages));
  reflector.start();
  while (!reflector.hasSynced()) await new Promise((r) => setTimeout(r, 10));
  const cached = heapUsed();
  reflector.list();
  for (let n = 0; n < shape.namespaces; n++) reflector.listNamespace(`ns-${n}`);
  const withLists = heapUsed();
  const pods = reflector.size;
  await reflector.stop();
  // Keep the pages alive until here so that their text is in both readings.
  if (pages.length === 0) throw new Error("no pages");
  return {
    pods,
    cacheBytesPerPod: (cached - before) / pods,
    listArraysBytesPerPod: (withLists - cached) / pods,
  };
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0)
    throw new Error(`${name} wants a positive integer, got ${process.argv[i + 1]}`);
  return v;
}

if (import.meta.main) {
  const shape = {
    pods: flag("--pods", 20_000),
    namespaces: flag("--namespaces", 100),
    podsPerSet: flag("--pods-per-set", 30),
  };
  const cost = await measurePodCache(shape);
  report("Running-pod cache, heap per pod", [
    {
      pods: cost.pods,
      namespaces: shape.namespaces,
      "pods per label set": shape.podsPerSet,
      "cache B/pod": Math.round(cost.cacheBytesPerPod),
      "list()/listNamespace() arrays B/pod": Math.round(cost.listArraysBytesPerPod),
    },
  ]);
  note("heapUsed after full GCs, before and after the reflector's list; pages parsed as JSON, 500 per page");
}
