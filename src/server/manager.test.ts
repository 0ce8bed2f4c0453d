import assert from "node:assert/strict";
import { test } from "node:test";
import { Histogram } from "prom-client";
import { captureLogs } from "../../test/support/logs.ts";
import { at, nodeScrape } from "../../test/support/node-scrapes.ts";
import type { LabelSelector, Node, ObjectStore } from "../kube/index.ts";
import * as log from "../log/index.ts";
import { type NodeScrape, TwoPointStore } from "../storage/index.ts";
import { type BatchScraper, type BatchStore, ScrapeManager } from "./manager.ts";

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

function managerWith(scraper: BatchScraper, store: BatchStore, names: string[]): ScrapeManager {
  return new ScrapeManager({
    scraper,
    store,
    nodes: nodeStore(names.map((name) => ({ metadata: { name } }) as Node)),
    nodeSelector: everything,
    // A 200 ms quiet period (quietPeriodMs); the fake scrapers below ignore the tick deadline.
    resolutionMs: 4000,
    tickDuration: new Histogram({ name: "tick_seconds", help: "test", registers: [] }),
  });
}

const one = (node: string, tsS: number, cpu: number): NodeScrape =>
  nodeScrape({
    node,
    tsS,
    cpu,
    pods: [{ namespace: "ns", name: `pod-${node}`, containers: [{ name: "c", tsS, cpu }] }],
  });

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("nodes that answered are stored while one hangs; its answer completes the tick", async (t) => {
  const lines = captureLogs(t, 1);
  const store = new TwoPointStore({ resolutionMs: 4000 });
  store.store(["a", "b", "c"].map((n) => one(n, 10, 1)));
  store.store(["a", "b", "c"].map((n) => one(n, 20, 2)));
  let answerC!: () => void;
  const scraper: BatchScraper = {
    scrape: (_nodes, _deadline, onResult) => {
      onResult?.("a", one("a", 30, 4));
      onResult?.("b", undefined); // failed
      return new Promise((resolve) => {
        answerC = () => {
          onResult?.("c", one("c", 30, 3));
          resolve([one("a", 30, 4), one("c", 30, 3)]);
        };
      });
    },
  };
  const tick = managerWith(scraper, store, ["a", "b", "c"]).tick();
  const timestamps = () => store.getNodeMetrics(["a", "b", "c"]).map((p) => p?.timestampMs);
  await until("a's new point", () => timestamps()[0] === at(30));
  // b failed and is gone as upstream would have it; c is pending and keeps its point.
  assert.deepEqual(timestamps(), [at(30), undefined, at(20)]);
  assert.equal(store.getPodMetrics([{ namespace: "ns", name: "pod-a" }])[0]?.containers[0].cpuNanocores, 2e8);
  answerC();
  await tick;
  assert.deepEqual(timestamps(), [at(30), undefined, at(30)]);
  assert.match(lines.find((l) => l.includes('"Tick finished"')) ?? "", / nodes=2 parts=1\n$/);
});

test("no part is stored when every node has answered, however long the scrape then takes", async () => {
  const calls: (string[] | undefined)[] = [];
  const store: BatchStore = {
    storeAsync: async (_batch, opts) => {
      calls.push(opts?.pending === undefined ? undefined : [...opts.pending]);
    },
  };
  const scraper: BatchScraper = {
    scrape: async (_nodes, _deadline, onResult) => {
      onResult?.("a", one("a", 10, 1));
      onResult?.("b", undefined);
      await new Promise((r) => setTimeout(r, 600)); // three quiet periods
      return [one("a", 10, 1)];
    },
  };
  await managerWith(scraper, store, ["a", "b"]).tick();
  assert.deepEqual(calls, [undefined]);
});

test("parts are bounded per tick, and a scrape that throws still completes a tick stored in parts", async (t) => {
  const lines = captureLogs(t);
  const calls: (string[] | undefined)[] = [];
  const store: BatchStore = {
    storeAsync: async (_batch, opts) => {
      calls.push(opts?.pending === undefined ? undefined : [...opts.pending]);
    },
  };
  const names = ["n0", "n1", "n2", "n3", "n4", "n5", "n6"];
  const scraper: BatchScraper = {
    scrape: async (_nodes, _deadline, onResult) => {
      // One answer per quiet period and more: each could be a part, until the bound.
      for (const n of names.slice(0, 6)) {
        onResult?.(n, one(n, 10, 1));
        const parts = calls.length;
        await until(`a part after ${n}`, () => calls.length > parts || calls.length >= 3);
      }
      throw new Error("scraper broke");
    },
  };
  await managerWith(scraper, store, names).tick();
  assert.equal(calls.length, 4, JSON.stringify(calls));
  assert.deepEqual(calls.at(-1), undefined, "the last store completes the tick");
  for (const pending of calls.slice(0, -1)) assert.ok(pending?.includes("n6"));
  assert.ok(
    lines.some((l) => l.includes("Failed to scrape and store metrics") && l.includes("scraper broke")),
  );
});
