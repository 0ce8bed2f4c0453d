// The reflector's cache layout (one namespace → name map) and its release hook, which the compact
// pod cache relies on to give shared namespaces and label maps back.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import {
  FakeApiServer,
  json,
  listOf,
  type Pod,
  pod,
  send,
  waitFor,
} from "../../test/support/fake-apiserver.ts";
import { captureLogs } from "../../test/support/logs.ts";
import { KubeClient } from "./client.ts";
import { newRunningPodReflector, PodCompactor } from "./informers.ts";
import { parseLabelSelector } from "./label-selector.ts";
import { Reflector } from "./reflector.ts";
import type { PartialObjectMetadata } from "./types.ts";

describe("Reflector cache", () => {
  let api: FakeApiServer;
  let client: KubeClient;

  beforeEach(async () => {
    api = new FakeApiServer();
    await api.start();
    client = new KubeClient({ server: api.url, insecureSkipTLSVerify: false });
  });
  afterEach(async () => {
    await client.close();
    await api.close();
  });

  test("get, list, listNamespace and size agree through events; cluster-scoped objects use the name", async (t) => {
    captureLogs(t);
    api.list = (_q, res) =>
      json(
        res,
        200,
        listOf(
          [pod("a", "p1", "1"), pod("b", "p1", "2"), { metadata: { name: "node-1" } }, pod("a", "p1", "3")],
          "3",
        ),
      );
    const r = new Reflector<Pod>({ client, name: "mixed", path: "/x" });
    t.after(() => r.stop());
    r.start();
    const w = await api.nextWatch();
    assert.equal(r.size, 3, "a duplicate in the list counts once");
    assert.equal(r.get("a/p1")?.metadata.resourceVersion, "3", "the later duplicate wins");
    assert.equal(r.get("node-1")?.metadata.name, "node-1");
    assert.equal(r.get("b/node-1"), undefined);
    assert.deepEqual(r.listNamespace(""), [], "cluster-scoped objects are in no namespace");
    assert.deepEqual(
      r.listNamespace("a").map((p) => p.metadata.name),
      ["p1"],
    );
    assert.equal(r.list().length, 3);

    const listed = r.list();
    send(w, "ADDED", pod("c", "p9", "4"));
    send(w, "DELETED", pod("b", "p1", "5"));
    send(w, "DELETED", pod("b", "never-there", "6"));
    send(w, "DELETED", { metadata: { name: "node-1", resourceVersion: "7" } });
    await waitFor(() => r.lastResourceVersion === "7", "the events");
    assert.equal(r.size, 2);
    assert.notEqual(r.list(), listed, "list() is rebuilt after a change");
    assert.deepEqual(
      r
        .list()
        .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
        .sort(),
      ["a/p1", "c/p9"],
    );
    assert.deepEqual(r.listNamespace("b"), []);
    assert.equal(r.get("node-1"), undefined);
    assert.equal(r.get("c/p9")?.metadata.name, "p9");
    assert.equal(r.get("/"), undefined);
    assert.equal(r.get(""), undefined);
  });

  test("release gets every cached object that leaves: replaced, deleted, or dropped by a relist", async (t) => {
    captureLogs(t);
    let lists = 0;
    api.list = (_q, res) => {
      lists++;
      if (lists === 1) json(res, 200, listOf([pod("a", "p1", "1"), pod("a", "p2", "2")], "2"));
      else json(res, 200, listOf([pod("a", "p2", "9")], "9"));
    };
    const live = new Set<Pod>();
    const released: string[] = [];
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      transform: (p) => {
        const copy = { metadata: { ...p.metadata } };
        live.add(copy);
        return copy;
      },
      release: (p) => {
        assert.ok(live.delete(p), "released once, and only what the transform made");
        released.push(`${p.metadata.name}@${p.metadata.resourceVersion}`);
      },
    });
    t.after(() => r.stop());
    r.start();
    const w = await api.nextWatch();
    send(w, "MODIFIED", pod("a", "p1", "3"));
    send(w, "DELETED", pod("a", "p1", "4"));
    await waitFor(() => r.lastResourceVersion === "4", "the events");
    assert.deepEqual(released, ["p1@1", "p1@3"]);
    send(w, "ERROR", { kind: "Status", code: 410, reason: "Expired" });
    await api.nextWatch();
    assert.deepEqual(released, ["p1@1", "p1@3", "p2@2"], "the relist dropped the old p2");
    assert.deepEqual(
      [...live].map((p) => p.metadata.resourceVersion),
      ["9"],
      "exactly the cached objects are held",
    );
    assert.equal(r.get("a/p2"), [...live][0]);
  });

  test("a list that fails half-way releases what it had built and keeps the old cache", async (t) => {
    captureLogs(t);
    let lists = 0;
    api.list = (q, res) => {
      lists++;
      if (lists === 1) return json(res, 200, listOf([pod("a", "old", "1")], "1"));
      if (!q.get("continue")) return json(res, 200, listOf([pod("a", "p1", "5")], "", "next"));
      json(res, 500, { kind: "Status", code: 500, message: "boom" });
    };
    let held = 0;
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 60_000, maxMs: 60_000 },
      transform: (p) => {
        held++;
        return p;
      },
      release: () => {
        held--;
      },
    });
    t.after(() => r.stop());
    r.start();
    const w = await api.nextWatch();
    send(w, "ERROR", { kind: "Status", code: 410, reason: "Expired" });
    await waitFor(() => lists === 3 && r.lastError() !== undefined, "the failed relist");
    assert.equal(held, 1, "only the cached object is held");
    assert.equal(r.get("a/old")?.metadata.name, "old");
    assert.equal(r.get("a/p1"), undefined);
  });

  test("a compacted pod cache gives every share back when its pods go", async (t) => {
    captureLogs(t);
    const labels = { app: "web", "pod-template-hash": "5d8f" };
    api.list = (_q, res) =>
      json(
        res,
        200,
        listOf([pod("a", "p1", "1", labels), pod("a", "p2", "2", labels), pod("b", "p3", "3")], "3"),
      );
    const compactor = new PodCompactor();
    const r = new Reflector<PartialObjectMetadata>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      transform: compactor.compact,
      release: compactor.release,
    });
    t.after(() => r.stop());
    r.start();
    const w = await api.nextWatch();
    assert.equal(r.get("a/p1")?.metadata.labels, r.get("a/p2")?.metadata.labels, "one shared label map");
    assert.deepEqual(compactor.interner.stats, { strings: 6, labelSets: 1 });
    for (const [ns, name] of [
      ["a", "p1"],
      ["a", "p2"],
      ["b", "p3"],
    ])
      send(w, "DELETED", pod(ns, name, "9"));
    await waitFor(() => r.size === 0, "the deletes");
    assert.deepEqual(compactor.interner.stats, { strings: 0, labelSets: 0 });
  });

  test("the label index follows the cache through list, events and relist, and empties", async (t) => {
    captureLogs(t);
    const web = { app: "web" };
    let lists = 0;
    api.list = (_q, res) => {
      lists++;
      if (lists === 1)
        json(
          res,
          200,
          listOf(
            [
              pod("a", "p1", "1", web),
              pod("a", "p2", "2", web),
              pod("b", "p3", "3", web),
              pod("a", "p4", "4"),
              { metadata: { name: "cluster-scoped", labels: web } },
            ],
            "4",
          ),
        );
      else json(res, 200, listOf([pod("a", "p9", "9", web)], "9"));
    };
    const compactor = new PodCompactor();
    const r = new Reflector<PartialObjectMetadata>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      transform: compactor.compact,
      release: compactor.release,
      indexLabels: true,
    });
    t.after(() => r.stop());
    r.start();
    const selector = (text: string) => {
      const s = parseLabelSelector(text);
      return (l: Readonly<Record<string, string>> | undefined) => s.matches(l);
    };
    const names = (objects: readonly PartialObjectMetadata[]) =>
      objects.map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort();
    // Whatever the index answers must be what a scan of the cache answers.
    const check = (text: string, namespace: string | undefined, want: string[]) => {
      const matches = selector(text);
      const got = namespace === undefined ? r.selectAll(matches) : r.selectNamespace(namespace, matches);
      const scan = (namespace === undefined ? r.list() : r.listNamespace(namespace)).filter((o) =>
        matches(o.metadata.labels),
      );
      assert.deepEqual(names(got), want, `${text} in ${namespace ?? "all"}`);
      assert.deepEqual(names(scan), want, `scan: ${text} in ${namespace ?? "all"}`);
    };

    const w = await api.nextWatch();
    check("app=web", "a", ["a/p1", "a/p2"]);
    check("app=web", undefined, ["/cluster-scoped", "a/p1", "a/p2", "b/p3"]);
    check("!app", "a", ["a/p4"]);
    check("app=web", "", []);
    assert.deepEqual(r.labelIndexStats, { namespaces: 3, groups: 4, objects: 5 });

    send(w, "MODIFIED", pod("a", "p2", "5", { app: "db" }));
    send(w, "DELETED", pod("a", "p1", "6"));
    send(w, "ADDED", pod("c", "p5", "7", web));
    await waitFor(() => r.lastResourceVersion === "7", "the events");
    check("app=web", "a", []);
    check("app in (db,web)", "a", ["a/p2"]);
    check("app=web", undefined, ["/cluster-scoped", "b/p3", "c/p5"]);
    check("app notin (web)", undefined, ["a/p2", "a/p4"]);

    send(w, "ERROR", { kind: "Status", code: 410, reason: "Expired" });
    const w2 = await api.nextWatch();
    check("app=web", undefined, ["a/p9"]);
    assert.deepEqual(r.labelIndexStats, { namespaces: 1, groups: 1, objects: 1 });
    send(w2, "DELETED", pod("a", "p9", "10"));
    await waitFor(() => r.size === 0, "the delete");
    assert.deepEqual(r.labelIndexStats, { namespaces: 0, groups: 0, objects: 0 });
    assert.deepEqual(compactor.interner.stats, { strings: 0, labelSets: 0 });
  });

  test("without a label index, select* scan the cache; the Running-pod reflector keeps one", async (t) => {
    captureLogs(t);
    api.list = (_q, res) =>
      json(res, 200, listOf([pod("a", "p1", "1", { app: "web" }), pod("a", "p2", "2")], "2"));
    const r = new Reflector<Pod>({ client, name: "plain", path: "/x" });
    t.after(() => r.stop());
    r.start();
    await api.nextWatch();
    assert.equal(r.labelIndexStats, undefined);
    const web = parseLabelSelector("app=web");
    assert.deepEqual(
      r.selectNamespace("a", (l) => web.matches(l)).map((p) => p.metadata.name),
      ["p1"],
    );
    assert.deepEqual(
      r.selectAll((l) => !web.matches(l)).map((p) => p.metadata.name),
      ["p2"],
    );
    assert.deepEqual(
      r.selectNamespace("", () => true),
      [],
    );
    const pods = newRunningPodReflector(client);
    assert.deepEqual(pods.labelIndexStats, { namespaces: 0, groups: 0, objects: 0 });
  });
});
