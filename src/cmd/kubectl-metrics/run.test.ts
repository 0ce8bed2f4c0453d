// The whole command against a scripted API server answering the bodies the contract gives (an
// explained 404, NodeScrapes, an APIService's conditions), over HTTP with a real kubeconfig.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { FakeApiServer, json } from "../../../test/support/fake-apiserver.ts";
import { tempDir } from "../../../test/support/paths.ts";
import type { Report } from "./report.ts";
import { runKubectlMetrics } from "./run.ts";

type Route = [number, unknown];

const POD_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-1";
const SCRAPES = "/apis/diagnostics.metrics-server.x-k8s.io/v1alpha1/nodescrapes";

const explained404 = {
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message:
    'podmetrics.metrics.k8s.io "default/web-1" not found: the last scrape of node "node-3" failed 14s ago (at 2026-12-08T03:20:11Z, 3 in a row): timeout after 10s',
  reason: "NotFound",
  details: {
    name: "default/web-1",
    group: "metrics.k8s.io",
    kind: "podmetrics",
    causes: [
      {
        reason: "NodeScrapeFailed",
        message:
          'the last scrape of node "node-3" failed 14s ago (at 2026-12-08T03:20:11Z, 3 in a row): timeout after 10s',
      },
    ],
  },
  code: 404,
};

const failingScrape = {
  kind: "NodeScrape",
  apiVersion: "diagnostics.metrics-server.x-k8s.io/v1alpha1",
  metadata: { name: "node-3" },
  status: {
    state: "Failing",
    lastAttempt: "2026-12-08T03:20:11Z",
    duration: "10s",
    endpoint: "resource",
    consecutiveFailures: 3,
    failingSince: "2026-12-08T03:19:41Z",
    error: { kind: "Timeout", message: "timeout after 10s" },
  },
};

