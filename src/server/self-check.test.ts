import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { ApiError } from "../kube/index.ts";
import * as log from "../log/index.ts";
import type { NodeScrapeReport } from "../storage/index.ts";
import { SelfCheck, type SelfCheckOptions } from "./self-check.ts";

let lines: string[] = [];
let prevSink: (line: string) => void;
beforeEach(() => {
  lines = [];
  prevSink = log.setSink((l) => lines.push(l));
});
afterEach(() => {
  log.setSink(prevSink);
});

/** A kube client whose APIService answers are scripted, one per read (the last one repeats). */
function fakeKube(answers: (object | ApiError)[]): SelfCheckOptions["kube"] & { reads: number } {
  const k = {
    reads: 0,
    async getJSON<T>(path: string): Promise<T> {
      assert.equal(path, "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io");
      const a = answers[Math.min(k.reads++, answers.length - 1)];
      if (a instanceof ApiError) throw a;
      return a as T;
    },
  };
  return k;
}

function apiService(status: "True" | "False", reason = "Passed", message = "all checks passed"): object {
  return {
    spec: { service: { namespace: "kube-system", name: "metrics-server" } },
    status: { conditions: [{ type: "Available", status, reason, message }] },
  };
}

function report(node: string, outcome: NodeScrapeReport["outcome"], error?: NodeScrapeReport["error"]) {
  return {
    node,
    outcome,
    startMs: 1_700_000_000_000,
    durationMs: 5,
    bytes: 0,
    nodePoint: outcome === "Succeeded",
    pods: 0,
    containers: 0,
    ...(error ? { error } : {}),
  } satisfies NodeScrapeReport;
}

function check(sc: SelfCheck, name: string) {
  const r = sc.results().find((x) => x.name === name);
  assert.ok(r, name);
  return r;
}

