import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixture, get, NOW, request, V } from "../../test/support/metrics-api-fixture.ts";
import type { PodLookup } from "../explain/index.ts";
import type { NodeScrapeStatus, ScrapeStatusReader, StoreDescriber } from "../storage/index.ts";
import { boundedPodLookup } from "./pod-lookup.ts";

function book(statuses: NodeScrapeStatus[]): ScrapeStatusReader {
  const byNode = new Map(statuses.map((s) => [s.latest.node, s]));
  return { status: (n) => byNode.get(n), all: () => byNode.values() };
}

const failing: NodeScrapeStatus = {
  latest: {
    node: "kind-worker2",
    outcome: "Failed",
    startMs: NOW - 14_000,
    durationMs: 10_000,
    bytes: 0,
    nodePoint: false,
    pods: 0,
    containers: 0,
    error: { kind: "Timeout", message: "timeout after 10s" },
  },
  consecutiveFailures: 3,
};

const describer: StoreDescriber = {
  describePod: (ns, name) =>
    ns === "default" && name === "no-metrics"
      ? { node: "kind-worker", containers: [{ name: "app", points: 1, newestMs: NOW - 5_000, startMs: 0 }] }
      : undefined,
  describeNode: () => undefined,
};

function status(body: string) {
  return JSON.parse(body) as { message: string; details: { causes?: { reason: string; field?: string }[] } };
}

describe("explained 404s", () => {
  it("without the facts, upstream's 404s byte for byte", () => {
    const { api } = fixture();
    const plain = get(api, `${V}/nodes/kind-worker2`);
    assert.equal(status(plain.body).message, 'nodemetrics.metrics.k8s.io "kind-worker2" not found');
    assert.equal(status(plain.body).details.causes, undefined);
    assert.equal(api.handle(request(`${V}/namespaces/default/pods/nope`))?.refine, undefined);
  });

  it("a node: upstream's message, then the causes", () => {
    const { api } = fixture({ scrapeStatus: book([failing]), resolutionMs: 15_000 });
    const res = get(api, `${V}/nodes/kind-worker2`);
    assert.equal(res.status, 404);
    const s = status(res.body);
    assert.match(
      s.message,
      /^nodemetrics\.metrics\.k8s\.io "kind-worker2" not found: the last scrape of node "kind-worker2" failed 14s ago \(at .*, 3 in a row\): timeout after 10s$/,
    );
    assert.deepEqual(
      s.details.causes?.map((c) => c.reason),
      ["NodeScrapeFailed"],
    );
    const unknown = status(get(api, `${V}/nodes/nope`).body);
    assert.match(unknown.message, /^node "nope" not found: node "nope" is not in this server's node cache/);
    assert.equal(get(api, `${V}/nodes/skipped`).status, 200, "a GET by name ignores --node-selector");
  });

  it("a pod: from the caches at once, refined with the live lookup", async () => {
    const lookups: string[] = [];
    const lookupPod = async (ns: string, name: string): Promise<PodLookup> => {
      lookups.push(`${ns}/${name}`);
      return name === "ghost" ? { kind: "absent" } : { kind: "skipped" };
    };
    const scraped = {
      ...failing,
      latest: { ...failing.latest, node: "kind-worker", outcome: "Succeeded" as const },
    };
    const { api } = fixture({ describer, scrapeStatus: book([scraped]), lookupPod, resolutionMs: 15_000 });
    const res = api.handle(request(`${V}/namespaces/default/pods/no-metrics`));
    assert.ok(res?.refine);
    const cached = status(String(res.body));
    assert.deepEqual(
      cached.details.causes?.map((c) => [c.reason, c.field]),
      [["OnePointSoFar", "containers[app]"]],
    );
    assert.match(
      cached.message,
      /^podmetrics\.metrics\.k8s\.io "default\/no-metrics" not found: container "app" has one point so far/,
    );
    const ghost = await api.handle(request(`${V}/namespaces/default/pods/ghost`))!.refine!();
    assert.equal(
      status(String(ghost.body)).message,
      'pods "ghost" not found: pod "default/ghost" does not exist in the API server',
    );
    assert.deepEqual(lookups, ["default/ghost"]);
  });
});

describe("boundedPodLookup", () => {
  it("404 is absent, an answer is found, errors and timeouts are failures", async () => {
    const lookup = boundedPodLookup(
      async (_ns, name, signal) => {
        if (name === "gone") return undefined;
        if (name === "slow") {
          await new Promise((_resolve, reject) =>
            signal.addEventListener("abort", () => reject(signal.reason)),
          );
        }
        if (name === "broken") throw new Error("connection refused");
        return { spec: { nodeName: "n1" }, status: { phase: "Running" } };
      },
      { timeoutMs: 50 },
    );
    assert.deepEqual(await lookup("a", "gone"), { kind: "absent" });
    const found = await lookup("a", "ok");
    assert.equal(found.kind === "found" && found.pod.nodeName, "n1");
    assert.deepEqual(await lookup("a", "broken"), { kind: "failed", message: "connection refused" });
    assert.deepEqual(await lookup("a", "slow"), { kind: "failed", message: "no answer within 0.05s" });
  });

  it("at most maxInFlight at once; one answer per pod for cacheMs", async () => {
    let t = 0;
    let calls = 0;
    const gates: (() => void)[] = [];
    const lookup = boundedPodLookup(
      async () => {
        calls++;
        await new Promise<void>((resolve) => gates.push(resolve));
        return {};
      },
      { maxInFlight: 2, now: () => t },
    );
    const a = lookup("ns", "a");
    assert.equal(lookup("ns", "a"), a, "the same pod shares one GET");
    const b = lookup("ns", "b");
    assert.deepEqual(await lookup("ns", "c"), { kind: "failed", message: "2 pod lookups already in flight" });
    for (const open of gates) open();
    await Promise.all([a, b]);
    t = 999;
    assert.equal(lookup("ns", "a"), a);
    t = 1000;
    const again = lookup("ns", "a");
    assert.notEqual(again, a, "stale after cacheMs");
    gates.at(-1)?.();
    await again;
    assert.equal(calls, 3);
  });
});
