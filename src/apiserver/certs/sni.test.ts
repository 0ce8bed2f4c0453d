import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sniMatcher } from "./sni.ts";

describe("--tls-sni-cert-key", () => {
  it("matches exact names, then a first-label wildcard, case-insensitively; later entries win", () => {
    const match = sniMatcher([
      { names: ["a.example.com", "*.example.com"], value: 1 },
      { names: ["A.example.com"], value: 2 },
    ]);
    assert.equal(match("a.example.com"), 2);
    assert.equal(match("b.example.com."), 1);
    assert.equal(match("x.b.example.com"), undefined);
    assert.equal(match("example.com"), undefined);
  });
});
