import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type SimApiServer, startSimApiServer } from "../../test/support/sim-apiserver.ts";
import { parseApiFaultSpec } from "./faults.ts";

test("parseApiFaultSpec: kinds, arguments and fractions", () => {
  assert.deepEqual(parseApiFaultSpec(""), []);
  assert.deepEqual(parseApiFaultSpec("gone, status:503@0.5,throttle:2s,slow-list:1500ms"), [
    { kind: "gone", arg: 0, fraction: 1 },
    { kind: "status", arg: 503, fraction: 0.5 },
    { kind: "throttle", arg: 2000, fraction: 1 },
    { kind: "slow-list", arg: 1500, fraction: 1 },
  ]);
  assert.deepEqual(parseApiFaultSpec("drop-watches:1m,down:0.5s"), [
    { kind: "drop-watches", arg: 60_000, fraction: 1 },
    { kind: "down", arg: 500, fraction: 1 },
  ]);
  for (const bad of [
    "explode",
    "status:418",
    "status",
    "throttle",
    "gone:1s",
    "slow-list:0s",
    "gone@0",
    "gone@2",
  ]) {
    assert.throws(() => parseApiFaultSpec(bad), Error, bad);
  }
});

describe("API server faults on the wire", () => {
  let server: SimApiServer;
  const call: SimApiServer["call"] = (path, opts) => server.call(path, opts);
  const setFaults = async (spec: string | null) => {
    const r = await call("/sim/faults", { method: "POST", body: { apiserver: spec } });
    assert.equal(r.status, 200, r.text);
    return r.json();
  };

  before(async () => {
    server = await startSimApiServer();
  });
  after(async () => {
    await server.close();
  });

  test("GET /sim/faults reports the spec and counts lists and watches of nodes and pods", async () => {
    await setFaults(null);
    const before = (await call("/sim/faults")).json();
    assert.equal(before.apiserver.spec, null);
    assert.deepEqual(before.nodes, {});
    await call("/api/v1/nodes");
    await call("/api/v1/namespaces/default/pods");
    await call("/api/v1/configmaps");
    const after = (await call("/sim/faults")).json().apiserver;
    assert.equal(after.requests["nodes list"], (before.apiserver.requests["nodes list"] ?? 0) + 1);
    assert.equal(after.requests["pods list"], (before.apiserver.requests["pods list"] ?? 0) + 1);
    assert.equal(after.requests["configmaps list"], undefined);
  });

  test("a bad spec is a 400 Status and changes nothing", async () => {
    await setFaults("slow-list:10ms");
    const r = await call("/sim/faults", { method: "POST", body: { apiserver: "status:418" } });
    assert.equal(r.status, 400);
    assert.equal(r.json().kind, "Status");
    assert.match(r.json().message, /status:500\|503\|504/);
    assert.equal((await call("/sim/faults")).json().apiserver.spec, "slow-list:10ms");
    await setFaults(null);
  });

  test("throttle: 429 with Retry-After, as kube-apiserver's in-flight filters answer", async () => {
    await setFaults("throttle:3s");
    const r = await call("/api/v1/pods");
    assert.equal(r.status, 429);
    assert.equal(r.headers["retry-after"], "3");
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(r.text, "Too many requests, please try again later.\n");
    // Other resources and the simulator's endpoints are not throttled.
    assert.equal((await call("/api/v1/namespaces")).status, 200);
    await setFaults(null);
    assert.equal((await call("/api/v1/pods")).status, 200);
  });

  test("status: lists and watches fail with a Status of the code", async () => {
    await setFaults("status:500");
    const list = await call("/api/v1/nodes");
    assert.equal(list.status, 500);
    assert.deepEqual(list.json(), {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Internal error occurred: injected fault",
      reason: "InternalError",
      details: {},
      code: 500,
    });
    const watch = await call("/api/v1/nodes?watch=true&timeoutSeconds=1");
    assert.equal(watch.status, 500);
    await setFaults("status:503");
    assert.equal((await call("/api/v1/pods")).json().reason, "ServiceUnavailable");
    await setFaults(null);
  });

  test("status@FRACTION fails only some requests", async () => {
    await setFaults("status:500@0.5");
    const codes = new Set<number>();
    for (let i = 0; i < 40 && codes.size < 2; i++) codes.add((await call("/api/v1/nodes")).status);
    assert.deepEqual([...codes].sort(), [200, 500]);
    await setFaults(null);
  });

  test("gone: a watch from a resourceVersion gets one 410 Expired ERROR event", async () => {
    await setFaults("gone");
    const rv = (await call("/api/v1/pods")).json().metadata.resourceVersion;
    const w = await call(`/api/v1/pods?watch=true&resourceVersion=${rv}&timeoutSeconds=5`);
    assert.equal(w.status, 200);
    const events = w.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(events.length, 1);
    assert.equal(events[0].type, "ERROR");
    assert.equal(events[0].object.code, 410);
    assert.equal(events[0].object.reason, "Expired");
    assert.match(events[0].object.message, new RegExp(`^too old resource version: ${rv} \\(\\d+\\)$`));
    // A watch without a resourceVersion starts from the current state as usual.
    const fresh = await call("/api/v1/pods?watch=true&timeoutSeconds=1");
    assert.equal(JSON.parse(fresh.text.split("\n")[0]).type, "ADDED");
    await setFaults(null);
  });

  test("slow-list: a list is answered after the delay", async () => {
    await setFaults("slow-list:300ms");
    const started = performance.now();
    const r = await call("/api/v1/nodes");
    assert.equal(r.status, 200);
    assert.ok(performance.now() - started >= 290, "answered after the delay");
    await setFaults(null);
  });

  test("drop-watches: open watch streams end every period", async () => {
    await setFaults("drop-watches:200ms");
    // Without the fault this watch would last 60 s.
    const watching = call("/api/v1/nodes?watch=true&timeoutSeconds=60");
    const open = async () => (await call("/sim/faults")).json().apiserver.openWatches.nodes ?? 0;
    for (let n = 0; (await open()) === 0; n++) assert.ok(n < 1000, "the watch is counted as open");
    const w = await watching;
    assert.equal(w.status, 200);
    assert.equal(await open(), 0, "and as closed once it ended");
    assert.ok((await call("/sim/faults")).json().apiserver.injected["drop-watches"] >= 1);
    await setFaults(null);
  });

  test("down: connections are refused for the period, then the server is back", async () => {
    await setFaults("down:1s");
    await assert.rejects(call("/api/v1/nodes"), /ECONNREFUSED|ECONNRESET/);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        assert.equal((await call("/api/v1/nodes")).status, 200);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const state = (await call("/sim/faults")).json().apiserver;
    assert.equal(state.downUntil, undefined);
    assert.equal(state.injected.down, 1);
    await setFaults(null);
  });
});
