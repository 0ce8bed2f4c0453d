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
  assert.equal(l.failed("n", "status 500"), 1);
  assert.equal(l.failed("n", "status 500"), undefined);
  assert.equal(l.recovered("n"), 1);
  assert.equal(l.recovered("n"), undefined);
  // Failing again after a recovery is a first failure.
  assert.equal(l.failed("n", "status 500"), 0);
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
