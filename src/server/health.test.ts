import assert from "node:assert/strict";
import { test } from "node:test";
import { serveHealth } from "../apiserver/index.ts";
import { type HealthSources, healthEndpoints } from "./health.ts";

function sources(over: Partial<HealthSources> = {}): HealthSources {
  return {
    nodeSynced: () => true,
    podSynced: () => true,
    storageReady: () => true,
    tickLastStartMs: () => 0,
    resolutionMs: 15_000,
    shuttingDown: () => false,
    now: () => 1_000_000,
    ...over,
  };
}

const q = (s = "") => new URLSearchParams(s);

test("readyz?verbose body equals upstream's e2e expectation", () => {
  const r = serveHealth(healthEndpoints(sources()), "/readyz", q("verbose&"))!;
  assert.equal(r.status, 200);
  assert.equal(
    r.body,
    "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n" +
      "[+]poststarthook/storage-object-count-tracker-hook ok\n[+]metric-storage-ready ok\n" +
      "[+]metric-informer-sync ok\n[+]metadata-informer-sync ok\n[+]shutdown ok\nreadyz check passed\n",
  );
});

test("livez?verbose body equals upstream's e2e expectation", () => {
  const r = serveHealth(healthEndpoints(sources()), "/livez", q("verbose&"))!;
  assert.equal(
    r.body,
    "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n" +
      "[+]poststarthook/storage-object-count-tracker-hook ok\n[+]metric-collection-timely ok\n" +
      "[+]metadata-informer-sync ok\nlivez check passed\n",
  );
});

test("without verbose a healthy endpoint answers ok", () => {
  assert.deepEqual(serveHealth(healthEndpoints(sources()), "/healthz", q()), { status: 200, body: "ok" });
});

test("storage not ready fails readyz, always verbose, reason withheld", () => {
  const r = serveHealth(healthEndpoints(sources({ storageReady: () => false })), "/readyz", q())!;
  assert.equal(r.status, 500);
  assert.match(r.body, /\[-\]metric-storage-ready failed: reason withheld\n/);
  assert.match(r.body, /readyz check failed\n$/);
});

test("metric-collection-timely fails only after 1.5 × resolution without a new tick", () => {
  const at = (tick: number) =>
    serveHealth(healthEndpoints(sources({ tickLastStartMs: () => tick })), "/livez", q());
  assert.equal(at(0)!.status, 200, "passes before the first tick");
  assert.equal(at(1_000_000 - 22_000)!.status, 200);
  assert.equal(at(1_000_000 - 23_000)!.status, 500);
});

test("exclude marks checks excluded and warns about unknown names", () => {
  const r = serveHealth(
    healthEndpoints(sources({ storageReady: () => false })),
    "/readyz",
    q("verbose&exclude=metric-storage-ready&exclude=nope"),
  )!;
  assert.equal(r.status, 200);
  assert.match(r.body, /\[\+\]metric-storage-ready excluded: ok\n/);
  assert.match(r.body, /warn: some health checks cannot be excluded: no matches for "nope"\n/);
});

test("per-check sub-paths answer ok or the reason", () => {
  const eps = healthEndpoints(sources({ nodeSynced: () => false }));
  assert.deepEqual(serveHealth(eps, "/readyz/ping", q()), { status: 200, body: "ok" });
  assert.deepEqual(serveHealth(eps, "/readyz/metric-informer-sync", q()), {
    status: 500,
    body: "internal server error: cache for node informer has not synced\n",
  });
  assert.equal(serveHealth(eps, "/readyz/nope", q())!.status, 404);
  assert.equal(serveHealth(eps, "/apis", q()), undefined);
});

test("while the caches sync, readyz fails on the informer checks and livez passes once they started", () => {
  const syncing = healthEndpoints(
    sources({ nodeSynced: () => false, podSynced: () => false, podInformerStarted: () => true }),
  );
  const ready = serveHealth(syncing, "/readyz", q())!;
  assert.equal(ready.status, 500);
  assert.match(ready.body, /\[-\]metric-informer-sync failed: reason withheld\n/);
  assert.match(ready.body, /\[-\]metadata-informer-sync failed: reason withheld\n/);
  assert.deepEqual(serveHealth(syncing, "/livez", q()), { status: 200, body: "ok" });
  const notStarted = healthEndpoints(sources({ podSynced: () => false, podInformerStarted: () => false }));
  assert.equal(serveHealth(notStarted, "/livez", q())!.status, 500);
  // Without the started source, livez needs the sync, as upstream's.
  assert.equal(serveHealth(healthEndpoints(sources({ podSynced: () => false })), "/livez", q())!.status, 500);
});
