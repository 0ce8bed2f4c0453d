// Reflector recovery and health (docs/metrics-api.md#caches: an informer check passes once the first list is
// applied and does not fail again when a watch breaks), and the metadata-only pod reflector's
// fallbacks when the API server answers with full objects or refuses the metadata Accept.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import fc from "fast-check";
import {
  FakeApiServer,
  json,
  listOf,
  type Pod,
  pod,
  podMeta,
  send,
  waitFor,
} from "../../test/support/fake-apiserver.ts";
import { captureLogs } from "../../test/support/logs.ts";
import { jitteredBackoff } from "./backoff.ts";
import { KubeClient } from "./client.ts";
import { newRunningPodReflector } from "./informers.ts";
import { LIST_ACCEPT_METADATA, Reflector, WATCH_ACCEPT_METADATA } from "./reflector.ts";

const names = (r: { list(): readonly Pod[] }): string[] =>
  r
    .list()
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
    .sort();

const fastBackoff = { initialMs: 5, maxMs: 40 };

describe("Reflector recovery and health", () => {
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

  test("a watch the server closes is resumed from its resourceVersion without a relist", async (t) => {
    const logs = captureLogs(t);
    api.list = (_q, res) => json(res, 200, listOf([pod("a", "p1", "3")], "3"));
    const r = new Reflector<Pod>({ client, name: "pods", path: "/api/v1/pods" });
    t.after(() => r.stop());
    assert.equal(r.lastSyncMs, undefined);
    r.start();
    const w1 = await api.nextWatch();
    assert.ok(r.lastSyncMs !== undefined && r.lastSyncMs > 0);
    send(w1, "ADDED", pod("a", "p2", "4"));
    await waitFor(() => r.lastResourceVersion === "4", "the first event");
    w1.res.end();

    const w2 = await api.nextWatch();
    assert.equal(w2.query.get("resourceVersion"), "4");
    send(w2, "ADDED", pod("b", "p3", "5"));
    send(w2, "DELETED", pod("a", "p1", "6"));
    await waitFor(() => r.lastResourceVersion === "6", "events on the resumed watch");
    assert.deepEqual(names(r), ["a/p2", "b/p3"]);
    assert.equal(api.requests.filter((x) => !x.watch).length, 1, "no relist");
    assert.equal(r.lastError(), undefined);
    assert.deepEqual(
      logs.filter((l) => l.startsWith("E")),
      [],
    );
  });

  for (const form of ["HTTP 410", "ERROR event with code 410"]) {
    test(`${form} relists; objects deleted meanwhile disappear`, async (t) => {
      const logs = captureLogs(t);
      let lists = 0;
      api.list = (_q, res) => {
        lists++;
        if (lists === 1) json(res, 200, listOf([pod("a", "gone", "1"), pod("a", "stays", "2")], "2"));
        else json(res, 200, listOf([pod("a", "stays", "2"), pod("b", "added", "8")], "8"));
      };
      const r = new Reflector<Pod>({ client, name: "pods", path: "/api/v1/pods" });
      t.after(() => r.stop());
      r.start();
      const w1 = await api.nextWatch();
      assert.deepEqual(names(r), ["a/gone", "a/stays"]);
      if (form === "HTTP 410") {
        // The connection breaks; the re-watch from rv 2 is refused: too old.
        api.watch = (_q, res) => {
          api.watch = () => {};
          json(res, 410, {
            kind: "Status",
            code: 410,
            reason: "Expired",
            message: "too old resource version",
          });
        };
        send(w1, "BOOKMARK", { metadata: { resourceVersion: "2" } });
        w1.res.end();
        await api.nextWatch(); // the refused one
      } else {
        send(w1, "ERROR", {
          kind: "Status",
          status: "Failure",
          code: 410,
          reason: "Expired",
          message: "too old",
        });
      }
      const w = await api.nextWatch();
      assert.equal(lists, 2);
      assert.equal(w.query.get("resourceVersion"), "8");
      assert.deepEqual(names(r), ["a/stays", "b/added"]);
      assert.equal(r.get("a/gone"), undefined);
      assert.equal(r.hasSynced(), true);
      assert.equal(r.lastError(), undefined, "410 is routine");
      assert.deepEqual(
        logs.filter((l) => l.startsWith("E")),
        [],
      );
    });
  }

  test("API server down for a while: backoff with errors recorded, stays synced, then recovers", async (t) => {
    const logs = captureLogs(t);
    api.list = (_q, res) => json(res, 200, listOf([pod("a", "p1", "3")], "3"));
    const r = new Reflector<Pod>({ client, name: "pods", path: "/api/v1/pods", backoff: fastBackoff });
    t.after(() => r.stop());
    r.start();
    const w1 = await api.nextWatch();
    send(w1, "ADDED", pod("a", "p2", "4"));
    await waitFor(() => r.lastResourceVersion === "4", "the first event");
    const syncedAt = r.lastSyncMs;

    await api.close();
    await waitFor(() => r.lastError() !== undefined, "a failed attempt while the server is down");
    // Connection refused again and again (the backoff is 5-40 ms here): logged once, not per attempt.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // (The open watch's cut and the refused reconnects are two causes: a line each.)
    const causes = logs.filter((l) => l.includes('"Failed to watch"')).map((l) => /err="[^"]*"/.exec(l)?.[0]);
    assert.ok(causes.length >= 1, logs.join(""));
    assert.equal(new Set(causes).size, causes.length, `each cause logged once: ${logs.join("")}`);
    assert.equal(r.hasSynced(), true, "readiness does not go back to failing when a watch breaks");
    assert.ok(r.lastError(), "the failure is recorded");
    assert.equal(r.lastSyncMs, syncedAt);
    assert.deepEqual(names(r), ["a/p1", "a/p2"], "the cache is kept");

    await api.start();
    const w2 = await api.nextWatch();
    assert.equal(w2.query.get("resourceVersion"), "4", "resumes where it was, no relist needed");
    send(w2, "DELETED", pod("a", "p1", "5"));
    await waitFor(() => r.lastResourceVersion === "5", "events after recovery");
    assert.deepEqual(names(r), ["a/p2"]);
    assert.equal(r.lastError(), undefined, "cleared by the successful watch");
    assert.ok((r.lastSyncMs ?? 0) >= (syncedAt ?? 0));
    assert.equal(api.requests.filter((x) => !x.watch).length, 1);
  });

  test("a failing first list leaves the reflector unsynced with the error; success clears it", async (t) => {
    captureLogs(t);
    let fail = true;
    api.list = (_q, res) =>
      fail
        ? json(res, 403, { kind: "Status", code: 403, reason: "Forbidden", message: "pods is forbidden" })
        : json(res, 200, listOf([], "1"));
    const r = new Reflector<Pod>({ client, name: "pods", path: "/api/v1/pods", backoff: fastBackoff });
    t.after(() => r.stop());
    r.start();
    await waitFor(() => r.lastError() !== undefined, "the first failure");
    assert.match(r.lastError() ?? "", /403: pods is forbidden/);
    assert.equal(r.hasSynced(), false);
    fail = false;
    await api.nextWatch();
    assert.equal(r.hasSynced(), true);
    assert.equal(r.lastError(), undefined);
  });
});

