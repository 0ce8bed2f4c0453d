// The live pod GET behind explained 404s, bounded: a 404 must stay cheap when many clients ask at
// once (the HPA, dashboards), so at most MAX_IN_FLIGHT GETs run, each for at most TIMEOUT_MS, and
// one answer serves every question about the same pod for CACHE_MS. Over the bound the explanation
// says so (PodLookupFailed) and comes from the caches.

import { livePod, type PodLookup } from "../explain/index.ts";
import { errorText } from "./responses.ts";

/** A GET of the pod: its JSON, or undefined when the API server has none. */
export type FetchPod = (namespace: string, name: string, signal: AbortSignal) => Promise<unknown>;

export interface PodLookupLimits {
  maxInFlight: number;
  timeoutMs: number;
  cacheMs: number;
  /** Entries kept at most (a flood of distinct names must not grow the cache). */
  maxCached: number;
  now: () => number;
}

const DEFAULTS: PodLookupLimits = {
  maxInFlight: 4,
  timeoutMs: 2_000,
  cacheMs: 1_000,
  maxCached: 1_000,
  now: Date.now,
};

export function boundedPodLookup(
  fetch: FetchPod,
  limits: Partial<PodLookupLimits> = {},
): (namespace: string, name: string) => Promise<PodLookup> {
  const { maxInFlight, timeoutMs, cacheMs, maxCached, now } = { ...DEFAULTS, ...limits };
  const cache = new Map<string, { atMs: number; answer: Promise<PodLookup> }>();
  let inFlight = 0;

  const ask = async (namespace: string, name: string): Promise<PodLookup> => {
    inFlight++;
    try {
      const obj = await fetch(namespace, name, AbortSignal.timeout(timeoutMs));
      return obj === undefined ? { kind: "absent" } : { kind: "found", pod: livePod(obj) };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      return { kind: "failed", message: timedOut ? `no answer within ${timeoutMs / 1000}s` : errorText(err) };
    } finally {
      inFlight--;
    }
  };

  return (namespace, name) => {
    const t = now();
    const key = `${namespace}/${name}`;
    const hit = cache.get(key);
    if (hit && t - hit.atMs < cacheMs) return hit.answer;
    for (const [k, v] of cache) {
      // Insertion order is age order: stop at the first fresh entry.
      if (t - v.atMs < cacheMs && cache.size < maxCached) break;
      cache.delete(k);
    }
    if (inFlight >= maxInFlight) {
      return Promise.resolve({ kind: "failed", message: `${maxInFlight} pod lookups already in flight` });
    }
    const answer = ask(namespace, name);
    cache.delete(key);
    cache.set(key, { atMs: t, answer });
    return answer;
  };
}
