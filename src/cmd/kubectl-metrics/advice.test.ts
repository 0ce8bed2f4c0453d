import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { causeActions, errorKindFromMessage, nodeNamedIn, scrapeErrorActions } from "./advice.ts";
import type { CauseReason } from "./reasons.ts";

const none = { nodeStatus: () => undefined };

describe("what to do, per reason", () => {
  test("every reason of the contract has advice; an unknown one has none", () => {
    const reasons: CauseReason[] = [
      "PodUnknown",
      "PodNotRunning",
      "PodLookupFailed",
      "NodeUnknown",
      "NodeExcluded",
      "NodeNotReady",
      "NodeScrapeFailed",
      "NodeNotScrapedYet",
      "NodePointMissing",
      "ValuesMissing",
      "ValuesConflicting",
      "ValuesRefused",
      "NotInKubeletResponse",
      "OnePointSoFar",
      "ContainerRestarted",
      "DuplicatePod",
    ];
    for (const r of reasons) assert.ok(causeActions(r, 'node "n1" x', none).length > 0, r);
    assert.deepEqual(causeActions("SomethingNew", "x", none), []);
  });

  test("the node a message names, and the time a young pod's second point is due", () => {
    assert.equal(nodeNamedIn('the last scrape of node "node-3" failed 14s ago'), "node-3");
    assert.equal(nodeNamedIn("pod is Pending"), undefined);
    const [wait] = causeActions(
      "OnePointSoFar",
      'container "c" has one point so far, from 3s ago (at 2026-12-08T03:20:11Z); the second is due in about 12s (at 2026-12-08T03:20:26Z)',
      none,
    );
    assert.match(wait, /until 2026-12-08T03:20:26Z/);
    assert.match(causeActions("NodeNotReady", 'node "n2" is not Ready', none)[0], /kubectl describe node n2/);
    assert.match(
      causeActions("PodNotRunning", "pending", { ...none, namespace: "ns", pod: "p" })[1],
      /kubectl describe pod -n ns p/,
    );
  });

  test("a failed scrape: advice by the error's kind, from the NodeScrape or guessed from the message", () => {
    assert.match(
      scrapeErrorActions("n1", { kind: "Timeout" }).join("\n"),
      /10250[\s\S]*--kubelet-request-timeout/,
    );
    const x509 = scrapeErrorActions("n1", {
      kind: "CertificateInvalid",
      certificateWanted: "127.1.0.1",
      certificateHas: ["n1"],
    }).join("\n");
    assert.match(x509, /does not name "127.1.0.1" \(it names n1\)/);
    assert.match(x509, /serverTLSBootstrap[\s\S]*--kubelet-preferred-address-types/);
    assert.match(
      scrapeErrorActions("n1", { kind: "CertificateInvalid" }).join("\n"),
      /--kubelet-certificate-authority/,
    );
    assert.match(
      scrapeErrorActions("n1", { kind: "Forbidden", httpStatus: 403 }).join("\n"),
      /nodes\/metrics/,
    );
    assert.match(scrapeErrorActions("n1", { kind: "Unauthorized" }).join("\n"), /webhook/);
    assert.equal(
      errorKindFromMessage("Get https://x:10250/metrics/resource: context deadline exceeded"),
      "Timeout",
    );
    assert.equal(errorKindFromMessage("tls: x509: certificate is valid for a, not b"), "CertificateInvalid");
    assert.equal(
      errorKindFromMessage("dial tcp 1.2.3.4:10250: connect: connection refused"),
      "ConnectionRefused",
    );
    const guessed = causeActions(
      "NodeScrapeFailed",
      'the last scrape of node "n1" failed: request timeout after 10s',
      none,
    );
    assert.match(guessed.join("\n"), /node n1's kubelet port/);
  });
});
