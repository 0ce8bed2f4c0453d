import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { AbortFanout, abortableSleep } from "./abort-fanout.ts";
import { Semaphore } from "./semaphore.ts";

describe("AbortFanout", () => {
  it("serves any number of waiters from one listener on the signal", async () => {
    const controller = new AbortController();
    const fanout = new AbortFanout(controller.signal);
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire(fanout);
    const sleeps = Array.from({ length: 500 }, () => abortableSleep(60_000, fanout));
    const waiters = Array.from({ length: 500 }, () => semaphore.acquire(fanout));
    const calls: unknown[] = [];
    const unsubscribe = fanout.subscribe((r) => calls.push(r));
    const kept = fanout.subscribe((r) => calls.push(["kept", r]));
    unsubscribe();
    assert.equal(getEventListeners(controller.signal, "abort").length, 1);
    assert.equal(fanout.size, 1001);
    assert.equal(semaphore.waiting, 500);
    const reason = new Error("deadline");
    controller.abort(reason);
    for (const p of [...sleeps, ...waiters]) await assert.rejects(p, (err) => err === reason);
    assert.deepEqual(calls, [["kept", reason]]);
    assert.equal(semaphore.waiting, 0);
    kept();
    release();
    // A permit freed after the abort goes back to the pool, not to a rejected waiter.
    const again = await semaphore.acquire(new AbortController().signal);
    again();
    fanout.dispose();
  });

  it("calls late subscribers at once, and a sleep that ends first unsubscribes itself", async () => {
    const controller = new AbortController();
    const fanout = new AbortFanout(controller.signal);
    await abortableSleep(1, fanout);
    assert.equal(fanout.size, 0);
    controller.abort("gone");
    let got: unknown;
    fanout.subscribe((r) => {
      got = r;
    });
    assert.equal(got, "gone");
    await assert.rejects(abortableSleep(1, fanout), (err) => err === "gone");
    await assert.rejects(new Semaphore(1).acquire(fanout), (err) => err === "gone");
  });

  it("dispose removes the listener", () => {
    const controller = new AbortController();
    const fanout = new AbortFanout(controller.signal);
    fanout.dispose();
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  });
});
