// The store's StoreDescriber (points per container, restarts) and the refusals it tells the book.
import assert from "node:assert/strict";
import { test } from "node:test";
import { captureLogs } from "../../test/support/logs.ts";
import { at, nodeScrape, TIMELESS } from "../../test/support/node-scrapes.ts";
import { CPU_DECREASE } from "./points.ts";
import { TwoPointStore } from "./store.ts";
import type { LeftOutPod } from "./types.ts";

const RESOLUTION_MS = 60_000;

function scrape(tsS: number, cpu: number, appStartS: number, appCpu = cpu) {
  return nodeScrape({
    node: "n1",
    tsS,
    cpu,
    memory: 100,
    pods: [
      {
        name: "web",
        containers: [
          { name: "app", startS: appStartS, tsS, cpu: appCpu, memory: 10 },
          { name: "side", startS: 1, tsS, cpu, memory: 10 },
        ],
      },
    ],
  });
}

test("describePod and describeNode: one point, then two, with their times", () => {
  const store = new TwoPointStore({ resolutionMs: RESOLUTION_MS, ...TIMELESS });
  assert.equal(store.describePod("default", "web"), undefined);
  assert.equal(store.describeNode("n1"), undefined);

  store.store([scrape(100, 10, 1)]);
  assert.deepEqual(store.describePod("default", "web"), {
    node: "n1",
    containers: [
      { name: "app", points: 1, newestMs: at(100), startMs: at(1) },
      { name: "side", points: 1, newestMs: at(100), startMs: at(1) },
    ],
  });
  assert.deepEqual(store.describeNode("n1"), { points: 1, newestMs: at(100) });

  store.store([scrape(160, 20, 1)]);
  assert.deepEqual(store.describePod("default", "web")?.containers[0], {
    name: "app",
    points: 2,
    newestMs: at(160),
    previousMs: at(100),
    startMs: at(1),
  });
  assert.deepEqual(store.describeNode("n1"), { points: 2, newestMs: at(160), previousMs: at(100) });
  assert.equal(store.describePod("default", "nope"), undefined);
  assert.equal(store.describePod("other", "web"), undefined);
});

test("a restart: the newest point replaced one with another start time, for that tick", () => {
  const store = new TwoPointStore({ resolutionMs: RESOLUTION_MS, ...TIMELESS });
  store.store([scrape(100, 10, 1)]);
  store.store([scrape(160, 20, 1)]);
  // "app" restarted at 215 s: its counter began again, so it has one point.
  store.store([scrape(220, 30, 215, 1)]);
  const [app, side] = store.describePod("default", "web")?.containers ?? [];
  assert.deepEqual(app, {
    name: "app",
    points: 1,
    newestMs: at(220),
    startMs: at(215),
    restartedAtMs: at(215),
  });
  assert.equal(side.restartedAtMs, undefined);
  assert.equal(side.points, 2);
  // The next point has the same start time: no restart any more, and a rate.
  store.store([scrape(280, 40, 215, 2)]);
  const [later] = store.describePod("default", "web")?.containers ?? [];
  assert.equal(later.restartedAtMs, undefined);
  assert.equal(later.points, 2);
});

test("a restart stays described while its node is carried over in a part of a tick", () => {
  const store = new TwoPointStore({ resolutionMs: RESOLUTION_MS, ...TIMELESS });
  store.store([scrape(100, 10, 1)]);
  store.store([scrape(220, 30, 215, 1)]);
  // Another node answered; n1 is pending and keeps its points.
  store.storePart([nodeScrape({ node: "n2", tsS: 230, cpu: 1, memory: 1 })], ["n1"]);
  assert.equal(store.describePod("default", "web")?.containers[0].restartedAtMs, at(215));
  assert.equal(store.describePod("default", "web")?.node, "n1");
});

test("onRefused: what the store refused from each node's scrape, cleared when it is valid again", (t) => {
  captureLogs(t);
  const told: [string, LeftOutPod[], string | undefined][] = [];
  const store = new TwoPointStore({
    resolutionMs: RESOLUTION_MS,
    ...TIMELESS,
    onRefused: (node, refused, nodeRefused) => told.push([node, refused, nodeRefused]),
  });
  const big = scrape(100, 10, 1);
  big.memoryCapacityBytes = 50; // the node's own 100 bytes and nothing of its pods' 2 × 10
  store.store([big]);
  assert.deepEqual(told, [["n1", [], "memory above the node's capacity"]]);

  told.length = 0;
  store.store([scrape(160, 20, 1)]);
  // The counter went back: no rate for the tick.
  store.store([scrape(220, 15, 1)]);
  assert.deepEqual(told, [
    ["n1", [], undefined],
    [
      "n1",
      [
        { namespace: "default", pod: "web", container: "app", cause: CPU_DECREASE },
        { namespace: "default", pod: "web", container: "side", cause: CPU_DECREASE },
      ],
      CPU_DECREASE,
    ],
  ]);
});
