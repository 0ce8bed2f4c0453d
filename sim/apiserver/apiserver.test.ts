import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import * as https from "node:https";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, request } from "../../test/support/https-request.ts";
import { run } from "../../test/support/processes.ts";
import { type SimApiServer, startSimApiServer } from "../../test/support/sim-apiserver.ts";
import { type CA, type CertAndKey, createCA, issueCert } from "../auth/index.ts";
import { faultSpec } from "../options.ts";
import type { Cluster } from "../state/index.ts";
import type { KubeletFault } from "../types.ts";
import type { FaultControl } from "./apiserver.ts";
import { negotiate } from "./negotiate.ts";

const KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/** A watch stream: collects events, lets a test wait for one. */
class WatchStream {
  events: Json[] = [];
  ended = false;
  private waiters: (() => void)[] = [];
  private req: ReturnType<typeof https.request>;
  constructor(
    base: string,
    path: string,
    client: CertAndKey,
    ca: string,
    headers: Record<string, string> = {},
  ) {
    const u = new URL(path, base);
    this.req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        ca,
        cert: client.certPem,
        key: client.keyPem,
        headers,
        agent: false,
      },
      (res: IncomingMessage) => {
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let nl = buf.indexOf("\n");
          while (nl >= 0) {
            this.events.push(JSON.parse(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
            nl = buf.indexOf("\n");
          }
          this.wake();
        });
        res.on("end", () => {
          this.ended = true;
          this.wake();
        });
      },
    );
    this.req.on("error", () => {
      this.ended = true;
      this.wake();
    });
    this.req.end();
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async waitFor(pred: (e: Json) => boolean, what: string, timeoutMs = 20_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (this.ended) throw new Error(`watch ended before ${what}; got ${JSON.stringify(this.events)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  close(): void {
    this.req.destroy();
  }
}

describe("simulated kube-apiserver", () => {
  let ca: CA;
  let admin: CertAndKey;
  let cluster: Cluster;
  let base: string;
  let dir: string;
  let ipBase: string;
  let server: SimApiServer;
  const faults = new Map<string, KubeletFault>();
  const hookCalls: string[] = [];
  const call: SimApiServer["call"] = (path, opts) => server.call(path, opts);

  before(async () => {
    const hooks: Cluster["hooks"] = {
      nodeAdded: (n) => {
        hookCalls.push(`add ${n.name}`);
      },
      nodeRemoved: (name) => {
        hookCalls.push(`remove ${name}`);
      },
    };
    const control: FaultControl = {
      faults: () => Object.fromEntries([...faults].map(([n, f]) => [n, faultSpec(f)])),
      setFault: (node, fault) => {
        if (fault) faults.set(node, fault);
        else faults.delete(node);
      },
    };
    server = await startSimApiServer({ bookmarkIntervalMs: 300, faults: control });
    ({ ca, admin, cluster, base, dir, ipBase } = server);
    cluster.hooks = hooks;
  });

  after(async () => {
    await server?.close();
  });

  test("discovery documents", async () => {
    const version = (await call("/version")).json();
    assert.match(version.gitVersion, /^v1\.33\.\d+-sim$/);
    const apis = await call("/api");
    assert.equal(apis.headers["content-type"], "application/json");
    assert.deepEqual(apis.json().versions, ["v1"]);
    const groups = (await call("/apis")).json();
    assert.equal(groups.kind, "APIGroupList");
    assert.equal(groups.groups[0].name, "apiregistration.k8s.io");
    const v1 = (await call("/api/v1")).json();
    assert.equal(v1.kind, "APIResourceList");
    const nodes = v1.resources.find((r: Json) => r.name === "nodes");
    assert.equal(nodes.namespaced, false);
    assert.ok(nodes.verbs.includes("watch"));
    assert.equal(v1.resources.find((r: Json) => r.name === "pods").namespaced, true);
    // kubectl asks for aggregated discovery first; plain JSON is the fallback it accepts.
    const agg = await call("/apis", {
      headers: {
        accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
      },
    });
    assert.equal(agg.status, 200);
    assert.equal(agg.json().kind, "APIGroupList");
    const missing = await call("/apis/nothing.example.com/v1/things");
    assert.equal(missing.status, 404);
    assert.equal(missing.json().kind, "Status");
    assert.equal(missing.json().message, "the server could not find the requested resource");
  });

  test("treats a request without credentials as system:anonymous and rejects a foreign client certificate", async () => {
    const anonymous = await request(base, "/api/v1/nodes", { ca: ca.certPem });
    assert.equal(anonymous.status, 403);
    assert.equal(anonymous.json().reason, "Forbidden");
    assert.equal(
      anonymous.json().message,
      'nodes is forbidden: User "system:anonymous" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    assert.equal((await request(base, "/healthz", { ca: ca.certPem })).status, 200);
    const otherCA = await createCA("someone-else");
    const stranger = await issueCert(otherCA, { commonName: "mallory", client: true });
    const foreign = await request(base, "/api/v1/nodes", { ca: ca.certPem, client: stranger });
    assert.equal(foreign.status, 401);
  });

  test("lists nodes and pods with label and field selectors", async () => {
    const all = (await call("/api/v1/nodes")).json();
    assert.equal(all.kind, "NodeList");
    assert.equal(all.items.length, 3);
    assert.equal(all.items[0].kind, undefined, "list items carry no kind");
    const node = all.items[1];
    assert.deepEqual(
      node.status.addresses.map((a: Json) => a.type),
      ["InternalIP", "Hostname"],
    );
    const byName = (await call(`/api/v1/nodes?fieldSelector=metadata.name%3D${node.metadata.name}`)).json();
    assert.deepEqual(
      byName.items.map((n: Json) => n.metadata.name),
      [node.metadata.name],
    );
    const hostLabel = encodeURIComponent(
      `kubernetes.io/hostname=${node.metadata.labels["kubernetes.io/hostname"]}`,
    );
    const byLabel = (await call(`/api/v1/nodes?labelSelector=${hostLabel}`)).json();
    assert.deepEqual(
      byLabel.items.map((n: Json) => n.metadata.name),
      [node.metadata.name],
    );
    const notLabel = (
      await call(`/api/v1/nodes?labelSelector=${encodeURIComponent("!kubernetes.io/hostname")}`)
    ).json();
    assert.equal(notLabel.items.length, 0);

    const pods = (await call("/api/v1/pods")).json().items as Json[];
    const onNode = (await call(`/api/v1/pods?fieldSelector=spec.nodeName%3D${node.metadata.name}`)).json()
      .items as Json[];
    assert.ok(onNode.length > 0);
    assert.deepEqual(
      onNode.map((p) => p.metadata.uid).sort(),
      pods
        .filter((p) => p.spec.nodeName === node.metadata.name)
        .map((p) => p.metadata.uid)
        .sort(),
    );
    const running = (await call("/api/v1/pods?fieldSelector=status.phase%3DRunning")).json().items as Json[];
    assert.deepEqual(
      running.map((p) => p.metadata.uid).sort(),
      pods
        .filter((p) => p.status.phase === "Running")
        .map((p) => p.metadata.uid)
        .sort(),
    );
    const ns = pods[0].metadata.namespace;
    const inNs = (await call(`/api/v1/namespaces/${ns}/pods`)).json().items as Json[];
    assert.ok(inNs.length > 0 && inNs.every((p) => p.metadata.namespace === ns));

    const bad = await call("/api/v1/pods?fieldSelector=foo%3Dbar");
    assert.equal(bad.status, 400);
    assert.equal(bad.json().message, "field label not supported: foo");
    const badLabel = await call(`/api/v1/pods?labelSelector=${encodeURIComponent("a in b")}`);
    assert.equal(badLabel.status, 400);
  });

  test("metadata-only lists (PartialObjectMetadataList)", async () => {
    const res = await call("/api/v1/pods?fieldSelector=status.phase%3DRunning", {
      headers: {
        accept: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
      },
    });
    const list = res.json();
    assert.equal(list.kind, "PartialObjectMetadataList");
    assert.equal(list.apiVersion, "meta.k8s.io/v1");
    assert.match(list.metadata.resourceVersion, /^\d+$/);
    assert.ok(list.items.length > 0);
    for (const item of list.items) {
      assert.equal(item.kind, "PartialObjectMetadata");
      assert.equal(item.apiVersion, "meta.k8s.io/v1");
      assert.equal(item.spec, undefined);
      assert.ok(item.metadata.name && item.metadata.namespace && item.metadata.uid);
    }
    const unacceptable = await call("/api/v1/pods", {
      headers: { accept: "application/vnd.kubernetes.protobuf" },
    });
    assert.equal(unacceptable.status, 406);
  });

  test("pagination with limit and continue", async () => {
    const full = (await call("/api/v1/pods")).json().items.map((p: Json) => p.metadata.uid);
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = (
        await call(`/api/v1/pods?limit=2${token ? `&continue=${encodeURIComponent(token)}` : ""}`)
      ).json();
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((p: Json) => p.metadata.uid));
      token = page.metadata.continue ?? "";
      if (token) assert.equal(page.metadata.remainingItemCount, full.length - seen.length);
      pages++;
    } while (token && pages < 100);
    assert.deepEqual(seen, full);
    assert.equal(pages, Math.ceil(full.length / 2));
    const bad = await call("/api/v1/pods?limit=2&continue=bm90LWEtdG9rZW4");
    assert.equal(bad.status, 400);
  });

  test("get, create, duplicate and delete return kube-apiserver answers", async () => {
    const missing = await call("/api/v1/nodes/nope");
    assert.equal(missing.status, 404);
    assert.equal(missing.json().message, 'nodes "nope" not found');
    const body = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "extra-node", labels: { role: "extra" } },
      status: { addresses: [{ type: "InternalIP", address: `${ipBase}.9.9` }] },
    };
    const created = await call("/api/v1/nodes", { method: "POST", body });
    assert.equal(created.status, 201);
    assert.equal(created.json().metadata.labels.role, "extra");
    assert.ok(hookCalls.includes("add extra-node"));
    const dup = await call("/api/v1/nodes", { method: "POST", body });
    assert.equal(dup.status, 409);
    assert.equal(dup.json().reason, "AlreadyExists");
    const got = (await call("/api/v1/nodes/extra-node")).json();
    assert.equal(got.kind, "Node");
    assert.equal(got.status.daemonEndpoints.kubeletEndpoint.Port, 10250);
    const deleted = await call("/api/v1/nodes/extra-node", { method: "DELETE" });
    assert.equal(deleted.status, 200);
    assert.ok(hookCalls.includes("remove extra-node"));
    assert.equal((await call("/api/v1/nodes/extra-node")).status, 404);
    const notJson = await request(base, "/api/v1/namespaces/default/pods", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: undefined,
      client: admin,
      ca: ca.certPem,
    });
    assert.equal(notJson.status, 400);
  });

  test("watch delivers ADDED and DELETED after the given resourceVersion, and bookmarks", async (t) => {
    const list = (await call("/api/v1/namespaces/default/pods")).json();
    const rv = list.metadata.resourceVersion;
    const stream = new WatchStream(
      base,
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&labelSelector=app%3Dwatched`,
      admin,
      ca.certPem,
    );
    t.after(() => stream.close());
    const meta = new WatchStream(base, `/api/v1/pods?watch=1&resourceVersion=${rv}`, admin, ca.certPem, {
      accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    });
    t.after(() => meta.close());
    await stream.waitFor((e) => e.type === "BOOKMARK", "a BOOKMARK");
    const pod = {
      metadata: { name: "watched-pod", labels: { app: "watched" } },
      spec: {
        nodeName: cluster.scenario().nodes[0].name,
        containers: [{ name: "c", resources: { requests: { cpu: "50m" } } }],
      },
    };
    // Another pod that the label selector must hide.
    const other = { metadata: { name: "unwatched-pod" }, spec: { containers: [{ name: "c" }] } };
    assert.equal(
      (await call("/api/v1/namespaces/default/pods", { method: "POST", body: other })).status,
      201,
    );
    assert.equal((await call("/api/v1/namespaces/default/pods", { method: "POST", body: pod })).status, 201);
    const added = await stream.waitFor((e) => e.type === "ADDED", "ADDED");
    assert.equal(added.object.metadata.name, "watched-pod");
    assert.equal(added.object.kind, "Pod");
    assert.equal(added.object.status.phase, "Running");
    assert.equal(
      (await call("/api/v1/namespaces/default/pods/watched-pod", { method: "DELETE" })).status,
      200,
    );
    const deleted = await stream.waitFor((e) => e.type === "DELETED", "DELETED");
    assert.equal(deleted.object.metadata.name, "watched-pod");
    assert.ok(
      Number(deleted.object.metadata.resourceVersion) > Number(added.object.metadata.resourceVersion),
    );
    assert.ok(!stream.events.some((e) => e.object?.metadata?.name === "unwatched-pod"));
    const bookmark = stream.events.find((e) => e.type === "BOOKMARK");
    assert.equal(bookmark.object.kind, "Pod");
    assert.match(bookmark.object.metadata.resourceVersion, /^\d+$/);

    const metaAdded = await meta.waitFor(
      (e) => e.type === "ADDED" && e.object.metadata.name === "watched-pod",
      "metadata ADDED",
    );
    assert.equal(metaAdded.object.kind, "PartialObjectMetadata");
    assert.equal(metaAdded.object.spec, undefined);
    assert.ok(!meta.events.some((e) => e.type === "BOOKMARK"), "bookmarks only when asked");
    await call("/api/v1/namespaces/default/pods/unwatched-pod", { method: "DELETE" });
  });

  test("watch without a resourceVersion starts with the current objects; timeoutSeconds ends it", async (t) => {
    const stream = new WatchStream(base, "/api/v1/nodes?watch=true&timeoutSeconds=1", admin, ca.certPem);
    t.after(() => stream.close());
    await stream.waitFor(
      (e) => e.type === "ADDED" && e.object.metadata.name === cluster.scenario().nodes[2].name,
      "initial ADDED",
    );
    const deadline = Date.now() + 20_000;
    while (!stream.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(stream.ended, "the watch ends after timeoutSeconds");
    assert.equal(stream.events.filter((e) => e.type === "ADDED").length, 3);
  });

  test("watch from a compacted resourceVersion gets 410 Expired", async (t) => {
    // Push enough changes through to drop the first events from the bounded history.
    for (let i = 0; i < 210; i++) {
      const res = await call("/api/v1/namespaces/default/endpoints", {
        method: "POST",
        body: { metadata: { name: `filler-${i}` } },
      });
      assert.equal(res.status, 201);
    }
    const stream = new WatchStream(base, "/api/v1/pods?watch=true&resourceVersion=1", admin, ca.certPem);
    t.after(() => stream.close());
    const err = await stream.waitFor((e) => e.type === "ERROR", "an ERROR event");
    assert.equal(err.object.kind, "Status");
    assert.equal(err.object.code, 410);
    assert.equal(err.object.reason, "Expired");
    assert.match(err.object.message, /^too old resource version: 1 \(\d+\)$/);
  });

  test("/sim/truth and /sim/faults", async () => {
    const truth = (await call("/sim/truth")).json();
    assert.equal(truth.nodes.length, 3);
    assert.ok(truth.pods.length >= 9);
    const node = truth.nodes[0].name;
    const set = await call("/sim/faults", { method: "POST", body: { node, fault: "http500" } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.json().nodes, { [node]: "status:500" });
    await call("/sim/faults", { method: "POST", body: { node, fault: "delay:1.5s" } });
    assert.deepEqual((await call("/sim/faults")).json().nodes, { [node]: "delay:1500ms" });
    for (const fault of ["explode", "delay", "status:418", "hang:1s", 7]) {
      const bad = await call("/sim/faults", { method: "POST", body: { node, fault } });
      assert.equal(bad.status, 400, String(fault));
      assert.equal(bad.json().kind, "Status");
    }
    // The 400 lists the kinds.
    assert.match(
      (await call("/sim/faults", { method: "POST", body: { node, fault: "explode" } })).json().message,
      /unknown kind; want one of hang, delay:DUR, .*wrong-name$/,
    );
    assert.equal(
      (await call("/sim/faults", { method: "POST", body: { node: "ghost", fault: "hang" } })).status,
      404,
    );
    await call("/sim/faults", { method: "POST", body: { node, fault: null } });
    assert.deepEqual((await call("/sim/faults")).json().nodes, {});
    // A node whose Node object is gone for now (delete-mid-scrape) can still have its fault cleared.
    faults.set("ghost", { kind: "delete-mid-scrape", recreateAfterMs: 5000 });
    assert.equal(
      (await call("/sim/faults", { method: "POST", body: { node: "ghost", fault: null } })).status,
      200,
    );
    assert.deepEqual((await call("/sim/faults")).json().nodes, {});
  });

  test("kubectl get nodes and get pods -A work against the simulator", async (t) => {
    if (!existsSync(KUBECTL)) {
      t.skip(`${KUBECTL} not found`);
      return;
    }
    const args = ["--kubeconfig", join(dir, "kubeconfig"), "--cache-dir", join(dir, "cache")];
    const nodes = await run(KUBECTL, [...args, "get", "nodes"]);
    assert.equal(nodes.code, 0, nodes.stderr);
    const lines = nodes.stdout.trim().split("\n");
    assert.match(lines[0], /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    for (const n of cluster.scenario().nodes) assert.ok(nodes.stdout.includes(n.name), `${n.name} listed`);
    const pods = await run(KUBECTL, [...args, "get", "pods", "-A"]);
    assert.equal(pods.code, 0, pods.stderr);
    assert.match(pods.stdout.split("\n")[0], /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    for (const p of cluster.scenario().pods) assert.ok(pods.stdout.includes(p.name), `${p.name} listed`);
  });
});

test("negotiate picks the first representation the server can produce", () => {
  assert.equal(negotiate(undefined, ["json"]), "json");
  assert.equal(negotiate("application/vnd.kubernetes.protobuf, */*", ["json"]), "json");
  assert.equal(
    negotiate("application/json;as=Table;v=v1;g=meta.k8s.io,application/json", ["json", "table"]),
    "table",
  );
  assert.equal(negotiate("application/json;as=Table;v=v1;g=meta.k8s.io,application/json", ["json"]), "json");
  assert.equal(
    negotiate("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1", ["json", "metadataList"]),
    "metadataList",
  );
  assert.equal(
    negotiate("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", ["json", "metadataList"]),
    undefined,
  );
  assert.equal(negotiate("application/vnd.kubernetes.protobuf", ["json"]), undefined);
});
