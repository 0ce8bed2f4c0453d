import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseGoFloat } from "./strconv.ts";

describe("parseGoFloat", () => {
  it("accepts Go float syntax and rejects the rest", () => {
    assert.equal(parseGoFloat("1.8239488e+07"), 18239488);
    assert.equal(parseGoFloat("1e-05"), 1e-5);
    assert.equal(parseGoFloat(".5"), 0.5);
    assert.equal(parseGoFloat("5."), 5);
    assert.equal(parseGoFloat("+Inf"), Infinity);
    assert.equal(parseGoFloat("-inf"), -Infinity);
    assert.equal(parseGoFloat("Infinity"), Infinity);
    assert.ok(Number.isNaN(parseGoFloat("NaN")));
    assert.equal(parseGoFloat("0x1p-2"), 0.25);
    assert.equal(parseGoFloat("-0x1.8p1"), -3);
    for (const bad of ["", "abc", "1e", "0x10", "1,5", "--1", "Infinit"])
      assert.equal(parseGoFloat(bad), undefined, bad);
  });
});
