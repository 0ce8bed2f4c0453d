// The golden responses of src/api/testdata/golden, replayed over the wire: every golden request goes
// through the simulated kube-apiserver's aggregator (or, for /apis, straight to the server as the
// aggregator itself asks) against a cluster with the golden fixture's nodes and pods, and the answer
// must match the golden file field for field and in key order. Values that depend on the clock or the
// simulator (times, windows, quantities, the serving address) are compared by form, not by value.
// Then real kubectl: `get --raw` of discovery paths, objects and lists, the errors it prints, and the
// Table columns `kubectl get nodes.metrics.k8s.io` / `get podmetrics -A` print; and one protobuf
// response decoded with protobufjs equals the JSON one.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import protobuf from "protobufjs";
import { type AdminCredentials, apiRequest, readAdminCredentials } from "../../scripts/cluster.ts";
import { type Cluster, startCluster, waitForNodes } from "../support/cluster.ts";
import { kubectl, kubectlPath } from "../support/kubectl.ts";
import { METRICS_PROTO_SCHEMA } from "../support/metrics-proto.ts";
import { root } from "../support/paths.ts";
import { poll } from "../support/poll.ts";

const GOLDEN_DIR = join(root, "src/api/testdata/golden");
const JSON_ONLY = "application/json";
const PROTOBUF = "application/vnd.kubernetes.protobuf";

interface Golden {
  reference: string;
  request: { method: string; path: string; query: string; accept: string | null };
  status: number;
  contentType: string;
  body: unknown;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
// Labels a kubelet adds to every Node (the fixture's fake nodes do not have them).
const KUBELET_LABELS = new Set(["kubernetes.io/os", "kubernetes.io/arch"]);

/** Replaces values that depend on time or on the simulator by their form; keeps every key and its order. */
function normalize(value: unknown, key = ""): unknown {
  if (typeof value === "string") {
    if (RFC3339.test(value)) return "<time>";
    if (key === "window") return "<duration>";
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => normalize(v, key));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "usage" && v && typeof v === "object") {
      out[k] = Object.fromEntries(Object.keys(v).map((r) => [r, "<quantity>"]));
    } else if (k === "cells" && Array.isArray(v)) {
      out[k] = v.map((cell, i) => (i === 0 ? cell : "<value>"));
    } else if (k === "serverAddressByClientCIDRs") {
      out[k] = "<address>";
    } else if (k === "labels" && v && typeof v === "object") {
      out[k] = Object.fromEntries(Object.entries(v).filter(([l]) => !KUBELET_LABELS.has(l)));
    } else {
      out[k] = normalize(v, k);
    }
  }
  return out;
}

/**
 * A 404 of one node or pod explains itself after upstream's message (docs/metrics-api.md "Why a
 * metric is missing"): upstream's part is the message up to ": " and the details without causes.
 */
function upstreamPart(body: unknown, golden: unknown): unknown {
  const s = body as { kind?: string; message?: string; details?: Record<string, unknown> };
  const want = (golden as { message?: string }).message;
  if (s.kind !== "Status" || want === undefined || !s.message?.startsWith(`${want}: `)) return body;
  const { causes, ...details } = s.details ?? {};
  assert.ok(Array.isArray(causes) && causes.length > 0, "an explained 404 has causes");
  return { ...s, message: want, details };
}

function goldens(): [string, Golden][] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => [f.replace(/\.json$/, ""), JSON.parse(readFileSync(join(GOLDEN_DIR, f), "utf8")) as Golden]);
}

const DIAGNOSTICS_GROUP = "diagnostics.metrics-server.x-k8s.io";

/**
 * The server's `/apis` document without the diagnostics group, which it lists last (a generic API
 * server lists every group it serves; upstream serves only metrics.k8s.io, which the goldens hold).
 */
function withoutDiagnosticsGroup(body: unknown): unknown {
  const doc = body as { groups?: { name: string }[]; items?: { metadata: { name: string } }[] };
  const key = doc.groups ? "groups" : "items";
  const entries = (doc[key] ?? []) as ({ name: string } | { metadata: { name: string } })[];
  const names = entries.map((e) => ("name" in e ? e.name : e.metadata.name));
  assert.deepEqual(names, ["metrics.k8s.io", DIAGNOSTICS_GROUP], "/apis lists both groups");
  return { ...doc, [key]: entries.slice(0, 1) };
}

