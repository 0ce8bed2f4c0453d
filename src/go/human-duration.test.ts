import assert from "node:assert/strict";
import { it } from "node:test";
import { humanDuration } from "./human-duration.ts";

it("writes ages as apimachinery's HumanDuration does", () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  for (const [ms, text] of [
    [-5 * s, "<invalid>"],
    [-500, "0s"],
    [0, "0s"],
    [119 * s, "119s"],
    [2 * m, "2m"],
    [3 * m + 2 * s, "3m2s"],
    [10 * m + 30 * s, "10m"],
    [179 * m, "179m"],
    [3 * h, "3h"],
    [5 * h + 7 * m, "5h7m"],
    [47 * h, "47h"],
    [2 * d, "2d"],
    [2 * d + 3 * h, "2d3h"],
    [400 * d, "400d"],
    [3 * 365 * d, "3y"],
    [3 * 365 * d + 10 * d, "3y10d"],
    [9 * 365 * d, "9y"],
  ] as const) {
    assert.equal(humanDuration(ms), text, String(ms));
  }
});
