import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { internalError, notFound, statusJSON } from "./status.ts";

describe("statusJSON", () => {
  it("writes Go's key order and omits empty fields", () => {
    assert.equal(
      statusJSON(401, "Unauthorized", "Unauthorized"),
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",` +
        `"reason":"Unauthorized","code":401}\n`,
    );
    assert.equal(
      statusJSON(404, "NotFound", "x", { kind: "k", name: "n", group: "g" }),
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"x",` +
        `"reason":"NotFound","details":{"name":"n","group":"g","kind":"k"},"code":404}\n`,
    );
    assert.equal(
      statusJSON(404, "NotFound", "x", { name: "", group: "", kind: "" }),
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"x",` +
        `"reason":"NotFound","details":{},"code":404}\n`,
    );
  });

  it("a NotFound with causes: upstream's message first, then theirs; causes in Go's field order", () => {
    assert.equal(
      notFound("podmetrics", "metrics.k8s.io", "default/web-1", [
        { reason: "OnePointSoFar", message: "one point", field: "containers[app]" },
        { reason: "NodeNotReady", message: "not Ready" },
      ]).body,
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
        `"message":"podmetrics.metrics.k8s.io \\"default/web-1\\" not found: one point; not Ready",` +
        `"reason":"NotFound","details":{"name":"default/web-1","group":"metrics.k8s.io","kind":"podmetrics",` +
        `"causes":[{"reason":"OnePointSoFar","message":"one point","field":"containers[app]"},` +
        `{"reason":"NodeNotReady","message":"not Ready"}]},"code":404}\n`,
    );
    assert.equal(
      notFound("pods", "", "x", []).body,
      notFound("pods", "", "x").body,
      "no causes: upstream's bytes",
    );
  });

  it("omits the reason for unclassified internal errors", () => {
    assert.equal(
      internalError("boom").body,
      `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"boom","code":500}\n`,
    );
  });

  it("produces valid JSON that round-trips any message", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (message, name) => {
        const parsed = JSON.parse(notFound("pods", "", name).body);
        assert.equal(parsed.details.name, name === "" ? undefined : name.toWellFormed()); // omitempty
        assert.equal(parsed.details.kind, "pods");
        const status = JSON.parse(statusJSON(400, "BadRequest", message));
        assert.equal(status.message, message.toWellFormed());
      }),
    );
  });

  it("quotes names in messages like Go's %q", () => {
    assert.equal(JSON.parse(notFound("pods", "", 'a"b').body).message, 'pods "a\\"b" not found');
  });
});
