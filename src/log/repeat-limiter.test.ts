import assert from "node:assert/strict";
import { test } from "node:test";
import { RepeatLimiter } from "./repeat-limiter.ts";

function limiter() {
  let now = 0;
  const l = new RepeatLimiter({ intervalMs: 1000, now: () => now });
  return { l, advance: (ms: number) => (now += ms) };
}

test("a repeating cause is logged once, then once per interval with the count held back", () => {
  const { l, advance } = limiter();
  assert.equal(l.failed("n", "timeout"), 0);
  for (let i = 0; i < 9; i++) {
    advance(100);
    assert.equal(l.failed("n", "timeout"), undefined);
  }
  advance(100); // 1000 ms since the line
  assert.equal(l.failed("n", "timeout"), 9);
  assert.equal(l.failed("n", "timeout"), undefined);
});

test("a changed cause is logged at once; a recovery once, with what was held back", () => {
  const { l } = limiter();
  assert.equal(l.failed("n", "timeout"), 0);
  assert.equal(l.failed("n", "timeout"), undefined);
  assert.equal(l.failed("n", "status 500"), 0);
  assert.equal(l.failed("n", "status 500"), undefined);
  assert.equal(l.recovered("n"), 2);
  assert.equal(l.recovered("n"), undefined);
  // Failing again soon after with a known cause is held back; a new cause is news.
  assert.equal(l.failed("n", "status 500"), undefined);
  assert.equal(l.failed("n", "reset"), 0);
});

test("a key that flaps between failing and working logs once per interval, not every flap", () => {
  const { l, advance } = limiter();
  const lines: string[] = [];
  for (let i = 0; i < 10; i++) {
    advance(40);
    if (l.failed("n", "timeout") !== undefined) lines.push("failed");
    advance(40);
    if (l.recovered("n") !== undefined) lines.push("recovered");
  }
  assert.deepEqual(lines, ["failed", "recovered"]);
  advance(1000);
  assert.equal(l.failed("n", "timeout"), 9);
  assert.equal(l.recovered("n"), 0);
});

test("retain() forgets keys that have worked for a whole interval", () => {
  const { l, advance } = limiter();
  l.failed("n", "x");
  l.recovered("n");
  advance(1000);
  l.retain(new Set(["n"]));
  assert.equal(l.failed("n", "x"), 0);
});

test("keys are independent and retain() forgets the ones gone", () => {
  const { l } = limiter();
  assert.equal(l.failed("a", "x"), 0);
  assert.equal(l.failed("b", "x"), 0);
  assert.equal(l.recovered("c"), undefined);
  l.retain(new Set(["a"]));
  assert.equal(l.size, 1);
  assert.equal(l.failed("b", "x"), 0);
  assert.equal(l.failed("a", "x"), undefined);
});

test("two causes that alternate are each logged once per interval, not every time", () => {
  const { l, advance } = limiter();
  const logged: string[] = [];
  for (let i = 0; i < 20; i++) {
    advance(40);
    const cause = i % 2 === 0 ? "timeout" : "status 500";
    if (l.failed("n", cause) !== undefined) logged.push(cause);
  }
  assert.deepEqual(logged, ["timeout", "status 500"]);
  advance(1000);
  assert.equal(l.failed("n", "timeout"), 9);
});

test("a key remembers a bounded number of causes", () => {
  const { l } = limiter();
  for (let i = 0; i < 100; i++) assert.equal(l.failed("n", `cause ${i}`), 0);
  // The oldest causes were forgotten: they log again.
  assert.equal(l.failed("n", "cause 0"), 0);
  assert.equal(l.failed("n", "cause 99"), undefined);
});
