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
