import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIncludeObject, type TableItem, tableJSON } from "./table.ts";

function item(name: string, usage: Record<string, string>, window = "1µs"): TableItem {
  return { name, usage, window, metadataJSON: `{"name":"${name}"}`, objectJSON: () => `{"name":"${name}"}` };
}

describe("tableJSON", () => {
  it("takes columns from the first item's sorted usage keys, with Name and Window around them", () => {
    const table = JSON.parse(
      tableJSON(
        "v1",
        [item("node1", { memory: "5Mi", cpu: "10m" }), item("node2", { cpu: "1" }, "2µs")],
        "None",
      ),
    );
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string; format: string }) => `${c.name}:${c.format}`),
      ["Name:name", "cpu:quantity", "memory:quantity", "Window:duration"],
    );
    // A resource missing from a later item prints as a zero quantity.
    assert.deepEqual(table.rows[1].cells, ["node2", "1", "0", "2µs"]);
  });

  it("keeps upstream's quirk: rows before the first item with usage have only name and window", () => {
    const table = JSON.parse(
      tableJSON("v1", [item("empty", {}), item("pod1", { cpu: "10m", memory: "5Mi" })], "Metadata"),
    );
    assert.deepEqual(table.rows[0].cells, ["empty", "1µs"]);
    assert.deepEqual(table.rows[1].cells, ["pod1", "10m", "5Mi", "1µs"]);
    assert.equal(table.columnDefinitions.length, 4);
    assert.deepEqual(table.rows[1].object, {
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: { name: "pod1" },
    });
  });

  it("validates includeObject like apiserver", () => {
    assert.equal(parseIncludeObject(null), "Metadata");
    assert.equal(parseIncludeObject(""), "Metadata");
    assert.equal(parseIncludeObject("Object"), "Object");
    const bad = parseIncludeObject("none");
    assert.ok(typeof bad !== "string");
    assert.equal(bad.status, 400);
    assert.match(String(bad.body), /includeObject: Invalid value: \\"none\\"/);
  });
});
