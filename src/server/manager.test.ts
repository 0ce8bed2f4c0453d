import assert from "node:assert/strict";
import { test } from "node:test";
import { Histogram } from "prom-client";
import type { LabelSelector, Node, ObjectStore } from "../kube/index.ts";
import * as log from "../log/index.ts";
import type { NodeScrape } from "../storage/index.ts";
import { ScrapeManager } from "./manager.ts";

const everything = { empty: true, matches: () => true } as unknown as LabelSelector;

function nodeStore(nodes: Node[]): ObjectStore<Node> {
  return {
    list: () => nodes,
    listNamespace: () => [],
    get: () => undefined,
    hasSynced: () => true,
    size: nodes.length,
  };
}

test("a tick awaits storeAsync, and the Tick finished line reports its duration", async () => {
  const batch = [{ node: "n1" } as NodeScrape];
  let releaseStore!: () => void;
  const stored: (readonly NodeScrape[])[] = [];
  const histogram = new Histogram({ name: "tick_seconds", help: "test", registers: [] });
  const manager = new ScrapeManager({
    scraper: { scrape: async () => batch },
    store: {
      storeAsync: (b) => {
        stored.push(b);
        return new Promise<void>((resolve) => {
          releaseStore = resolve;
        });
      },
    },
    nodes: nodeStore([{ metadata: { name: "n1" } } as Node]),
    nodeSelector: everything,
    resolutionMs: 60_000,
    tickDuration: histogram,
  });
  const lines: string[] = [];
  const prevSink = log.setSink((line) => lines.push(line));
  const prevVerbosity = log.getVerbosity();
  log.setVerbosity(1);
  try {
    let tickDone = false;
    const tick = manager.tick().then(() => {
      tickDone = true;
    });
    // Wait (generously) until the store has been called, then check the tick is still waiting on it.
    for (let i = 0; i < 1000 && stored.length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(stored, [batch]);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(tickDone, false, "the tick finished before the store did");
    assert.equal((await histogram.get()).values.find((v) => v.metricName === "tick_seconds_count")?.value, 0);
    releaseStore();
    await tick;
    const finished = lines.find((l) => l.includes('"Tick finished"'));
    assert.ok(finished, lines.join(""));
    assert.match(finished, /storeDuration="\d+\.\dms"/);
    assert.match(finished, /nodes=1/);
    assert.equal((await histogram.get()).values.find((v) => v.metricName === "tick_seconds_count")?.value, 1);
  } finally {
    log.setSink(prevSink);
    log.setVerbosity(prevVerbosity);
  }
});

test("a failing storeAsync is logged and the tick still resolves and is observed", async () => {
  const histogram = new Histogram({ name: "tick_seconds", help: "test", registers: [] });
  const manager = new ScrapeManager({
    scraper: { scrape: async () => [] },
    store: { storeAsync: () => Promise.reject(new Error("store broke")) },
    nodes: nodeStore([]),
    nodeSelector: everything,
    resolutionMs: 60_000,
    tickDuration: histogram,
  });
  const lines: string[] = [];
  const prevSink = log.setSink((line) => lines.push(line));
  try {
    await manager.tick();
  } finally {
    log.setSink(prevSink);
  }
  assert.ok(lines.some((l) => l.includes("Failed to scrape and store metrics") && l.includes("store broke")));
  assert.equal((await histogram.get()).values.find((v) => v.metricName === "tick_seconds_count")?.value, 1);
});
