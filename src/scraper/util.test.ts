import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { AbortFanout, abortableSleep, Interner, Semaphore } from "./util.ts";

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

describe("Interner copies", () => {
  it("stores a copy of a new string (equal text) and returns the stored one afterwards", () => {
    const body = "x".repeat(100) + "workload-abcdef-12345" + "y".repeat(100);
    const name = body.slice(100, 121);
    const i = new Interner();
    const stored = i.intern(name);
    assert.equal(stored, name);
    assert.equal(i.intern(body.slice(100, 121)), stored);
    const surrogate = "\ud800 lone surrogate kept";
    assert.equal(i.intern(surrogate), surrogate);
    assert.equal(new Interner(false).intern(name), name);
  });
});
