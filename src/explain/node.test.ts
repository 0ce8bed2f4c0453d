import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Node } from "../kube/index.ts";
import type { NodeScrapeReport, NodeScrapeStatus } from "../storage/index.ts";
import { explainNode } from "./node.ts";
import type { ExplainClock, NodeFacts } from "./types.ts";

const NOW = Date.parse("2026-12-08T03:20:25Z");
const clock: ExplainClock = { nowMs: NOW, resolutionMs: 15_000, startedAtMs: NOW - 60_000 };

function node(ready = "True"): Node {
  return { metadata: { name: "node-3" }, status: { conditions: [{ type: "Ready", status: ready }] } };
}

function report(r: Partial<NodeScrapeReport>): NodeScrapeReport {
  return {
    node: "node-3",
    outcome: "Succeeded",
    startMs: NOW - 14_000,
    durationMs: 20,
    endpoint: "resource",
    bytes: 100,
    nodePoint: true,
    pods: 3,
    containers: 4,
    ...r,
  };
}

function facts(f: Partial<NodeFacts>): NodeFacts {
  return {
    name: "node-3",
    node: node(),
    selected: true,
    scrape: undefined,
    stored: undefined,
    known: { scrape: true, store: true },
    ...f,
  };
}

describe("explainNode", () => {
  it("a failed scrape: the error, when, how many in a row, the last success", () => {
    const scrape: NodeScrapeStatus = {
      latest: report({
        outcome: "Failed",
        startMs: Date.parse("2026-12-08T03:20:11Z"),
        error: { kind: "Timeout", message: "timeout after 10s" },
      }),
      consecutiveFailures: 3,
      failingSinceMs: NOW - 44_000,
      lastSuccessMs: NOW - 59_000,
    };
    assert.deepEqual(explainNode(facts({ scrape }), clock), [
      {
        reason: "NodeScrapeFailed",
        message:
          'the last scrape of node "node-3" failed 14s ago (at 2026-12-08T03:20:11Z, 3 in a row): timeout after 10s; ' +
          "last success 59s ago (at 2026-12-08T03:19:26Z)",
      },
    ]);
  });

  it("x509: the name the certificate lacks and the names it has; 403: the RBAC the kubelet wants", () => {
    const x509 = explainNode(
      facts({
        scrape: {
          latest: report({
            outcome: "Failed",
            error: {
              kind: "CertificateInvalid",
              message: "x509: certificate name mismatch",
              certificateWanted: "127.0.0.5",
              certificateHas: ["a.example", "10.0.0.1"],
            },
          }),
          consecutiveFailures: 1,
        },
      }),
      clock,
    );
    assert.match(x509[0].message, /does not name "127\.0\.0\.5" \(it names a\.example, 10\.0\.0\.1\)/);
    const forbidden = explainNode(
      facts({
        scrape: {
          latest: report({
            outcome: "Failed",
            endpoint: "summary",
            error: { kind: "Forbidden", message: "request failed, status: 403 Forbidden", httpStatus: 403 },
          }),
          consecutiveFailures: 1,
        },
      }),
      clock,
    );
    assert.match(forbidden[0].message, /allowed to get nodes\/stats$/);
    assert.doesNotMatch(forbidden[0].message, /in a row/);
  });

  it("unknown, excluded, NotReady and not yet scraped nodes", () => {
    assert.equal(explainNode(facts({ node: undefined }), clock)[0].reason, "NodeUnknown");
    const excluded = explainNode(facts({ selected: false, nodeSelectorText: "pool=gpu" }), clock);
    assert.deepEqual(excluded, [
      {
        reason: "NodeExcluded",
        message: 'node "node-3" is not selected by --node-selector=pool=gpu, so it is not scraped',
      },
    ]);
    assert.equal(explainNode(facts({ node: node("False") }), clock)[0].reason, "NodeNotReady");
    const reportedNotReady = facts({
      scrape: { latest: report({ outcome: "NotReady" }), consecutiveFailures: 0 },
    });
    assert.equal(explainNode(reportedNotReady, clock)[0].reason, "NodeNotReady");
    const young = explainNode(facts({}), clock);
    assert.equal(young[0].reason, "NodeNotScrapedYet");
    assert.match(young[0].message, /started 60s ago/);
  });

  it("the node's own point: missing from the answer, refused, or alone so far", () => {
    const noPoint = explainNode(
      facts({ scrape: { latest: report({ nodePoint: false }), consecutiveFailures: 0 } }),
      clock,
    );
    assert.equal(noPoint[0].reason, "NodePointMissing");
    const refused = explainNode(
      facts({
        scrape: {
          latest: report({}),
          consecutiveFailures: 0,
          nodeRefused: "memory above the node's capacity",
        },
      }),
      clock,
    );
    assert.equal(refused[0].reason, "ValuesRefused");
    assert.match(refused[0].message, /memory above the node's capacity/);
    const one = explainNode(
      facts({
        scrape: { latest: report({}), consecutiveFailures: 0 },
        stored: { points: 1, newestMs: NOW - 5_000 },
      }),
      clock,
    );
    assert.equal(one[0].reason, "OnePointSoFar");
    assert.match(one[0].message, /from 5s ago .* in about 10s \(at 2026-12-08T03:20:35Z\)$/);
  });
});
