import assert from "node:assert/strict";
import { test } from "node:test";
import { ScrapeStatusBook } from "./scrape-status.ts";
import { MAX_LEFT_OUT_PER_NODE, type NodeScrapeReport } from "./types.ts";

function report(node: string, outcome: NodeScrapeReport["outcome"], startMs: number): NodeScrapeReport {
  const r: NodeScrapeReport = {
    node,
    outcome,
    startMs,
    durationMs: 5,
    bytes: 0,
    nodePoint: false,
    pods: 0,
    containers: 0,
  };
  if (outcome === "Failed") r.error = { kind: "Timeout", message: "context deadline exceeded" };
  return r;
}

test("failures in a row: counted, since the first, reset by a success", () => {
  const book = new ScrapeStatusBook();
  assert.equal(book.status("a"), undefined);
  book.record(report("a", "Succeeded", 1000));
  assert.deepEqual(book.status("a"), {
    latest: report("a", "Succeeded", 1000),
    consecutiveFailures: 0,
    lastSuccessMs: 1000,
  });
  book.record(report("a", "Failed", 2000));
  book.record(report("a", "Failed", 3000));
  const failing = book.status("a");
  assert.equal(failing?.consecutiveFailures, 2);
  assert.equal(failing?.failingSinceMs, 2000);
  assert.equal(failing?.lastSuccessMs, 1000);
  assert.equal(failing?.latest.startMs, 3000);
  assert.equal(failing?.latest.error?.kind, "Timeout");
  book.record(report("a", "Succeeded", 4000));
  const ok = book.status("a");
  assert.equal(ok?.consecutiveFailures, 0);
  assert.equal(ok?.failingSinceMs, undefined);
  assert.equal(ok?.lastSuccessMs, 4000);
});

test("NotReady is no failure and no success", () => {
  const book = new ScrapeStatusBook();
  book.record(report("a", "Failed", 1000));
  book.record(report("a", "NotReady", 2000));
  assert.deepEqual(book.status("a"), { latest: report("a", "NotReady", 2000), consecutiveFailures: 0 });
});

test("refusals: the store's replace the last ones; duplicates last until the next report", () => {
  const book = new ScrapeStatusBook();
  book.recordRefused("unknown", [{ namespace: "n", pod: "p", cause: "x" }], undefined); // ignored
  assert.equal(book.status("unknown"), undefined);
  book.record(report("a", "Succeeded", 1000));
  book.recordDuplicates("a", [{ namespace: "n", pod: "dup", cause: "reported by two nodes" }]);
  book.recordRefused(
    "a",
    [{ namespace: "n", pod: "p", container: "c", cause: "memory above the node's capacity" }],
    "timestamp in the future",
  );
  assert.deepEqual(book.status("a")?.refused, [
    { namespace: "n", pod: "p", container: "c", cause: "memory above the node's capacity" },
    { namespace: "n", pod: "dup", cause: "reported by two nodes" },
  ]);
  assert.equal(book.status("a")?.nodeRefused, "timestamp in the future");
  book.record(report("a", "Succeeded", 2000));
  book.recordRefused("a", [], undefined);
  const s = book.status("a");
  assert.equal(s?.refused, undefined);
  assert.equal(s?.nodeRefused, undefined);
  assert.ok(!("refused" in (s ?? {})), "absent, not undefined-valued");
});

test("refusals are capped per node", () => {
  const book = new ScrapeStatusBook();
  book.record(report("a", "Succeeded", 1000));
  const many = Array.from({ length: 2 * MAX_LEFT_OUT_PER_NODE }, (_, i) => ({
    namespace: "n",
    pod: `p${i}`,
    cause: "x",
  }));
  book.recordRefused("a", many, undefined);
  book.recordDuplicates("a", many);
  assert.equal(book.status("a")?.refused?.length, MAX_LEFT_OUT_PER_NODE);
});

test("retain forgets nodes; all() lists the rest", () => {
  const book = new ScrapeStatusBook();
  for (const n of ["a", "b", "c"]) book.record(report(n, "Succeeded", 1000));
  book.retain(new Set(["a", "c", "z"]));
  assert.deepEqual([...book.all()].map((s) => s.latest.node).sort(), ["a", "c"]);
  assert.equal(book.size, 2);
});
