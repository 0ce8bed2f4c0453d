import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseGoBool, parseGoInt } from "./strconv.ts";

describe("Go scalar parsers", () => {
  it("parses bools as strconv.ParseBool", () => {
    for (const t of ["1", "t", "T", "TRUE", "true", "True"]) assert.equal(parseGoBool(t), true);
    for (const f of ["0", "f", "F", "FALSE", "false", "False"]) assert.equal(parseGoBool(f), false);
    assert.throws(() => parseGoBool("yes"), { message: 'strconv.ParseBool: parsing "yes": invalid syntax' });
    assert.throws(() => parseGoBool("tRuE"), /invalid syntax/);
  });

  it("parses ints as strconv.ParseInt with base 0", () => {
    assert.equal(parseGoInt("42", 0, 64), 42);
    assert.equal(parseGoInt("-42", 0, 64), -42);
    assert.equal(parseGoInt("+7", 0, 64), 7);
    assert.equal(parseGoInt("0x1F", 0, 64), 31);
    assert.equal(parseGoInt("0o17", 0, 64), 15);
    assert.equal(parseGoInt("017", 0, 64), 15);
    assert.equal(parseGoInt("0b101", 0, 64), 5);
    assert.equal(parseGoInt("1_000", 0, 64), 1000);
    assert.equal(parseGoInt("0x_ff", 0, 64), 255);
    assert.equal(parseGoInt("0", 0, 64), 0);
    for (const bad of ["", "x", "1.5", "_1", "1_", "1__0", "0x", "08", " 1", "1 ", "-"]) {
      assert.throws(
        () => parseGoInt(bad, 0, 64),
        { message: `strconv.ParseInt: parsing ${JSON.stringify(bad)}: invalid syntax` },
        bad,
      );
    }
  });

  it("honours base 10 and the bit size", () => {
    assert.throws(() => parseGoInt("0x10", 10, 32), /invalid syntax/);
    assert.throws(() => parseGoInt("1_0", 10, 32), /invalid syntax/);
    assert.equal(parseGoInt("2147483647", 10, 32), 2147483647);
    assert.equal(parseGoInt("-2147483648", 10, 32), -2147483648);
    assert.throws(() => parseGoInt("2147483648", 10, 32), {
      message: 'strconv.ParseInt: parsing "2147483648": value out of range',
    });
    assert.throws(() => parseGoInt("9223372036854775808", 0, 64), /value out of range/);
  });
});
