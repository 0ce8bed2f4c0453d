// The simulator's knobs end to end, in-process: startSim with sim/scenarios/kubelet-knobs.yaml, then
// only the wire (HTTPS to the API server with the admin token or client cert, HTTP(S) to kubelets).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import YAML from "yaml";
import { ApiServer } from "./apiserver/index.ts";
import { createCA, issueCert } from "./auth/index.ts";
import { type RunningSim, startSim } from "./main.ts";
import { parseArgs, UsageError } from "./options.ts";
import { generateScenario } from "./scenario/index.ts";
import { Cluster } from "./state/index.ts";

// Decoded API responses are checked field by field; typing every shape would add nothing.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Json = any;

const KNOBS = new URL("./scenarios/kubelet-knobs.yaml", import.meta.url).pathname;
const randomR = () => 2 + Math.floor(Math.random() * 253);

interface Reply {
  status: number;
  text: string;
  json: () => Json;
}

interface Auth {
  ca: string;
  token?: string;
  cert?: { certPem: string; keyPem: string };
}

function call(
  base: string,
  path: string,
  auth: Auth,
  opts: { method?: string; body?: unknown; accept?: string } = {},
) {
  return new Promise<Reply>((resolve, reject) => {
    const u = new URL(path, base);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? "GET",
        ca: auth.ca,
        cert: auth.cert?.certPem,
        key: auth.cert?.keyPem,
        agent: false,
        headers: {
          ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
          ...(body ? { "content-type": "application/json" } : {}),
          ...(opts.accept ? { accept: opts.accept } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A watch stream read to its end: the events and whether the server ended it (EOF). */
function openWatch(base: string, path: string, auth: Auth, accept?: string) {
  const events: Json[] = [];
  let ended = false;
  let request: http.ClientRequest | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const u = new URL(path, base);
    request = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        ca: auth.ca,
        agent: false,
        headers: { authorization: `Bearer ${auth.token}`, ...(accept ? { accept } : {}) },
      },
      (res) => {
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
            events.push(JSON.parse(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
          }
        });
        res.on("end", () => {
          ended = true;
          resolve();
        });
      },
    );
    request.on("error", reject);
    request.end();
  });
  done.catch(() => {});
  return {
    events,
    done,
    get ended() {
      return ended;
    },
    close: () => request?.destroy(),
  };
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function kubeletGet(
  scheme: "http" | "https",
  host: string,
  port: number,
  path: string,
  ca: string,
  token?: string,
) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const onRes = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    };
    const req =
      scheme === "https"
        ? https.request(
            {
              host,
              port,
              path,
              ca,
              agent: false,
              headers: token ? { authorization: `Bearer ${token}` } : {},
            },
            onRes,
          )
        : http.request({ host, port, path, agent: false }, onRes);
    req.on("error", reject);
    req.end();
  });
}