const errorLines = () => lines.filter((l) => l.startsWith("E"));
const flush = () => new Promise((r) => setImmediate(r));
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("self-check", () => {
  test("every check starts Pending, in a fixed order", () => {
    const sc = new SelfCheck({
      kube: fakeKube([]),
      requestHeaderCAs: () => 1,
      resolutionMs: 15_000,
      kubeletTlsUnverified: false,
    });
    assert.deepEqual(
      sc.results().map((r) => [r.name, r.status]),
      [
        ["front-proxy-ca", "Pending"],
        ["apiservice-available", "Pending"],
        ["kubelet-certificates", "Pending"],
        ["first-scrape", "Pending"],
      ],
    );
  });

  test("front-proxy-ca: no request-header CA fails once with what to do, and recovers at info", () => {
    let cas = 0;
    const sc = new SelfCheck({
      kube: fakeKube([]),
      requestHeaderCAs: () => cas,
      resolutionMs: 15_000,
      kubeletTlsUnverified: false,
    });
    sc.afterTick();
    sc.afterTick();
    const r = check(sc, "front-proxy-ca");
    assert.equal(r.status, "Failed");
    assert.match(r.message, /no request-header client CA/);
    assert.match(r.action ?? "", /--requestheader-client-ca-file/);
    assert.equal(errorLines().length, 1, lines.join(""));
    assert.match(errorLines()[0], /"Self-check failed" check="front-proxy-ca"/);
    cas = 1;
    sc.afterTick();
    assert.equal(check(sc, "front-proxy-ca").status, "Passed");
    assert.equal(lines.filter((l) => l.includes('"Self-check recovered" check="front-proxy-ca"')).length, 1);
  });

  test("front-proxy-ca is Skipped when the configuration is not known", () => {
    const sc = new SelfCheck({ kube: fakeKube([]), resolutionMs: 15_000, kubeletTlsUnverified: false });
    sc.afterTick();
    assert.equal(check(sc, "front-proxy-ca").status, "Skipped");
  });

  test("apiservice-available: Available passes and stops reading", async () => {
    const kube = fakeKube([apiService("False", "MissingEndpoints", "no endpoints"), apiService("True")]);
    const sc = new SelfCheck({
      kube,
      resolutionMs: 15_000,
      kubeletTlsUnverified: false,
      apiServiceRecheckMs: 10,
    });
    sc.start();
    await until(() => check(sc, "apiservice-available").status === "Passed");
    // Not Available during the grace period is only Pending: no error line.
    assert.deepEqual(errorLines(), []);
    const reads = kube.reads;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(kube.reads, reads, "no reads after Passed");
    sc.stop();
  });

  test("apiservice-available: not Available after the grace fails with the reason and what to do", async () => {
    let now = 0;
    const kube = fakeKube([
      apiService(
        "False",
        "FailedDiscoveryCheck",
        "failing or missing response from https://10.0.0.1:10250/apis/metrics.k8s.io/v1beta1: context deadline exceeded",
      ),
    ]);
    const sc = new SelfCheck({
      kube,
      resolutionMs: 15_000,
      kubeletTlsUnverified: false,
      now: () => now,
      apiServiceRecheckMs: 5,
      apiServiceGraceMs: 60_000,
    });
    sc.start();
    await until(() => kube.reads >= 1);
    await flush();
    assert.equal(check(sc, "apiservice-available").status, "Pending");
    now = 61_000;
    await until(() => check(sc, "apiservice-available").status === "Failed");
    const r = check(sc, "apiservice-available");
    assert.match(r.message, /is not Available: FailedDiscoveryCheck: failing or missing response/);
    assert.match(r.action ?? "", /network policies/);
    await until(() => kube.reads >= 4);
    sc.stop();
    assert.equal(errorLines().length, 1, "logged once while it keeps failing");
  });

  test("apiservice-available: 403 is Skipped (no more reads), 404 is not registered", async () => {
    const forbidden = fakeKube([new ApiError(403, "forbidden")]);
    const a = new SelfCheck({
      kube: forbidden,
      resolutionMs: 15_000,
      kubeletTlsUnverified: false,
      apiServiceRecheckMs: 5,
    });
    a.start();
    await until(() => check(a, "apiservice-available").status === "Skipped");
    assert.equal(check(a, "apiservice-available").message, "not permitted to read APIServices");
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(forbidden.reads, 1);
    a.stop();

    const b = new SelfCheck({
      kube: fakeKube([new ApiError(404, "not found")]),
      resolutionMs: 15_000,
      kubeletTlsUnverified: false,
      apiServiceGraceMs: 0,
      apiServiceRecheckMs: 5,
    });
    b.start();
    await until(() => check(b, "apiservice-available").status === "Failed");
    assert.match(check(b, "apiservice-available").message, /is not registered/);
    b.stop();
  });

  test("kubelet-certificates: a name mismatch names the node, the address and the flags", () => {
    const sc = new SelfCheck({ kube: fakeKube([]), resolutionMs: 15_000, kubeletTlsUnverified: false });
    sc.observe(report("node-1", "Succeeded"));
    sc.observe(
      report("node-2", "Failed", {
        kind: "CertificateInvalid",
        message: "x509: certificate is valid for node-2, not 10.0.0.2",
        certificateWanted: "10.0.0.2",
        certificateHas: ["node-2"],
      }),
    );
    sc.afterTick();
    const r = check(sc, "kubelet-certificates");
    assert.equal(r.status, "Failed");
    assert.match(r.message, /node "node-2"/);
    assert.match(r.message, /it holds node-2, not 10\.0\.0\.2/);
    assert.match(r.action ?? "", /--kubelet-preferred-address-types/);
    assert.match(r.action ?? "", /--kubelet-insecure-tls/);
    assert.match(errorLines()[0], /"Self-check failed" check="kubelet-certificates" node="node-2" problem=/);
    sc.observe(report("node-2", "Succeeded"));
    sc.afterTick();
    assert.equal(check(sc, "kubelet-certificates").status, "Passed");
    assert.equal(errorLines().length, 1);
  });

  test("kubelet-certificates: an unknown authority points at --kubelet-certificate-authority", () => {
    const sc = new SelfCheck({ kube: fakeKube([]), resolutionMs: 15_000, kubeletTlsUnverified: false });
    for (const n of ["a", "b", "c"])
      sc.observe(
        report(n, "Failed", {
          kind: "CertificateInvalid",
          message: "x509: certificate signed by unknown authority",
        }),
      );
    sc.afterTick();
    const r = check(sc, "kubelet-certificates");
    assert.equal(r.status, "Failed");
    assert.match(r.message, /\(and 2 other nodes\)$/);
    assert.match(r.action ?? "", /--kubelet-certificate-authority/);
  });

  test("kubelet-certificates is Skipped with --kubelet-insecure-tls", () => {
    const sc = new SelfCheck({ kube: fakeKube([]), resolutionMs: 15_000, kubeletTlsUnverified: true });
    sc.observe(report("a", "Failed", { kind: "CertificateInvalid", message: "x509" }));
    sc.afterTick();
    assert.equal(check(sc, "kubelet-certificates").status, "Skipped");
  });

  test("first-scrape: Pending for 3 resolutions, then Failed naming the commonest error; a success recovers", () => {
    let now = 0;
    const sc = new SelfCheck({
      kube: fakeKube([]),
      resolutionMs: 10_000,
      kubeletTlsUnverified: false,
      now: () => now,
    });
    sc.scrapingStarted();
    sc.observe(report("a", "Failed", { kind: "Timeout", message: "context deadline exceeded" }));
    sc.observe(report("b", "Failed", { kind: "Timeout", message: "context deadline exceeded" }));
    sc.observe(report("c", "Failed", { kind: "Forbidden", message: "403", httpStatus: 403 }));
    now = 29_999;
    sc.afterTick();
    assert.equal(check(sc, "first-scrape").status, "Pending");
    now = 30_000;
    sc.afterTick();
    const r = check(sc, "first-scrape");
    assert.equal(r.status, "Failed");
    assert.match(r.message, /^no node scraped in 30s: 2 of 3 nodes failed with Timeout, e\.g\. node "a"/);
    assert.match(r.action ?? "", /--kubelet-request-timeout/);
    sc.observe(report("c", "Succeeded"));
    sc.afterTick();
    assert.equal(check(sc, "first-scrape").status, "Passed");
    assert.match(check(sc, "first-scrape").message, /^node "c" scraped at 2023-11-14T22:13:20Z$/);
    assert.equal(errorLines().length, 1);
    assert.equal(lines.filter((l) => l.includes('"Self-check recovered" check="first-scrape"')).length, 1);
  });

  test("first-scrape: no node at all fails with that", () => {
    let now = 0;
    const sc = new SelfCheck({
      kube: fakeKube([]),
      resolutionMs: 1000,
      kubeletTlsUnverified: false,
      now: () => now,
    });
    sc.scrapingStarted();
    now = 5000;
    sc.afterTick();
    assert.match(check(sc, "first-scrape").message, /there is no node to scrape/);
  });
});