describe("Running-pod reflector: metadata-only with fallbacks", () => {
  let api: FakeApiServer;
  let client: KubeClient;
  const fullPod = (name: string, rv: string) => ({
    kind: "Pod",
    apiVersion: "v1",
    metadata: { name, namespace: "ns", resourceVersion: rv, uid: "u", managedFields: [{ manager: "m" }] },
    spec: { containers: [{ name: "c", image: "i" }] },
    status: { phase: "Running" },
  });

  beforeEach(async () => {
    api = new FakeApiServer();
    await api.start();
    client = new KubeClient({ server: api.url, insecureSkipTLSVerify: false });
  });
  afterEach(async () => {
    await client.close();
    await api.close();
  });

  test("a server that answers with full objects (PodList, Pod) works; objects are slimmed; logged once", async (t) => {
    const logs = captureLogs(t);
    api.list = (_q, res) => json(res, 200, listOf([fullPod("p1", "1")], "1", undefined, "PodList"));
    const r = newRunningPodReflector(client);
    t.after(() => r.stop());
    r.start();
    const w = await api.nextWatch();
    assert.equal(api.requests[0].accept, LIST_ACCEPT_METADATA);
    assert.equal(w.accept, WATCH_ACCEPT_METADATA, "it keeps asking: the server may start serving metadata");
    send(w, "ADDED", fullPod("p2", "2"));
    await waitFor(() => r.size === 2, "the watch event");
    assert.deepEqual(podMeta(r.get("ns/p1")), { name: "p1", namespace: "ns" });
    assert.deepEqual(podMeta(r.get("ns/p2")), { name: "p2", namespace: "ns" });
    const notes = logs.filter((l) => l.includes("serves full objects instead of PartialObjectMetadata"));
    assert.equal(notes.length, 1, logs.join(""));
    assert.match(notes[0], /^I.*reflector="pods" kind="PodList"/);
  });

  test("406 to the metadata list Accept: retried at once with plain JSON, which is then used for good", async (t) => {
    const logs = captureLogs(t);
    let lists = 0;
    api.list = (_q, res, req) => {
      if (req.headers.accept?.includes("as=PartialObjectMetadataList"))
        return json(res, 406, { kind: "Status", code: 406, reason: "NotAcceptable", message: "only json" });
      lists++;
      json(res, 200, listOf([fullPod(`p${lists}`, String(lists))], String(lists), undefined, "PodList"));
    };
    const r = newRunningPodReflector(client);
    t.after(() => r.stop());
    r.start();
    const w1 = await api.nextWatch();
    assert.deepEqual(
      api.requests.map((x) => [x.watch, x.accept]),
      [
        [false, LIST_ACCEPT_METADATA],
        [false, "application/json"],
        [true, "application/json"],
      ],
    );
    assert.equal(w1.query.get("fieldSelector"), "status.phase=Running");
    assert.deepEqual(names(r), ["ns/p1"]);
    // A relist later still uses plain JSON.
    send(w1, "ERROR", { kind: "Status", code: 410, reason: "Expired" });
    await api.nextWatch();
    assert.deepEqual(names(r), ["ns/p2"]);
    assert.ok(api.requests.slice(3).every((x) => x.accept === "application/json"));
    assert.equal(logs.filter((l) => l.includes("does not serve PartialObjectMetadata")).length, 1);
    assert.deepEqual(
      logs.filter((l) => l.startsWith("E")),
      [],
      "a 406 is handled, not an error",
    );
  });

  test("406 to the metadata watch Accept: the watch is retried with plain JSON, no relist", async (t) => {
    captureLogs(t);
    api.list = (_q, res) =>
      json(
        res,
        200,
        listOf(
          [
            {
              kind: "PartialObjectMetadata",
              metadata: { name: "p1", namespace: "ns", resourceVersion: "7" },
            },
          ],
          "7",
          undefined,
          "PartialObjectMetadataList",
        ),
      );
    api.watch = (_q, res, req) => {
      if (req.headers.accept?.includes("as=PartialObjectMetadata"))
        json(res, 406, { kind: "Status", code: 406, reason: "NotAcceptable", message: "no" });
    };
    const r = newRunningPodReflector(client);
    t.after(() => r.stop());
    r.start();
    const refused = await api.nextWatch();
    assert.equal(refused.accept, WATCH_ACCEPT_METADATA);
    const w = await api.nextWatch();
    assert.equal(w.accept, "application/json");
    assert.equal(w.query.get("resourceVersion"), "7");
    assert.equal(api.requests.filter((x) => !x.watch).length, 1);
    send(w, "ADDED", fullPod("p2", "8"));
    await waitFor(() => r.size === 2, "the event");
    assert.equal(r.lastError(), undefined);
  });
});

test("jitteredBackoff: delay in [base/2, base], steps double up to the cap", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (step, max, random) => {
        const { delayMs, nextStepMs } = jitteredBackoff(step, max, random);
        const base = Math.min(step, max);
        assert.ok(delayMs >= base / 2 && delayMs <= base, `${delayMs} not in [${base / 2}, ${base}]`);
        assert.equal(nextStepMs, Math.min(base * 2, max));
      },
    ),
  );
  // Different random draws give different delays: retries of many clients spread out.
  assert.notEqual(jitteredBackoff(800, 30_000, 0).delayMs, jitteredBackoff(800, 30_000, 0.5).delayMs);
});