describe("kube-sim with sim/scenarios/kubelet-knobs.yaml", () => {
  const ipBase = `127.${randomR()}`;
  const readOnlyPort = 20_000 + Math.floor(Math.random() * 40_000);
  let dir: string;
  let sim: RunningSim;
  let ca: string;
  let admin: Auth;
  let base: string;
  const nodes = new Map<string, Json>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kube-sim-knobs-"));
    sim = await startSim(
      parseArgs([
        `--scenario=${KNOBS}`,
        `--ip-base=${ipBase}`,
        "--port=0",
        `--dir=${dir}`,
        `--read-only-port=${readOnlyPort}`,
        "--bookmark-interval=1h",
      ]),
    );
    ca = await readFile(join(dir, "pki", "ca.crt"), "utf8");
    admin = { ca, token: (await readFile(join(dir, "admin-token"), "utf8")).trim() };
    base = sim.apiserver.url;
    const list = (await call(base, "/api/v1/nodes", admin)).json();
    for (const n of list.items) nodes.set(n.metadata.name, n);
  });
  after(async () => {
    await sim?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const internalIP = (n: Json) => n.status.addresses.find((a: Json) => a.type === "InternalIP").address;
  const port = (n: Json) => n.status.daemonEndpoints.kubeletEndpoint.Port;

  test("the ready line and the admin token file (mode 0600, the same token startSim returned)", async () => {
    assert.match(sim.readyLine, /^kube-sim ready: apiserver=https:\/\/\S+ kubeconfig=\S+ nodes=7 pods=14$/);
    assert.equal(sim.adminTokenPath, join(dir, "admin-token"));
    assert.equal((await stat(sim.adminTokenPath)).mode & 0o777, 0o600);
    assert.equal(admin.token, sim.adminToken);
    assert.equal(nodes.size, 7);
  });

  test("bearer tokens: the admin token works, an unknown one is 401 Unauthorized, client certs still work", async () => {
    assert.equal((await call(base, "/api/v1/pods", admin)).status, 200);
    const bad = await call(base, "/api/v1/pods", { ca, token: "not-a-known-token" });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json(), {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    });
    // No credentials at all is system:anonymous, whom RBAC refuses (kube-apiserver's default).
    const anonymous = await call(base, "/api/v1/pods", { ca });
    assert.equal(anonymous.status, 403);
    assert.equal(
      anonymous.json().message,
      'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" at the cluster scope',
    );
    const kc = YAML.parse(await readFile(sim.kubeconfigPath, "utf8"));
    const cert = {
      certPem: Buffer.from(kc.users[0].user["client-certificate-data"], "base64").toString(),
      keyPem: Buffer.from(kc.users[0].user["client-key-data"], "base64").toString(),
    };
    assert.equal((await call(base, "/api/v1/pods", { ca, cert })).status, 200);
    // A valid certificate wins over a bad token, as in kube-apiserver's union authenticator.
    assert.equal((await call(base, "/api/v1/pods", { ca, cert, token: "bogus" })).status, 200);
  });

  test("Node objects: path annotation, addresses as configured, IPv6 port published, NotReady", () => {
    const path = nodes.get("knobs-custom-path");
    assert.equal(
      path.metadata.annotations["metrics.k8s.io/resource-metrics-path"],
      "/custom/metrics/resource",
    );
    assert.equal(
      nodes.get("knobs-plain-1").metadata.annotations["metrics.k8s.io/resource-metrics-path"],
      undefined,
    );
    assert.deepEqual(nodes.get("knobs-external-first").status.addresses, [
      { type: "ExternalIP", address: `${ipBase}.250.250` },
      { type: "InternalIP", address: `${ipBase}.1.3` },
      { type: "Hostname", address: "knobs-external-first" },
    ]);
    assert.deepEqual(
      nodes.get("knobs-plain-2").status.addresses.map((a: Json) => a.type),
      ["InternalIP", "Hostname"],
    );
    const v6 = nodes.get("knobs-ipv6");
    assert.equal(internalIP(v6), "::1");
    assert.ok(port(v6) > 0 && port(v6) !== 10250, `published port ${port(v6)}`);
    const ready = (n: Json) => n.status.conditions.find((c: Json) => c.type === "Ready").status;
    assert.equal(ready(nodes.get("knobs-not-ready")), "False");
    assert.equal(ready(nodes.get("knobs-plain-1")), "True");
  });

  test("kubelets behave as their nodes say", async () => {
    const get = (name: string, path: string) => {
      const n = nodes.get(name);
      return kubeletGet("https", internalIP(n), port(n), path, ca, sim.metricsServerToken);
    };
    const summaryOnly = await get("knobs-summary-only", "/metrics/resource");
    assert.deepEqual(summaryOnly, { status: 404, text: "404 page not found\n" });
    assert.equal((await get("knobs-summary-only", "/stats/summary")).status, 200);
    assert.equal((await get("knobs-custom-path", "/metrics/resource")).status, 404);
    assert.match((await get("knobs-custom-path", "/custom/metrics/resource")).text, /pod="path-worker"/);
    // The IPv6 kubelet, on the published port, verified against the cluster CA (IPv6 IP SAN).
    assert.match((await get("knobs-ipv6", "/metrics/resource")).text, /pod="ipv6-web"/);
    assert.match((await get("knobs-not-ready", "/metrics/resource")).text, /pod="notready-worker"/);
    assert.match((await get("knobs-external-first", "/metrics/resource")).text, /pod="external-web"/);
    await assert.rejects(
      kubeletGet("https", `${ipBase}.250.250`, 10250, "/metrics/resource", ca, sim.metricsServerToken),
      /ECONNREFUSED/,
    );
    const plain = nodes.get("knobs-plain-1");
    const readOnly = await kubeletGet("http", internalIP(plain), readOnlyPort, "/metrics/resource", ca);
    assert.equal(readOnly.status, 200);
    assert.match(readOnly.text, /pod="plain-web-1"/);
  });

  test("a pod created through the API is reported by its node's kubelet until it is deleted", async () => {
    const node = nodes.get("knobs-plain-2");
    const created = await call(base, "/api/v1/namespaces/default/pods", admin, {
      method: "POST",
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "posted", labels: { app: "posted" } },
        spec: {
          nodeName: "knobs-plain-2",
          containers: [
            { name: "burner", image: "x", resources: { requests: { cpu: "250m", memory: "64Mi" } } },
          ],
        },
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json().status.phase, "Running");
    const series = 'container_memory_working_set_bytes{container="burner",namespace="default",pod="posted"}';
    const scrape = async () =>
      (
        await kubeletGet(
          "https",
          internalIP(node),
          port(node),
          "/metrics/resource",
          ca,
          sim.metricsServerToken,
        )
      ).text;
    const line = await eventually("the posted pod in /metrics/resource", async () =>
      (await scrape()).split("\n").find((l) => l.startsWith(`${series} `)),
    );
    assert.equal(Number(line.split(" ")[1]), 64 * 2 ** 20);
    const summary = JSON.parse(
      (await kubeletGet("https", internalIP(node), port(node), "/stats/summary", ca, sim.metricsServerToken))
        .text,
    );
    const posted = summary.pods.find((p: Json) => p.podRef.name === "posted");
    assert.equal(posted.containers[0].cpu.usageNanoCores, 250_000_000);

    assert.equal(
      (await call(base, "/api/v1/namespaces/default/pods/posted", admin, { method: "DELETE" })).status,
      200,
    );
    await eventually("the deleted pod gone from /metrics/resource", async () =>
      (await scrape()).includes('pod="posted"') ? undefined : true,
    );
  });

  test("POST /sim/watches/drop ends every watch stream cleanly", async (t) => {
    const a = openWatch(base, "/api/v1/pods?watch=true", admin);
    const b = openWatch(base, "/api/v1/nodes?watch=true&resourceVersion=0", admin);
    t.after(() => {
      a.close();
      b.close();
    });
    await eventually("both watches open", async () =>
      a.events.length > 0 && b.events.length > 0 ? true : undefined,
    );
    const r = await call(base, "/sim/watches/drop", admin, { method: "POST" });
    assert.equal(r.status, 200);
    assert.ok(r.json().dropped >= 2, r.text);
    await Promise.all([a.done, b.done]);
    assert.ok(a.ended && b.ended);
    assert.deepEqual((await call(base, "/sim/watches/drop", admin, { method: "POST" })).json(), {
      dropped: 0,
    });
  });

  test("POST /sim/compact: watches from any earlier resourceVersion get 410 Expired", async (t) => {
    const before = Number((await call(base, "/api/v1/pods", admin)).json().metadata.resourceVersion);
    const created = await call(base, "/api/v1/namespaces/default/pods", admin, {
      method: "POST",
      body: {
        metadata: { name: "compact-me" },
        spec: { nodeName: "knobs-plain-1", containers: [{ name: "c" }] },
      },
    });
    assert.equal(created.status, 201);
    const r = await call(base, "/sim/compact", admin, { method: "POST" });
    assert.equal(r.status, 200);
    const { compactedTo } = r.json();
    assert.ok(compactedTo > before, r.text);
    const old = openWatch(base, `/api/v1/pods?watch=true&resourceVersion=${before}`, admin);
    t.after(() => old.close());
    await old.done;
    assert.equal(old.events.length, 1);
    assert.equal(old.events[0].type, "ERROR");
    assert.equal(old.events[0].object.code, 410);
    assert.equal(old.events[0].object.reason, "Expired");
    // Resuming from the compacted version itself misses nothing, so it is allowed.
    const fresh = openWatch(base, `/api/v1/pods?watch=true&resourceVersion=${compactedTo}`, admin);
    t.after(() => fresh.close());
    await call(base, "/api/v1/namespaces/default/pods/compact-me", admin, { method: "DELETE" });
    await eventually("the DELETED event", async () =>
      fresh.events.find((e) => e.type === "DELETED" && e.object.metadata.name === "compact-me"),
    );
  });

  test("the /sim watch controls are POST-only and admin-only", async () => {
    assert.equal((await call(base, "/sim/compact", admin)).status, 405);
    sim.tokens.add("viewer-token", { name: "viewer", groups: ["system:authenticated"] });
    const viewer = { ca, token: "viewer-token" };
    assert.equal((await call(base, "/apis", viewer)).status, 200);
    for (const path of ["/sim/compact", "/sim/watches/drop"]) {
      const r = await call(base, path, viewer, { method: "POST" });
      assert.equal(r.status, 403);
      assert.equal(r.json().reason, "Forbidden");
      assert.equal(r.json().message, `forbidden: User "viewer" cannot post path "${path}"`);
    }
  });
});

