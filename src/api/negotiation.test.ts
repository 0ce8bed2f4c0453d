import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { negotiateDiscovery, negotiateObject } from "./negotiation.ts";

describe("negotiateObject (apiserver rules)", () => {
  it("picks protobuf for kubectl top and the HPA only when an encoder exists", () => {
    const accept = "application/vnd.kubernetes.protobuf, */*";
    assert.deepEqual(negotiateObject(accept, true), { representation: "protobuf" });
    assert.deepEqual(negotiateObject(accept, false), { representation: "json" });
    assert.deepEqual(negotiateObject("application/vnd.kubernetes.protobuf,application/json", true), {
      representation: "protobuf",
    });
  });

  it("honours q values and wildcard specificity before header order", () => {
    assert.deepEqual(negotiateObject("application/vnd.kubernetes.protobuf;q=0.5, application/json", true), {
      representation: "json",
    });
    assert.deepEqual(negotiateObject("*/*, application/vnd.kubernetes.protobuf", true), {
      representation: "protobuf",
    });
    assert.deepEqual(negotiateObject("application/*", true), { representation: "json" });
  });

  it("chooses a Table for kubectl get, v1 or v1beta1, and skips conversions it cannot do", () => {
    const kubectlGet =
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    assert.deepEqual(negotiateObject(kubectlGet, true), { representation: "table", version: "v1" });
    assert.deepEqual(negotiateObject("application/json;as=Table;v=v1beta1;g=meta.k8s.io", false), {
      representation: "table",
      version: "v1beta1",
    });
    assert.deepEqual(negotiateObject("application/json;as=Table;g=meta.k8s.io;v=v9, */*", false), {
      representation: "json",
    });
    assert.deepEqual(negotiateObject("application/json;as=Foo", true), {
      representation: "not-acceptable",
      supported: ["application/json", "application/vnd.kubernetes.protobuf"],
    });
  });

  it("never throws and always answers one of the representations", () => {
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (accept, protobuf) => {
        const n = negotiateObject(accept, protobuf);
        assert.ok(["json", "protobuf", "table", "not-acceptable"].includes(n.representation));
        if (!protobuf) assert.notEqual(n.representation, "protobuf");
      }),
    );
  });
});

describe("negotiateDiscovery", () => {
  it("offers aggregated discovery only at the root", () => {
    const accept =
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    assert.deepEqual(negotiateDiscovery(accept, true), {
      representation: "discovery-aggregated",
      version: "v2beta1",
    });
    assert.deepEqual(negotiateDiscovery(accept, false), { representation: "discovery-legacy" });
    assert.deepEqual(negotiateDiscovery(undefined, true), { representation: "discovery-legacy" });
    assert.equal(
      negotiateDiscovery("application/vnd.kubernetes.protobuf", true).representation,
      "not-acceptable",
    );
  });
});
