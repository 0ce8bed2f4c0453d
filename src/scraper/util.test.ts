import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatGoDuration, Interner, Semaphore } from "./util.ts";

describe("formatGoDuration", () => {
  it("formats like Go's time.Duration.String()", () => {
    const cases: [number, string][] = [
      [0, "0s"],
      [10_000, "10s"],
      [1500, "1.5s"],
      [500, "500ms"],
      [1.234567, "1.234567ms"],
      [0.0015, "1.5µs"],
      [0.000001, "1ns"],
      [90_000, "1m30s"],
      [3_600_000, "1h0m0s"],
      [3_723_500, "1h2m3.5s"],
      [-2000, "-2s"],
    ];
    for (const [ms, text] of cases) assert.equal(formatGoDuration(ms), text, String(ms));
  });
});

describe("Interner", () => {
  it("returns the first instance and forgets strings unused for a whole generation", () => {
    const i = new Interner();
    const a = "pod-" + String(1);
    assert.equal(i.intern(a), a);
    assert.equal(i.size, 1);
    i.rotate();
    assert.equal(i.intern("pod-1"), a); // carried over from the previous generation
    i.rotate();
    i.rotate();
    assert.equal(i.size, 0);
  });
});

describe("Semaphore", () => {
  it("hands out at most N permits and gives waiters up on abort", async () => {
    const s = new Semaphore(1);
    const never = new AbortController().signal;
    const r1 = await s.acquire(never);
    const abort = new AbortController();
    const waiting = s.acquire(abort.signal);
    let second = false;
    const next = s.acquire(never).then((r) => {
      second = true;
      return r;
    });
    abort.abort(new Error("gone"));
    await assert.rejects(waiting, /gone/);
    assert.equal(second, false);
    r1();
    r1(); // releasing twice must not free a second permit
    const r2 = await next;
    assert.equal(second, true);
    let third = false;
    const pending = s.acquire(never).then(() => {
      third = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(third, false);
    r2();
    await pending;
    assert.throws(() => new Semaphore(0), /permits must be >= 1/);
  });
});