async function fakeCluster(t: TestContext, routes: Record<string, Route>): Promise<string> {
  const server = new FakeApiServer();
  server.list = (_q, res, req) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const route = routes[path];
    if (route === undefined) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("404 page not found\n");
    } else if (typeof route[1] === "string") {
      res.writeHead(route[0], { "content-type": "text/plain" });
      res.end(route[1]);
    } else json(res, route[0], route[1]);
  };
  await server.start();
  t.after(() => server.close());
  const dir = tempDir(t, "kubectl-metrics-");
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
current-context: c
clusters: [{name: k, cluster: {server: "${server.url}"}}]
users: [{name: u, user: {}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
`,
  );
  return kubeconfig;
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runKubectlMetrics(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env: {},
    program: "kubectl metrics",
  });
  return { code, out, err };
}

describe("kubectl metrics against literal API answers", () => {
  test("an explained 404: the node, the error, the last attempt and what to do; exit 2", async (t) => {
    const kc = await fakeCluster(t, {
      [POD_PATH]: [404, explained404],
      [`${SCRAPES}/node-3`]: [200, failingScrape],
    });
    const r = await cli(["explain", "pod", "web-1", "--kubeconfig", kc]);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.out, /^pod default\/web-1: no metrics$/m);
    assert.match(
      r.out,
      /NodeScrapeFailed: the last scrape of node "node-3" failed 14s ago \(at 2026-12-08T03:20:11Z/,
    );
    assert.match(r.out, /→ make sure metrics-server's pods can reach node node-3's kubelet port \(10250/);
    assert.match(
      r.out,
      /node node-3 is Failing: last attempt .* \(2026-12-08T03:20:11Z\), took 10s, 3 failures in a row, error kind Timeout$/m,
    );
    assert.doesNotMatch(r.out, /error: timeout after 10s/, "the cause quotes the error already");

    const j = await cli(["explain", "pod", "default/web-1", "--kubeconfig", kc, "-o", "json"]);
    assert.equal(j.code, 2);
    const report = JSON.parse(j.out) as Report;
    assert.equal(report.result, "Missing");
    assert.equal(report.exitCode, 2);
    assert.equal(report.message, explained404.message);
    assert.equal(report.causes?.[0].reason, "NodeScrapeFailed");
    assert.equal(report.nodeScrapes?.[0].status?.error?.kind, "Timeout");
  });

  test("a 404 without causes (an upstream server): the pod's node and its scrape status instead", async (t) => {
    const bare = {
      kind: "Status",
      status: "Failure",
      message: 'podmetrics.metrics.k8s.io "default/old" not found',
      reason: "NotFound",
      details: { name: "default/old", group: "metrics.k8s.io", kind: "podmetrics" },
      code: 404,
    };
    const kc = await fakeCluster(t, {
      "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/old": [404, bare],
      "/api/v1/namespaces/default/pods/old": [200, { spec: { nodeName: "node-3" } }],
      [`${SCRAPES}/node-3`]: [200, failingScrape],
    });
    const r = await cli(["explain", "pod", "old", "--kubeconfig", kc]);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.out, /gives no reason/);
    assert.match(
      r.out,
      /node node-3 is Failing: .*, error kind Timeout\n\s+error: timeout after 10s\n\s+→ make sure metrics-server's pods can reach node node-3's/,
    );
  });

  test("the pod's namespace: -n, else the context's, else default; KUBECONFIG's files in turn", async (t) => {
    const kc = await fakeCluster(t, {
      "/apis/metrics.k8s.io/v1beta1/namespaces/prod/pods/api": [200, { containers: [] }],
      [POD_PATH]: [200, { containers: [] }],
    });
    const withNamespace = join(tempDir(t, "kubectl-metrics-"), "kubeconfig");
    writeFileSync(
      withNamespace,
      readFileSync(kc, "utf8").replace("{cluster: k, user: u}", "{cluster: k, user: u, namespace: prod}"),
    );
    assert.equal((await cli(["explain", "pod", "api", "--kubeconfig", withNamespace])).code, 0);
    assert.equal((await cli(["explain", "pod", "web-1", "--kubeconfig", kc])).code, 0);
    assert.equal(
      (await cli(["explain", "pod", "web-1", "-n", "default", "--kubeconfig", withNamespace])).code,
      0,
    );
    // Not in prod: the fake answers 404 without a Status, as for an API it does not serve.
    assert.equal((await cli(["explain", "pod", "web-1", "--kubeconfig", withNamespace])).code, 3);
    let out = "";
    const code = await runKubectlMetrics(["explain", "pod", "api"], {
      stdout: (s) => (out += s),
      stderr: (s) => (out += s),
      env: { KUBECONFIG: ["/nonexistent/config", withNamespace].join(":") },
      program: "kubectl metrics",
    });
    assert.equal(code, 0, out);
  });

  test("container causes keep their field; a pod whose metrics are served exits 0", async (t) => {
    const podMetrics = {
      kind: "PodMetrics",
      metadata: { name: "web-1", namespace: "default" },
      timestamp: new Date(Date.now() - 5000).toISOString().replace(/\.\d+Z$/, "Z"),
      window: "15s",
      containers: [{ name: "app", usage: { cpu: "12345678n", memory: "10240Ki" } }],
    };
    const young = structuredClone(explained404);
    young.details.causes = [
      {
        reason: "OnePointSoFar",
        message:
          'container "app" has one point so far; the second is due in about 9s (at 2026-12-08T03:20:20Z)',
        field: "containers[app]",
      } as (typeof young.details.causes)[0],
    ];
    const kc = await fakeCluster(t, {
      [POD_PATH]: [200, podMetrics],
      "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/young": [404, young],
    });
    const served = await cli(["explain", "pod", "web-1", "--kubeconfig", kc]);
    assert.equal(served.code, 0, served.out + served.err);
    assert.match(served.out, /metrics served, window 15s, sampled \ds ago/);
    assert.match(served.out, /^app\s+13m\s+10Mi$/m);
    const y = await cli(["explain", "pod", "young", "--kubeconfig", kc]);
    assert.equal(y.code, 2);
    assert.match(y.out, /OnePointSoFar \(containers\[app\]\): .*\n\s+→ wait until 2026-12-08T03:20:20Z/);
  });

  test("forbidden, unavailable, not registered, unreachable: exit 3 with what stands in the way", async (t) => {
    const forbidden = {
      kind: "Status",
      status: "Failure",
      message:
        'pods.metrics.k8s.io "web-1" is forbidden: User "nobody" cannot get resource "pods" in API group "metrics.k8s.io" in the namespace "default"',
      reason: "Forbidden",
      details: { name: "web-1", group: "metrics.k8s.io", kind: "pods" },
      code: 403,
    };
    const apiService = {
      kind: "APIService",
      metadata: { name: "v1beta1.metrics.k8s.io" },
      spec: { service: { namespace: "kube-system", name: "metrics-server" } },
      status: {
        conditions: [
          {
            type: "Available",
            status: "False",
            reason: "FailedDiscoveryCheck",
            message: "failing or missing response from https://10.96.0.5:443/apis/metrics.k8s.io/v1beta1",
          },
        ],
      },
    };
    const kc = await fakeCluster(t, {
      [POD_PATH]: [403, forbidden],
      "/apis/metrics.k8s.io/v1beta1/nodes/n1": [503, "service unavailable\n"],
      "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io": [200, apiService],
      "/api/v1/namespaces/kube-system/services/metrics-server": [
        200,
        { spec: { selector: { "k8s-app": "metrics-server" } } },
      ],
      "/api/v1/namespaces/kube-system/pods": [
        200,
        {
          items: [
            {
              metadata: { name: "metrics-server-abc" },
              status: {
                phase: "Running",
                conditions: [{ type: "Ready", status: "False" }],
                containerStatuses: [{ restartCount: 4, state: { waiting: { reason: "CrashLoopBackOff" } } }],
              },
            },
          ],
        },
      ],
    });
    const f = await cli(["explain", "pod", "web-1", "--kubeconfig", kc]);
    assert.equal(f.code, 3, f.out + f.err);
    assert.match(f.out, /User "nobody" cannot get/);
    assert.match(f.out, /system:aggregated-metrics-reader/);

    const u = await cli(["explain", "node", "n1", "--kubeconfig", kc]);
    assert.equal(u.code, 3, u.out + u.err);
    assert.match(
      u.out,
      /APIService v1beta1\.metrics\.k8s\.io: Available=False \(FailedDiscoveryCheck: failing or missing response/,
    );
    assert.match(u.out, /pod metrics-server-abc: Running, not Ready, 4 restarts, CrashLoopBackOff/);
    assert.match(u.out, /kube-apiserver cannot reach metrics-server/);

    const s = await cli(["status", "--kubeconfig", kc]);
    assert.equal(s.code, 3, s.out + s.err);
    assert.match(s.out, /APIService v1alpha1\.diagnostics\.metrics-server\.x-k8s\.io: Available=NotFound/);
    assert.match(s.out, /is not registered: apply it/);

    // The API server answers, the API behind it never does (a stopped metrics-server).
    const hanging = new FakeApiServer();
    hanging.list = (_q, res, req) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === "/version") json(res, 200, { gitVersion: "v1.33.0" });
      else if (path === "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
        json(res, 200, apiService);
      else if (!path.startsWith("/apis/metrics.k8s.io/")) json(res, 404, {});
      // else: no answer at all
    };
    await hanging.start();
    t.after(() => hanging.close());
    const hangingConfig = join(tempDir(t, "kubectl-metrics-"), "kubeconfig");
    writeFileSync(
      hangingConfig,
      readFileSync(kc, "utf8").replace(/server: "[^"]*"/, `server: "${hanging.url}"`),
    );
    const h = await cli(["explain", "node", "n1", "--kubeconfig", hangingConfig, "--request-timeout", "1s"]);
    assert.equal(h.code, 3, h.out + h.err);
    assert.match(h.out, /timed out .*though the API server itself answers/);
    assert.match(h.out, /Available=False \(FailedDiscoveryCheck/);
    assert.equal(
      (
        JSON.parse(
          (
            await cli([
              "explain",
              "node",
              "n1",
              "--kubeconfig",
              hangingConfig,
              "--request-timeout",
              "1s",
              "-o",
              "json",
            ])
          ).out,
        ) as Report
      ).problem?.reason,
      "Unavailable",
    );

    const noContext = await cli(["status", "--kubeconfig", kc, "--context", "missing"]);
    assert.equal(noContext.code, 3);
    assert.match(noContext.err, /context "missing" not found/);

    // Port 1 on loopback: nothing listens there.
    const deadConfig = join(tempDir(t, "kubectl-metrics-"), "kubeconfig");
    writeFileSync(
      deadConfig,
      readFileSync(kc, "utf8").replace(/server: "[^"]*"/, 'server: "http://127.0.0.1:1"'),
    );
    const dead = await cli(["status", "--kubeconfig", deadConfig]);
    assert.equal(dead.code, 3, dead.out + dead.err);
    assert.match(dead.out, /could not reach the API server at http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);

    const usage = await cli(["status", "--kubeconfig", kc, "--bogus"]);
    assert.equal(usage.code, 1);
    assert.match(usage.err, /bogus[\s\S]*See 'kubectl metrics explain --help'/);
  });

  test("status: failing nodes first with error and what to do, totals, the self-check; exit 2, or 0 when all scraped", async (t) => {
    const scraped = (name: string) => ({
      metadata: { name },
      status: {
        state: "Scraped",
        lastAttempt: "2026-12-08T03:20:11Z",
        duration: "12ms",
        pods: 3,
        containers: 6,
      },
    });
    const server = {
      metadata: { name: "ms-host", creationTimestamp: "2026-12-08T03:00:00Z" },
      status: {
        version: "0.1.0",
        resolution: "15s",
        lastTick: { start: "2026-12-08T03:20:11Z", duration: "40ms" },
        nodes: { total: 3, scraped: 2, failing: 1, notReady: 0, excluded: 0, pending: 0 },
        pods: 6,
        containers: 12,
        checks: [
          { name: "front-proxy-ca", status: "Passed", message: "the front-proxy CA is loaded" },
          { name: "first-scrape", status: "Failed", message: "no scrape yet", action: "see the nodes" },
        ],
      },
    };
    const kc = await fakeCluster(t, {
      [SCRAPES]: [
        200,
        { kind: "NodeScrapeList", metadata: {}, items: [scraped("a"), failingScrape, scraped("b")] },
      ],
      "/apis/diagnostics.metrics-server.x-k8s.io/v1alpha1/serverstatuses": [200, { items: [server] }],
    });
    const r = await cli(["status", "--kubeconfig", kc]);
    assert.equal(r.code, 2, r.out + r.err);
    const lines = r.out.split("\n");
    assert.match(lines[0], /^NODE\s+STATE\s+LAST ATTEMPT\s+FAILURES\s+ERROR$/);
    assert.match(
      lines[1],
      /^node-3\s+Failing\s+.*\(2026-12-08T03:20:11Z\)\s+3\s+Timeout: timeout after 10s$/,
    );
    assert.match(r.out, /nodes: 3 total, 2 scraped, 1 failing, 0 NotReady, 0 pending, 0 excluded/);
    assert.match(r.out, /server ms-host: version 0\.1\.0, resolution 15s/);
    assert.match(
      r.out,
      /start-up self-check:\n.*\n\s+Failed {2}first-scrape: no scrape yet\n\s+→ see the nodes/,
    );

    const healthy = await fakeCluster(t, { [SCRAPES]: [200, { items: [scraped("a")] }] });
    const h = await cli(["status", "--kubeconfig", healthy, "-o", "json"]);
    assert.equal(h.code, 0, h.out + h.err);
    assert.equal((JSON.parse(h.out) as Report).result, "Scraped");
  });
});
