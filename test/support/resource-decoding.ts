// Checks shared by the /metrics/resource decoder's tests.
import assert from "node:assert/strict";
import { decodeResourceMetrics } from "../../src/scraper/index.ts";
import type { NodeScrape } from "../../src/storage/index.ts";

/**
 * decodeResourceMetrics of `body` as text, checked to give the same result or the same error as its
 * UTF-8 bytes (a string is read as its UTF-8 bytes, so the two must agree).
 */
export function decodeBoth(body: string, nodeName: string, defaultTimestampMs: number): NodeScrape {
  const outcome = (input: string | Uint8Array): { ok: NodeScrape } | { error: string } => {
    try {
      return { ok: decodeResourceMetrics(input, nodeName, defaultTimestampMs) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const fromText = outcome(body);
  assert.deepEqual(outcome(Buffer.from(body)), fromText, `bytes of ${JSON.stringify(body)}`);
  if ("error" in fromText) throw new Error(fromText.error);
  return fromText.ok;
}

/** A NodeScrape's containers as rows, for comparing with expected ones. */
export function rows(s: ReturnType<typeof decodeResourceMetrics>) {
  return Array.from({ length: s.containerCount }, (_, i) => ({
    namespace: s.namespaces[i],
    pod: s.pods[i],
    container: s.containers[i],
    startTimeMs: s.startTimeMs[i],
    timestampMs: s.timestampMs[i],
    cpuNs: s.cpuNs[i],
    memoryBytes: s.memoryBytes[i],
  }));
}

/** The decode's NodeScrape, or its error message. */
export function outcomeOf(decode: () => NodeScrape): { ok: NodeScrape } | { error: string } {
  try {
    return { ok: decode() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
