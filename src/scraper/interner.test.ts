import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Interner } from "./interner.ts";

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
