import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Node } from "../kube/index.ts";
import { isNodeReady, resolveKubeletEndpoint } from "./address.ts";

const manifestTypes = ["InternalIP", "ExternalIP", "Hostname"];
const opts = {
  preferredAddressTypes: manifestTypes,
  port: 10250,
  useNodeStatusPort: false,
  scheme: "https" as const,
};

function node(extra: Partial<Node["status"]> = {}, annotations?: Record<string, string>): Node {
  return {
    metadata: { name: "n1", annotations },
    status: {
      addresses: [
        { type: "Hostname", address: "n1.example" },
        { type: "ExternalIP", address: "203.0.113.7" },
        { type: "InternalIP", address: "10.0.0.5" },
        { type: "InternalIP", address: "10.0.0.6" },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10255 } },
      ...extra,
    },
  };
}

describe("resolveKubeletEndpoint", () => {
  it("takes the first address of the first preferred type that the node has", () => {
    assert.deepEqual(resolveKubeletEndpoint(node(), opts), {
      host: "10.0.0.5",
      port: 10250,
      path: "/metrics/resource",
      url: "https://10.0.0.5:10250/metrics/resource",
      summaryUrl: "https://10.0.0.5:10250/stats/summary?only_cpu_and_memory=true",
    });
    const hostnameFirst = { ...opts, preferredAddressTypes: ["InternalDNS", "Hostname", "InternalIP"] };
    assert.equal(
      resolveKubeletEndpoint(node(), hostnameFirst).url,
      "https://n1.example:10250/metrics/resource",
    );
  });

  it("uses the node status port only when asked and non-zero", () => {
    assert.equal(resolveKubeletEndpoint(node(), { ...opts, useNodeStatusPort: true }).port, 10255);
    const zero = node({ daemonEndpoints: { kubeletEndpoint: { Port: 0 } } });
    assert.equal(resolveKubeletEndpoint(zero, { ...opts, useNodeStatusPort: true }).port, 10250);
    const none = node({ daemonEndpoints: undefined });
    assert.equal(resolveKubeletEndpoint(none, { ...opts, useNodeStatusPort: true, port: 1234 }).port, 1234);
  });

  it("brackets IPv6 literals in the URL but not in host", () => {
    const v6 = node({ addresses: [{ type: "InternalIP", address: "fd00::1" }] });
    const e = resolveKubeletEndpoint(v6, opts);
    assert.equal(e.host, "fd00::1");
    assert.equal(e.url, "https://[fd00::1]:10250/metrics/resource");
    assert.equal(e.summaryUrl, "https://[fd00::1]:10250/stats/summary?only_cpu_and_memory=true");
  });

  it("honours the resource-metrics-path annotation, and plain http", () => {
    const n = node({}, { "metrics.k8s.io/resource-metrics-path": "/api/v1/custom/metrics" });
    assert.equal(
      resolveKubeletEndpoint(n, { ...opts, scheme: "http" }).url,
      "http://10.0.0.5:10250/api/v1/custom/metrics",
    );
    // The annotation moves only the resource path; the Summary fallback keeps its own path.
    assert.equal(
      resolveKubeletEndpoint(n, { ...opts, scheme: "http" }).summaryUrl,
      "http://10.0.0.5:10250/stats/summary?only_cpu_and_memory=true",
    );
    const relative = node({}, { "metrics.k8s.io/resource-metrics-path": "m" });
    assert.equal(resolveKubeletEndpoint(relative, opts).path, "/m");
    const empty = node({}, { "metrics.k8s.io/resource-metrics-path": "" });
    assert.equal(resolveKubeletEndpoint(empty, opts).path, "/metrics/resource");
  });

  it("fails with Go slice formatting when no type matches", () => {
    const n = node({ addresses: [{ type: "InternalDNS", address: "x" }] });
    assert.throws(() => resolveKubeletEndpoint(n, opts), {
      message: "no address matched types [InternalIP ExternalIP Hostname]",
    });
    assert.throws(() => resolveKubeletEndpoint({ metadata: { name: "bare" } }, opts), {
      message: "no address matched types [InternalIP ExternalIP Hostname]",
    });
  });
});

describe("isNodeReady", () => {
  it("is true only for a Ready condition with status True", () => {
    const withReady = (status: string): Node =>
      node({
        conditions: [
          { type: "MemoryPressure", status: "False" },
          { type: "Ready", status },
        ],
      });
    assert.equal(isNodeReady(withReady("True")), true);
    assert.equal(isNodeReady(withReady("False")), false);
    assert.equal(isNodeReady(withReady("Unknown")), false);
    assert.equal(isNodeReady(node({ conditions: [] })), false);
    assert.equal(isNodeReady({ metadata: { name: "x" } }), false);
  });
});
