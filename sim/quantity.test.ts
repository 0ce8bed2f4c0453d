import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatBytes, formatCpu, parseQuantity, quantityOrUndefined } from "./quantity.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

test("quantities: formatting and parsing agree", () => {
  assert.equal(formatBytes(32 * 1024 ** 3), "32Gi");
  assert.equal(formatBytes(1536 * 1024), "1536Ki");
  assert.equal(formatBytes(1000), "1000");
  assert.equal(formatCpu(8000), "8");
  assert.equal(formatCpu(250), "250m");
  assert.equal(quantityOrUndefined("1.5"), 1.5);
  assert.equal(quantityOrUndefined("250m"), 0.25);
  assert.equal(quantityOrUndefined("2k"), 2000);
  assert.equal(quantityOrUndefined("1e3"), 1000);
  assert.equal(quantityOrUndefined("lots"), undefined);
  assert.equal(quantityOrUndefined("-1"), undefined);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (b) => {
      assert.equal(quantityOrUndefined(formatBytes(b)), b);
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1_000_000 }), (m) => {
      assert.equal(Math.round(quantityOrUndefined(formatCpu(m))! * 1000), m);
    }),
  );
});

describe("parseQuantity", () => {
  const table: Array<[unknown, number]> = [
    ["50m", 0.05],
    ["1", 1],
    ["0.5", 0.5],
    ["2500u", 0.0025],
    ["100n", 1e-7],
    ["50Mi", 50 * MiB],
    ["1Gi", GiB],
    ["2k", 2000],
    ["1e3", 1000],
    ["1.5G", 1.5e9],
    [3, 3],
  ];
  for (const [input, want] of table) {
    test(`${JSON.stringify(input)}`, () =>
      assert.ok(Math.abs(parseQuantity(input) - want) < 1e-12 * Math.max(1, want)));
  }
  test("rejects malformed quantities", () => {
    for (const bad of ["", "abc", "5 Mi", "-1", "1x", "Mi", null, {}, Number.NaN]) {
      assert.throws(() => parseQuantity(bad), /invalid quantity/, JSON.stringify(bad));
    }
  });
});
