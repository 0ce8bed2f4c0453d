import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { goJSONString, labelsJSON } from "../go/index.ts";
import { discoveryDocuments } from "./discovery.ts";
import { internalError, notFound, statusJSON } from "./status.ts";

// Reference: upstream-behaviour.md §3.5 (metav1.Status bodies as kube-apiserver writes them).
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

// Reference: upstream-behaviour.md §3.2.
describe("discoveryDocuments", () => {
  it("omits serverAddressByClientCIDRs when the server has no address", () => {
    assert.doesNotMatch(discoveryDocuments("").groupList, /serverAddressByClientCIDRs/);
    assert.match(discoveryDocuments("10.0.0.1:443").groupList, /"serverAddress":"10\.0\.0\.1:443"/);
  });
  it("is valid JSON", () => {
    const docs = discoveryDocuments("127.1.0.2:4443");
    for (const doc of [docs.groupList, docs.group, docs.resourceList]) JSON.parse(doc);
  });
});