/** A request straight to the metrics-server with the admin client certificate. */
function direct(
  c: Cluster,
  creds: AdminCredentials,
  path: string,
  accept: string,
): Promise<{ status: number; contentType: string; body: Buffer }> {
  const i = c.serverAddress.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: c.serverAddress.slice(0, i),
        port: Number(c.serverAddress.slice(i + 1)),
        path,
        cert: creds.cert,
        key: creds.key,
        rejectUnauthorized: false,
        headers: { accept },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (b: Buffer) => chunks.push(b));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"]),
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("golden responses over the wire, kubectl get --raw, Table and protobuf", async (t) => {
  const c = await startCluster(t, {
    simArgs: [
      "--scenario",
      join(root, "test/conformance/golden-cluster.yaml"),
      "--fault",
      "kind-worker2=http500",
    ],
    resolution: "4s",
  });
  const creds = readAdminCredentials(c.kubeconfig);
  await waitForNodes(c, ["kind-control-plane", "kind-worker"]);
  await poll("pod metrics for the three pods with metrics", async () => {
    const r = await apiRequest(creds, "GET", "/apis/metrics.k8s.io/v1beta1/pods");
    return r.status === 200 && (JSON.parse(r.body) as { items: unknown[] }).items.length === 3
      ? true
      : undefined;
  });

  for (const [name, golden] of goldens()) {
    await t.test(`${name} (${golden.reference})`, async () => {
      const { path, query } = golden.request;
      // Protobuf-first Accepts get protobuf from this server; the goldens record the JSON answer.
      const accept = golden.request.accept?.includes(PROTOBUF)
        ? JSON_ONLY
        : (golden.request.accept ?? JSON_ONLY);
      const url = query ? `${path}?${query}` : path;
      let status: number;
      let text: string;
      if (path === "/apis") {
        // kube-apiserver answers /apis itself; this is the document the aggregator fetches from us.
        const r = await direct(c, creds, url, accept);
        status = r.status;
        text = r.body.toString("utf8");
        assert.equal(r.contentType, golden.contentType);
      } else {
        const r = await apiRequest(creds, "GET", url, undefined, { accept });
        status = r.status;
        text = r.body;
      }
      assert.equal(status, golden.status, text);
      let body = upstreamPart(JSON.parse(text), golden.body);
      if (path === "/apis") body = withoutDiagnosticsGroup(body);
      assert.equal(JSON.stringify(normalize(body)), JSON.stringify(normalize(golden.body)));
    });
  }

  await t.test("kubectl get --raw and kubectl get (Table) print what the golden files hold", async (t) => {
    const bin = kubectlPath(t, 33);
    if (!bin) return;
    const golden = new Map(goldens());
    const raw = async (path: string) => {
      const r = await kubectl(t, bin, c.kubeconfig, ["get", "--raw", path]);
      return r;
    };
    for (const [file, path] of [
      ["discovery-group", "/apis/metrics.k8s.io"],
      ["discovery-resources", "/apis/metrics.k8s.io/v1beta1"],
      ["node-metrics", "/apis/metrics.k8s.io/v1beta1/nodes/kind-worker"],
      ["node-metrics-list", "/apis/metrics.k8s.io/v1beta1/nodes"],
      ["pod-metrics", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/cpu-consumer"],
      ["pod-metrics-list", "/apis/metrics.k8s.io/v1beta1/pods"],
    ] as const) {
      const r = await raw(path);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        JSON.stringify(normalize(JSON.parse(r.stdout))),
        JSON.stringify(normalize(golden.get(file)!.body)),
        path,
      );
    }
    for (const file of [
      "error-node-unknown",
      "error-node-no-metrics",
      "error-pod-unknown",
      "error-pod-no-metrics",
    ]) {
      const g = golden.get(file)!;
      const r = await raw(g.request.path);
      assert.equal(r.code, 1);
      const status = g.body as { reason: string; message: string };
      assert.match(
        r.stderr,
        new RegExp(`Error from server \\(${status.reason}\\): ${escapeRegExp(status.message)}`),
      );
    }
    const nodes = await kubectl(t, bin, c.kubeconfig, ["get", "nodes.metrics.k8s.io"]);
    assert.equal(nodes.code, 0, nodes.stderr);
    const lines = nodes.stdout.trim().split("\n");
    assert.deepEqual(lines[0]!.trim().split(/\s+/), ["NAME", "CPU", "MEMORY", "WINDOW"]);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/)[0]),
      ["kind-control-plane", "kind-worker"],
    );
    for (const l of lines.slice(1)) assert.match(l, /^\S+\s+\d+\w*\s+\d+\w*\s+[\d.]+(ms|s)\s*$/, l);
    const pods = await kubectl(t, bin, c.kubeconfig, ["get", "podmetrics", "-A"]);
    assert.equal(pods.code, 0, pods.stderr);
    const podLines = pods.stdout.trim().split("\n");
    assert.deepEqual(podLines[0]!.trim().split(/\s+/), ["NAMESPACE", "NAME", "CPU", "MEMORY", "WINDOW"]);
    assert.deepEqual(
      podLines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join("/")),
      ["default/cpu-consumer", "default/web", "kube-system/coredns-5d78c9869d-abcde"],
    );
  });

  await t.test("a protobuf list decodes (protobufjs) into the same values as the JSON one", async () => {
    const rootType = protobuf.parse(METRICS_PROTO_SCHEMA).root;
    const Unknown = rootType.lookupType("k8s.Unknown");
    const PodMetricsList = rootType.lookupType("k8s.PodMetricsList");
    const path = "/apis/metrics.k8s.io/v1beta1/pods";
    // A scrape between the two requests changes the values: retry until JSON is the same before and after.
    const { json, pb } = await poll("a protobuf answer between two identical JSON answers", async () => {
      const before = await direct(c, creds, path, JSON_ONLY);
      const pbRes = await apiRequestBuffer(creds, path, `${PROTOBUF}, */*`);
      const after = await direct(c, creds, path, JSON_ONLY);
      return before.body.equals(after.body)
        ? { json: JSON.parse(before.body.toString("utf8")), pb: pbRes }
        : undefined;
    });
    assert.equal(pb.contentType, PROTOBUF);
    assert.deepEqual([...pb.body.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
    // biome-ignore lint/suspicious/noExplicitAny: decoded protobufjs objects
    const unknown: any = Unknown.toObject(Unknown.decode(pb.body.subarray(4)), { longs: Number });
    assert.deepEqual(unknown.typeMeta, { apiVersion: "metrics.k8s.io/v1beta1", kind: "PodMetricsList" });
    // biome-ignore lint/suspicious/noExplicitAny: decoded protobufjs objects
    const list: any = PodMetricsList.toObject(PodMetricsList.decode(unknown.raw), { longs: Number });
    type JsonPod = {
      metadata: { name: string; namespace: string; labels?: Record<string, string> };
      timestamp: string;
      containers: { name: string; usage: Record<string, string> }[];
    };
    const items = json.items as JsonPod[];
    assert.equal(list.items.length, items.length);
    items.forEach((j, i) => {
      const p = list.items[i];
      assert.equal(p.metadata.name, j.metadata.name);
      assert.equal(p.metadata.namespace, j.metadata.namespace);
      assert.deepEqual(
        Object.fromEntries(
          (p.metadata.labels ?? []).map((e: { key: string; value: string }) => [e.key, e.value]),
        ),
        j.metadata.labels ?? {},
      );
      assert.equal(p.timestamp.seconds, Date.parse(j.timestamp) / 1000);
      assert.deepEqual(
        p.containers.map((ct: { name: string; usage: { key: string; value: { string: string } }[] }) => ({
          name: ct.name,
          usage: Object.fromEntries(ct.usage.map((u) => [u.key, u.value.string])),
        })),
        j.containers,
      );
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Like apiRequest (through the aggregator) but keeps the body as bytes. */
function apiRequestBuffer(
  creds: AdminCredentials,
  path: string,
  accept: string,
): Promise<{ status: number; contentType: string; body: Buffer }> {
  const url = new URL(path, creds.server);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { ca: creds.ca, cert: creds.cert, key: creds.key, headers: { accept } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (b: Buffer) => chunks.push(b));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"]),
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
