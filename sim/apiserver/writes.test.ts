// Writes over HTTPS: field validation modes, the patch content types, TokenRequest, discovery of the
// stored kinds, and --bare's start policy.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Json, request } from "../../test/support/https-request.ts";
import { type CA, type CertAndKey, createCA, issueCert, TokenTable } from "../auth/index.ts";
import { Cluster } from "../state/index.ts";
import { ApiServer } from "./apiserver.ts";

const R = 2 + Math.floor(Math.random() * 253);

describe("writes through the simulated kube-apiserver", () => {
  let ca: CA;
  let admin: CertAndKey;
  let cluster: Cluster;
  let api: ApiServer;
  const tokens = new TokenTable();
  const call = (
    path: string,
    opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  ) => request(api.url, path, { ...opts, client: admin, ca: ca.certPem });

  before(async () => {
    ca = await createCA("writes-ca");
    admin = await issueCert(ca, { commonName: "admin", organizations: ["system:masters"], client: true });
    const frontProxyClient = await issueCert(await createCA("fp"), {
      commonName: "front-proxy-client",
      client: true,
    });
    cluster = new Cluster({ nodes: [], pods: [] });
    api = await ApiServer.start({
      cluster,
      ca,
      frontProxyClient,
      host: `127.${R}.0.1`,
      port: 0,
      availabilityIntervalMs: 0,
      tokens,
      bare: true,
    });
  });
  after(() => api.close());

  test("--bare stores kube's bootstrap policy and none of metrics-server's", () => {
    assert.ok(cluster.get("clusterroles", undefined, "system:auth-delegator"));
    assert.equal(cluster.get("clusterroles", undefined, "system:metrics-server"), undefined);
    assert.equal(cluster.get("clusterrolebindings", undefined, "system:metrics-server"), undefined);
  });

  test("discovery lists every stored kind with its verbs and short names", async () => {
    const apps = (await call("/apis/apps/v1")).json();
    const deployments = apps.resources.find((r: Json) => r.name === "deployments");
    assert.deepEqual(deployments.shortNames, ["deploy"]);
    assert.ok(deployments.verbs.includes("patch"));
    assert.ok(apps.resources.some((r: Json) => r.name === "deployments/status"));
    const groups = (await call("/apis")).json().groups.map((g: Json) => g.name);
    for (const g of ["apps", "policy", "rbac.authorization.k8s.io", "apiregistration.k8s.io"])
      assert.ok(groups.includes(g), g);
    assert.equal((await call("/openapi/v3")).status, 200);
    assert.equal(
      (await call("/openapi/v3/apis/policy/v1")).json().components.schemas.PodDisruptionBudget.type,
      "object",
    );
  });

  test("fieldValidation: Strict is a 400, Warn a Warning header, Ignore silent; unknown fields are never stored", async () => {
    const cm = (name: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name },
      data: { a: "b" },
      extra: 1,
    });
    const strict = await call("/api/v1/namespaces/default/configmaps?fieldValidation=Strict", {
      method: "POST",
      body: cm("s"),
    });
    assert.equal(strict.status, 400);
    assert.equal(
      strict.json().message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "extra"',
    );
    const warn = await call("/api/v1/namespaces/default/configmaps", { method: "POST", body: cm("w") });
    assert.equal(warn.status, 201);
    assert.equal(warn.headers.warning, '299 - "unknown field \\"extra\\""');
    assert.equal(warn.json().extra, undefined);
    const ignore = await call("/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", {
      method: "POST",
      body: cm("i"),
    });
    assert.equal(ignore.status, 201);
    assert.equal(ignore.headers.warning, undefined);
    const bad = await call("/api/v1/namespaces/default/configmaps?fieldValidation=Loose", {
      method: "POST",
      body: cm("l"),
    });
    assert.equal(bad.status, 400);
  });

  test("PATCH: merge, JSON and strategic merge patches; other types 415; protobuf bodies 415", async () => {
    const path = "/api/v1/namespaces/default/configmaps/w";
    const merge = await call(path, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: { data: { c: "d" } },
    });
    assert.deepEqual(merge.json().data, { a: "b", c: "d" });
    const json = await call(path, {
      method: "PATCH",
      headers: { "content-type": "application/json-patch+json" },
      body: [{ op: "remove", path: "/data/a" }],
    });
    assert.deepEqual(json.json().data, { c: "d" });
    const smp = await call(path + "?fieldValidation=Strict", {
      method: "PATCH",
      headers: { "content-type": "application/strategic-merge-patch+json" },
      body: { data: { c: null }, wrong: 1 },
    });
    assert.equal(smp.status, 400);
    assert.match(smp.json().message, /unknown field "wrong"/);
    const apply = await call(path, {
      method: "PATCH",
      headers: { "content-type": "application/apply-patch+yaml" },
      body: {},
    });
    assert.equal(apply.status, 415);
    const proto = await call("/api/v1/namespaces/default/configmaps", {
      method: "POST",
      headers: { "content-type": "application/vnd.kubernetes.protobuf" },
      body: {},
    });
    assert.equal(proto.status, 415);
  });

  test("TokenRequest: a token bound to a pod, gone with the pod", async () => {
    await call("/api/v1/namespaces/default/serviceaccounts", {
      method: "POST",
      body: { metadata: { name: "sa" } },
    });
    const pod = cluster.addPod({
      namespace: "default",
      name: "p",
      uid: "pod-uid-1",
      nodeName: "",
      labels: {},
      phase: "Pending",
      creationTimestampMs: Date.now(),
      startTimeMs: Date.now(),
      containers: [],
      initContainers: [],
    });
    const ask = (body: unknown) =>
      call("/api/v1/namespaces/default/serviceaccounts/sa/token", { method: "POST", body });
    assert.equal((await ask({ spec: {} })).status, 422);
    assert.equal(
      (await ask({ spec: { boundObjectRef: { kind: "Pod", name: "p", uid: "other" } } })).status,
      409,
    );
    const ok = await ask({
      spec: { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p", uid: pod.metadata.uid } },
    });
    assert.equal(ok.status, 201, ok.text);
    const token = ok.json().status.token;
    const asSa = (path: string) =>
      request(api.url, path, { ca: ca.certPem, headers: { authorization: `Bearer ${token}` } });
    assert.equal((await asSa("/api")).status, 200);
    await cluster.delete("pods", "default", "p");
    assert.equal((await asSa("/api")).status, 401);
  });
});
