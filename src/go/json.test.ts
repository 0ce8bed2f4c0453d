import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goJSONString, labelsJSON } from "./json.ts";

describe("Go-compatible JSON strings", () => {
  it("escapes HTML characters and line separators as Go's encoder does", () => {
    assert.equal(goJSONString("<a&b>"), '"\\u003ca\\u0026b\\u003e"');
    assert.equal(goJSONString("x\u2028y\u2029"), '"x\\u2028y\\u2029"');
    assert.equal(goJSONString('q"\\\n\t\u0001'), '"q\\"\\\\\\n\\t\\u0001"');
    assert.equal(goJSONString("é"), '"é"');
  });

  it("writes label maps with sorted keys, reusing the text for the same map", () => {
    const labels = { zeta: "1", alpha: "2", "app.kubernetes.io/name": "x" };
    const text = labelsJSON(labels);
    assert.equal(text, '{"alpha":"2","app.kubernetes.io/name":"x","zeta":"1"}');
    assert.equal(labelsJSON(labels), text);
    assert.equal(labelsJSON({}), "");
    assert.equal(labelsJSON(undefined), "");
  });
});
