// The node and Running-pod reflectors and their transforms, against a fake API server.
import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { FakeApiServer, json, listOf, podMeta, send, waitFor } from "../../test/support/fake-apiserver.ts";
import * as log from "../log/index.ts";
import { KubeClient } from "./client.ts";
import { newNodeReflector, newRunningPodReflector, slimNode } from "./informers.ts";
import type { Node } from "./types.ts";

describe("informers", () => {
  let api: FakeApiServer;
  let client: KubeClient;
  const logLines: string[] = [];
  const prevSink = log.setSink((line) => logLines.push(line));
  after(() => log.setSink(prevSink));

  beforeEach(async () => {
    api = new FakeApiServer();
    await api.start();
    client = new KubeClient({ server: api.url, insecureSkipTLSVerify: false });
    logLines.length = 0;
  });
  afterEach(async () => {
    await client.close();
    await api.close();
  });

  test("running pod reflector: metadata-only Accept headers, field selector, slim objects", async (t) => {
    api.list = (_q, res) =>
      json(
        res,
        200,
        listOf(
          [
            {
              apiVersion: "meta.k8s.io/v1",
              kind: "PartialObjectMetadata",
              metadata: {
                name: "web-1",
                namespace: "default",
                uid: "u1",
                labels: { app: "web" },
                annotations: { big: "x".repeat(1000) },
                managedFields: [{ manager: "kubelet" }],
                creationTimestamp: "2024-01-01T00:00:00Z",
                resourceVersion: "3",
              },
            },
          ],
          "3",
        ),
      );
    const r = newRunningPodReflector(client);
    t.after(() => r.stop());
    r.start();
    const w = await api.nextWatch();
    const listReq = api.requests.find((x) => !x.watch);
    assert.equal(
      listReq?.accept,
      "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json",
    );
    assert.equal(listReq?.query.get("fieldSelector"), "status.phase=Running");
    const watchReq = api.requests.find((x) => x.watch);
    assert.equal(
      watchReq?.accept,
      "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json",
    );
    assert.equal(w.query.get("fieldSelector"), "status.phase=Running");
    // Only what the API serves is kept: name, namespace, labels (not uid, times, annotations, rv).
    assert.deepEqual(podMeta(r.get("default/web-1")), {
      name: "web-1",
      namespace: "default",
      labels: { app: "web" },
    });
    // A full Pod (server ignored the Accept header) is slimmed the same way.
    send(w, "MODIFIED", {
      kind: "Pod",
      metadata: { name: "web-1", namespace: "default", labels: { app: "web", v: "2" }, resourceVersion: "4" },
      spec: { containers: [{ name: "c" }] },
      status: { phase: "Running" },
    });
    await waitFor(() => r.lastResourceVersion === "4", "the update");
    assert.deepEqual(podMeta(r.get("default/web-1")), {
      name: "web-1",
      namespace: "default",
      labels: { app: "web", v: "2" },
    });
  });

  test("node reflector lists /api/v1/nodes with full objects, keyed by name", async (t) => {
    const node = {
      metadata: { name: "n1", labels: { role: "worker" }, managedFields: [{}], uid: "x" },
      spec: { podCIDR: "10.0.0.0/24" },
      status: { addresses: [{ type: "InternalIP", address: "10.0.0.1" }], images: [{ names: ["big"] }] },
    };
    api.list = (_q, res) => json(res, 200, listOf([node], "5"));
    const r = newNodeReflector(client);
    t.after(() => r.stop());
    r.start();
    await api.nextWatch();
    assert.deepEqual(
      api.requests.map((x) => x.path),
      ["/api/v1/nodes", "/api/v1/nodes"],
    );
    assert.equal(api.requests[0].query.get("fieldSelector"), null);
    assert.equal(api.requests[0].accept, "application/json");
    assert.deepEqual(r.get("n1"), {
      metadata: { name: "n1", labels: { role: "worker" } },
      status: { addresses: [{ type: "InternalIP", address: "10.0.0.1" }] },
    });
    assert.deepEqual(r.listNamespace(""), []);
  });
});

test("slimNode keeps exactly the fields the server reads", () => {
  const full = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: "n",
      labels: { a: "b" },
      annotations: { c: "d" },
      creationTimestamp: "t",
      resourceVersion: "9",
      uid: "u",
      managedFields: [{ manager: "x" }],
    },
    spec: { taints: [] },
    status: {
      addresses: [{ type: "Hostname", address: "n" }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      conditions: [
        { type: "Ready", status: "True", message: "kubelet is posting ready status", lastHeartbeatTime: "t" },
      ],
      allocatable: { cpu: "2" },
      capacity: { cpu: "2" },
      images: [{ names: ["x"] }],
      nodeInfo: { kubeletVersion: "v1" },
    },
  } as unknown as Node;
  assert.deepEqual(slimNode(full), {
    metadata: {
      name: "n",
      labels: { a: "b" },
      annotations: { c: "d" },
      creationTimestamp: "t",
      resourceVersion: "9",
    },
    status: {
      addresses: [{ type: "Hostname", address: "n" }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      conditions: [{ type: "Ready", status: "True" }],
      allocatable: { cpu: "2" },
      capacity: { cpu: "2" },
    },
  });
});
