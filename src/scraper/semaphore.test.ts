import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Semaphore } from "./semaphore.ts";

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