test("--summary-only-nodes N makes the first N nodes summary-only, and N may not exceed the node count", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kube-sim-summary-only-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const args = (n: number) =>
    parseArgs(
      ["--nodes=3", "--pods-per-node=1", `--summary-only-nodes=${n}`, "--port=0", `--dir=${dir}`],
      randomR,
    );
  await assert.rejects(startSim(args(4)), (err: Error) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /--summary-only-nodes 4 is more than the scenario's 3 nodes/);
    return true;
  });
  const sim = await startSim(args(2));
  t.after(() => sim.close());
  const ca = await readFile(join(dir, "pki", "ca.crt"), "utf8");
  const statuses = [];
  for (const n of sim.cluster.scenario().nodes) {
    statuses.push([
      n.name,
      (
        await kubeletGet(
          "https",
          n.internalIP,
          n.kubeletPort,
          "/metrics/resource",
          ca,
          sim.metricsServerToken,
        )
      ).status,
      (await kubeletGet("https", n.internalIP, n.kubeletPort, "/stats/summary", ca, sim.metricsServerToken))
        .status,
    ]);
  }
  assert.deepEqual(statuses, [
    ["node-0", 404, 200],
    ["node-1", 404, 200],
    ["node-2", 200, 200],
  ]);
});

test("without PartialObjectMetadata support: full objects when JSON is also acceptable, 406 otherwise", async (t) => {
  const R = randomR();
  const [ca, frontProxyCA] = await Promise.all([createCA("npm-ca"), createCA("npm-front-proxy-ca")]);
  const [cert, frontProxyClient] = await Promise.all([
    issueCert(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], client: true }),
    issueCert(frontProxyCA, { commonName: "front-proxy-client", client: true }),
  ]);
  const cluster = new Cluster(
    generateScenario({ nodes: 2, podsPerNode: 2, seed: 3, ipBase: `127.${R}`, nowMs: Date.now() }),
  );
  const api = await ApiServer.start({
    cluster,
    ca,
    frontProxyClient,
    host: `127.${R}.0.1`,
    port: 0,
    availabilityIntervalMs: 0,
    partialMetadata: false,
  });
  t.after(() => api.close());
  const auth: Auth = { ca: ca.certPem, cert };
  const both =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1,application/json";
  const list = await call(api.url, "/api/v1/pods", auth, { accept: both });
  assert.equal(list.status, 200);
  assert.equal(list.json().kind, "PodList");
  assert.ok(list.json().items[0].spec.containers.length > 0);
  const only = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
  const refused = await call(api.url, "/api/v1/pods", auth, { accept: only });
  assert.equal(refused.status, 406);
  assert.equal(refused.json().reason, "NotAcceptable");
  const pod = list.json().items[0];
  const one = await call(
    api.url,
    `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`,
    auth,
    {
      accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
    },
  );
  assert.equal(one.json().kind, "Pod");
  assert.equal(
    (
      await call(api.url, `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, auth, {
        accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
      })
    ).status,
    406,
  );
  // Watches: full Pod events (the ADDED backlog of a watch from "0").
  const watch = await call(api.url, "/api/v1/pods?watch=true&resourceVersion=0&timeoutSeconds=1", auth, {
    accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
  });
  const events = watch.text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(events.length, 4);
  for (const e of events) {
    assert.equal(e.type, "ADDED");
    assert.equal(e.object.kind, "Pod");
    assert.ok(e.object.spec);
  }
  const metaWatch = await call(api.url, "/api/v1/pods?watch=true&timeoutSeconds=1", auth, {
    accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
  });
  assert.equal(metaWatch.status, 406);
});
