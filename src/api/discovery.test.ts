import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { discoveryDocuments } from "./discovery.ts";

// docs/metrics-api.md#discovery.
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
