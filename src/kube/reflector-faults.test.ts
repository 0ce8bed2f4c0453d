// How the reflector treats an API server that throttles (429 with Retry-After) or keeps expiring
// watches (410 right after every relist): it waits as asked, and it does not relist in a hot loop.
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
import { ApiError, KubeClient } from "./client.ts";
import { FailureLog } from "./failure-log.ts";
import { Reflector } from "./reflector.ts";

describe("Reflector against a throttling or expiring API server", () => {
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

  test("429 with Retry-After: the next attempt waits that long, though the backoff is shorter", async (t) => {
    const logs = captureLogs(t);
    const at: number[] = [];
    api.list = (_q, res) => {
      at.push(performance.now());
      if (at.length === 1) {
        res.writeHead(429, { "content-type": "text/plain; charset=utf-8", "retry-after": "1" });
        res.end("Too many requests, please try again later.\n");
      } else json(res, 200, listOf([pod("a", "p", "1")], "1"));
    };
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 5, maxMs: 10 },
    });
    t.after(() => r.stop());
    r.start();
    await waitFor(() => r.hasSynced(), "the list after the wait");
    assert.equal(at.length, 2);
    assert.ok(at[1] - at[0] >= 990, `waited ${at[1] - at[0]} ms for Retry-After: 1`);
    assert.equal(logs.filter((l) => l.startsWith("E")).length, 1);
    assert.match(logs.join(""), /"Failed to list" err="GET \/api\/v1\/pods: server returned 429: Too many/);
  });

  test("a Status's details.retryAfterSeconds counts when there is no header", async () => {
    api.list = (_q, res) =>
      json(res, 429, {
        kind: "Status",
        code: 429,
        reason: "TooManyRequests",
        details: { retryAfterSeconds: 7 },
      });
    const err = await client.getJSON("/api/v1/pods").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError);
    assert.equal(err.retryAfterSeconds, 7);
  });

  test("watches that expire right after each relist: relists back off instead of spinning", async (t) => {
    const logs = captureLogs(t);
    let lists = 0;
    api.list = (_q, res) => {
      lists++;
      json(res, 200, listOf([pod("a", "p", String(lists))], String(lists)));
    };
    api.watch = (q, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const rv = q.get("resourceVersion");
      res.end(
        `${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: `too old resource version: ${rv} (99)` } })}\n`,
      );
    };
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 200, maxMs: 400 },
    });
    t.after(() => r.stop());
    r.start();
    await waitFor(() => lists >= 3, "a few relists");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Without the backoff this loop makes hundreds of lists a second; with it, one per 100-400 ms.
    assert.ok(lists <= 15, `${lists} lists in about a second`);
    assert.equal(r.hasSynced(), true);
    assert.deepEqual(
      r.list().map((p) => p.metadata.name),
      ["p"],
    );
    // One line, though every 410 names other resourceVersions.
    const errors = logs.filter((l) => l.startsWith("E"));
    assert.equal(errors.length, 1, errors.join(""));
    assert.match(errors[0], /"Watch expired right after a relist"/);
  });

  test("a lone 410 after a watch that worked relists at once, even after an earlier run of them", async (t) => {
    captureLogs(t);
    let lists = 0;
    api.list = (_q, res) => {
      lists++;
      json(res, 200, listOf([pod("a", "p", String(lists))], String(lists)));
    };
    const expire = (w: Awaited<ReturnType<FakeApiServer["nextWatch"]>>) => {
      send(w, "ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" });
      w.res.end();
    };
    // A backoff far beyond the wait below: only an immediate relist passes.
    const r = new Reflector<Pod>({
      client,
      name: "pods",
      path: "/api/v1/pods",
      backoff: { initialMs: 600_000, maxMs: 600_000 },
    });
    t.after(() => r.stop());
    r.start();
    expire(await api.nextWatch());
    await waitFor(() => lists === 2, "the relist after the first 410");
    // A quiet watch that lasts over a second ends normally (one ending sooner counts as a failure).
    const working = await api.nextWatch();
    working.res.writeHead(200, { "content-type": "application/json" });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    working.res.end();
    expire(await api.nextWatch());
    await waitFor(() => lists === 3, "the relist after a lone 410", 10_000);
  });
});

test("FailureLog: each cause once, repeats every few minutes with their count, then the recovery", (t) => {
  const logs = captureLogs(t);
  let now = 0;
  const f = new FailureLog({ reflector: "nodes" }, () => now);
  f.failed(new Error("connection refused"), "Failed to list");
  f.failed(new Error("connection refused"), "Failed to list");
  now += 60_000;
  f.failed(new Error("connection refused"), "Failed to list");
  f.failed(new Error("429"), "Failed to list");
  f.failed(new Error("connection refused"), "Failed to list");
  // Two causes taking turns are each logged once, not at every turn.
  assert.equal(logs.length, 2, logs.join(""));
  now += 5 * 60_000;
  f.failed(new Error("connection refused"), "Failed to list");
  f.failed(new Error("connection refused"), "Failed to list");
  assert.equal(logs.length, 3, logs.join(""));
  assert.match(logs[2], /"Failed to list" err="connection refused" reflector="nodes" repeatedTimes=3\n$/);
  f.succeeded("Reflector recovered");
  f.succeeded("Reflector recovered");
  assert.equal(logs.length, 4);
  assert.match(logs[3], /^I.*"Reflector recovered" reflector="nodes"/);
});
