import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import {
  FakeApiServer,
  json,
  listOf,
  type Pod,
  pod,
  send,
  waitFor,
} from "../../test/support/fake-apiserver.ts";
import * as log from "../log/index.ts";
import { KubeClient } from "./client.ts";
import { Reflector } from "./reflector.ts";

const names = (r: Reflector<Pod>): string[] =>
  r
    .list()
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
    .sort();

describe("Reflector", () => {
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

  test("paginated list, watch events, bookmark, re-watch after a normal close", async (t) => {
    api.list = (q, res) => {
      if (!q.get("continue")) json(res, 200, listOf([pod("a", "p1", "5"), pod("a", "p2", "6")], "", "page2"));
      else json(res, 200, listOf([pod("b", "p3", "7")], "10"));
    };
    let changes = 0;
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      fieldSelector: "status.phase=Running",
      onChange: () => changes++,
    });
    t.after(() => r.stop());
    assert.equal(r.hasSynced(), false);
    r.start();

    const w1 = await api.nextWatch();
    assert.equal(r.hasSynced(), true);
    assert.deepEqual(names(r), ["a/p1", "a/p2", "b/p3"]);
    assert.equal(changes, 1, "a whole list is one change");
    const lists = api.requests.filter((x) => !x.watch);
    assert.equal(lists.length, 2);
    assert.equal(lists[0].query.get("limit"), "500");
    assert.equal(lists[0].query.get("continue"), null);
    assert.equal(lists[1].query.get("continue"), "page2");
    assert.equal(lists[0].query.get("fieldSelector"), "status.phase=Running");
    assert.equal(w1.query.get("resourceVersion"), "10");
    assert.equal(w1.query.get("allowWatchBookmarks"), "true");
    assert.equal(w1.query.get("fieldSelector"), "status.phase=Running");
    const timeout = Number(w1.query.get("timeoutSeconds"));
    assert.ok(timeout >= 300 && timeout < 600, `timeoutSeconds ${timeout}`);

    send(w1, "ADDED", pod("b", "p4", "11"));
    send(w1, "MODIFIED", pod("a", "p1", "12", { v: "2" }));
    send(w1, "DELETED", pod("a", "p2", "13"));
    await waitFor(() => r.lastResourceVersion === "13", "events to be applied");
    assert.deepEqual(names(r), ["a/p1", "b/p3", "b/p4"]);
    assert.deepEqual(r.get("a/p1")?.metadata.labels, { v: "2" });
    assert.equal(r.get("a/p2"), undefined);
    assert.deepEqual(
      r
        .listNamespace("b")
        .map((p) => p.metadata.name)
        .sort(),
      ["p3", "p4"],
    );
    assert.deepEqual(
      r.listNamespace("a").map((p) => p.metadata.name),
      ["p1"],
    );
    assert.deepEqual(r.listNamespace("nope"), []);
    assert.equal(r.size, 3);

    send(w1, "BOOKMARK", { kind: "Pod", metadata: { resourceVersion: "20" } });
    await waitFor(() => r.lastResourceVersion === "20", "bookmark");
    assert.equal(r.size, 3, "a bookmark changes no objects");
    w1.res.end();

    const w2 = await api.nextWatch();
    assert.equal(w2.query.get("resourceVersion"), "20");
    assert.equal(api.requests.filter((x) => !x.watch).length, 2, "a normal close does not relist");
    assert.equal(logLines.filter((l) => l.startsWith("E")).length, 0, logLines.join(""));
  });

  test("410 Gone relists and replaces the cache; both as HTTP status and as an ERROR event", async (t) => {
    let listCount = 0;
    api.list = (_q, res) => {
      listCount++;
      if (listCount === 1) json(res, 200, listOf([pod("a", "old1", "1"), pod("a", "keep", "2")], "2"));
      else if (listCount === 2) json(res, 200, listOf([pod("a", "keep", "3"), pod("c", "new", "4")], "4"));
      else json(res, 200, listOf([pod("z", "only", "9")], "9"));
    };
    const r = new Reflector<Pod>({ client, name: "pods", path: "/api/v1/pods" });
    t.after(() => r.stop());
    r.start();

    const w1 = await api.nextWatch();
    assert.deepEqual(names(r), ["a/keep", "a/old1"]);
    send(w1, "ERROR", { kind: "Status", apiVersion: "v1", status: "Failure", code: 410, reason: "Expired" });

    const w2 = await api.nextWatch();
    assert.equal(listCount, 2);
    assert.equal(w2.query.get("resourceVersion"), "4");
    assert.deepEqual(names(r), ["a/keep", "c/new"]);
    assert.deepEqual(
      r.listNamespace("a").map((p) => p.metadata.name),
      ["keep"],
    );
    // Now a watch that is refused with HTTP 410 right away.
    api.watch = (_q, res) => {
      api.watch = () => {};
      json(res, 410, { kind: "Status", code: 410, reason: "Gone", message: "too old resource version" });
    };
    send(w2, "BOOKMARK", { metadata: { resourceVersion: "5" } });
    w2.res.end();
    const w4 = await api.nextWatch(); // w3 was the refused one
    const w5 = w4.query.get("resourceVersion") === "9" ? w4 : await api.nextWatch();
    assert.equal(listCount, 3);
    assert.equal(w5.query.get("resourceVersion"), "9");
    assert.deepEqual(names(r), ["z/only"]);
    assert.deepEqual(r.listNamespace("a"), []);
    assert.deepEqual(
      logLines.filter((l) => l.startsWith("E")),
      [],
      "410 is routine, not an error",
    );
  });

  test("an expired continue token restarts the list without pagination", async (t) => {
    api.list = (q, res) => {
      if (q.get("continue"))
        json(res, 410, { kind: "Status", code: 410, reason: "Expired", message: "continue expired" });
      else if (q.get("limit")) json(res, 200, listOf([pod("a", "page1", "1")], "", "tok"));
      else json(res, 200, listOf([pod("a", "all1", "1"), pod("a", "all2", "2")], "2"));
    };
    const r = new Reflector<Pod>({ client, name: "pods", path: "/api/v1/pods" });
    t.after(() => r.stop());
    r.start();
    const w = await api.nextWatch();
    assert.deepEqual(names(r), ["a/all1", "a/all2"], "objects of the abandoned page are not kept");
    assert.equal(w.query.get("resourceVersion"), "2");
    assert.deepEqual(
      api.requests.filter((x) => !x.watch).map((x) => [x.query.get("limit"), x.query.get("continue")]),
      [
        ["500", null],
        ["500", "tok"],
        [null, null],
      ],
    );
  });

  test("a watch that closes at once with no events counts as a failure (no busy loop)", async (t) => {
    api.list = (_q, res) => json(res, 200, listOf([], "3"));
    api.watch = (_q, res) => {
      res.writeHead(200);
      res.end();
    };
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 5, maxMs: 20 },
    });
    t.after(() => r.stop());
    r.start();
    await api.nextWatch();
    await api.nextWatch();
    assert.ok(
      logLines.some((l) =>
        /"Failed to watch" err=".*very short watch|watch lasted less than a second/.test(l),
      ),
      logLines.join(""),
    );
  });

  test("list failures back off and recover; the same failure is logged once, then the recovery", async (t) => {
    let listCount = 0;
    api.list = (_q, res) => {
      listCount++;
      if (listCount <= 3)
        json(res, 500, { kind: "Status", code: 500, message: "etcd is sad", reason: "InternalError" });
      else json(res, 200, listOf([pod("a", "p", "1")], "1"));
    };
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 5, maxMs: 20 },
    });
    t.after(() => r.stop());
    r.start();
    await api.nextWatch();
    assert.equal(r.hasSynced(), true);
    assert.equal(listCount, 4);
    const errors = logLines.filter((l) => l.startsWith("E"));
    assert.equal(errors.length, 1, logLines.join(""));
    assert.match(errors[0], /"Failed to list" err=".*etcd is sad" reflector="pods"/);
    assert.equal(logLines.filter((l) => l.includes('"Reflector recovered" reflector="pods"')).length, 1);
  });

  test("watch failures back off and re-watch from the last resourceVersion without relisting", async (t) => {
    api.list = (_q, res) => json(res, 200, listOf([pod("a", "p", "1")], "7"));
    let watchCount = 0;
    api.watch = (_q, res) => {
      watchCount++;
      if (watchCount <= 2) json(res, 500, { kind: "Status", code: 500, message: "boom" });
    };
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 5, maxMs: 20 },
    });
    t.after(() => r.stop());
    r.start();
    await api.nextWatch();
    await api.nextWatch();
    const w3 = await api.nextWatch();
    assert.equal(w3.query.get("resourceVersion"), "7");
    assert.equal(api.requests.filter((x) => !x.watch).length, 1);
    const errors = logLines.filter((l) => l.startsWith("E"));
    assert.equal(errors.length, 1, logLines.join(""));
    assert.match(errors[0], /"Failed to watch" err=".*boom" reflector="pods"/);
  });

  test("a non-410 ERROR event relists after backoff; garbage objects are skipped", async (t) => {
    let listCount = 0;
    api.list = (_q, res) => {
      listCount++;
      json(res, 200, listOf([pod("a", `p${listCount}`, "1"), { metadata: {} }, null], String(listCount)));
    };
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 5, maxMs: 20 },
    });
    t.after(() => r.stop());
    r.start();
    const w1 = await api.nextWatch();
    assert.deepEqual(names(r), ["a/p1"]);
    send(w1, "ADDED", { metadata: { namespace: "a" } });
    send(w1, "ERROR", { kind: "Status", code: 500, message: "internal" });
    const w2 = await api.nextWatch();
    assert.equal(w2.query.get("resourceVersion"), "2");
    assert.deepEqual(names(r), ["a/p2"]);
    assert.ok(
      logLines.some((l) => /"Failed to watch" err=".*internal"/.test(l)),
      logLines.join(""),
    );
  });

  test("stop() ends the watch request and the loop; start() after stop() works again", async () => {
    api.list = (_q, res) => json(res, 200, listOf([], "1"));
    const r = new Reflector<Pod>({ client, name: "pods", path: "/api/v1/pods" });
    r.start();
    r.start(); // a second start is ignored
    const w = await api.nextWatch();
    await r.stop();
    await waitFor(() => w.closed, "the watch connection to close");
    assert.equal(api.requests.filter((x) => x.watch).length, 1);
    assert.equal(logLines.filter((l) => l.startsWith("E")).length, 0, logLines.join(""));

    r.start();
    const again = await api.nextWatch();
    assert.equal(again.query.get("resourceVersion"), "1");
    await r.stop();
  });

  test("stop() during backoff returns promptly", async () => {
    api.list = (_q, res) => json(res, 503, { kind: "Status", code: 503, message: "unavailable" });
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 600_000, maxMs: 600_000 },
    });
    r.start();
    await waitFor(() => logLines.some((l) => l.includes("Failed to list")), "the first failure");
    await r.stop();
    assert.equal(r.hasSynced(), false);
  });
});
