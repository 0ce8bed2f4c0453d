// The server records every node's scrape report in its book, scraping inline and in the worker
// thread alike: a hanging kubelet and one that answers 403 are Failed with their kinds, the healthy
// one Succeeded, and the book is what the API is given.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { test } from "node:test";
import { testCert } from "../../test/support/certs.ts";
import { FakeApiServer, json, listOf } from "../../test/support/fake-apiserver.ts";
import { type FakeKubelet, selfSignedCert, startFakeKubelet } from "../../test/support/fake-kubelet.ts";
import { captureLogs } from "../../test/support/logs.ts";
import { poll } from "../../test/support/poll.ts";
import type { RequestAuth } from "../apiserver/index.ts";
import { KubeClient, parseLabelSelector } from "../kube/index.ts";
import { MetricsServer } from "./server.ts";

const BODY =
  "node_cpu_usage_seconds_total 1457.39 1732741801205\n" +
  "node_memory_working_set_bytes 1.1e+09 1732741801205\n" +
  'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="p"} 1.5 1732741798478\n' +
  'container_memory_working_set_bytes{container="a",namespace="ns",pod="p"} 1000 1732741798478\n';

function nodeObject(name: string, port: number) {
  return {
    metadata: { name, resourceVersion: "1" },
    status: {
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

const allowAll: RequestAuth = {
  check: async () => ({ allowed: true, user: { name: "test", groups: [], extra: {} } }),
};

for (const mode of ["inline", "worker"] as const) {
  test(`the server's book has each node's report (scraping ${mode})`, async (t) => {
    captureLogs(t);
    const kubeletCert = await selfSignedCert(["127.0.0.1"]);
    const kubelets: FakeKubelet[] = [];
    const kubelet = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      const k = await startFakeKubelet(kubeletCert, handler);
      kubelets.push(k);
      return k.port;
    };
    t.after(() => Promise.all(kubelets.map((k) => k.close())));
    const healthy = await kubelet((_req, res) => res.end(BODY));
    const hanging = await kubelet(() => {});
    const forbidden = await kubelet((_req, res) => {
      res.writeHead(403);
      res.end("Forbidden");
    });

    const api = new FakeApiServer();
    api.list = (_q, res, req) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const items =
        path === "/api/v1/nodes"
          ? [
              nodeObject("healthy", healthy),
              nodeObject("hanging", hanging),
              nodeObject("forbidden", forbidden),
            ]
          : [];
      json(res, 200, listOf(items, "1"));
    };
    await api.start();
    t.after(() => api.close());

    const serving = await testCert("metrics-server", { ip: ["127.0.0.1"] });
    const server = new MetricsServer({
      kube: new KubeClient({ server: api.url, insecureSkipTLSVerify: false }),
      auth: allowAll,
      scraper: {
        addressTypes: ["InternalIP"],
        port: 1,
        useNodeStatusPort: true,
        scheme: "https",
        requestTimeoutMs: 1000,
        endpoint: "resource",
        ca: Buffer.from(kubeletCert.certPem),
        inlineMaxNodes: mode === "worker" ? 0 : undefined,
      },
      nodeSelector: parseLabelSelector(""),
      resolutionMs: 2000,
      swapUsage: false,
      listener: {
        bindAddress: "127.0.0.1",
        port: 0,
        cert: Buffer.from(serving.certPem),
        key: Buffer.from(serving.keyPem),
      },
      version: {},
    });
    t.after(() => server.stop());
    await server.run();

    const book = server.scrapeStatus;
    await poll("a report of every node", async () =>
      ["healthy", "hanging", "forbidden"].every((n) => book.status(n) !== undefined) ? true : undefined,
    );
    const ok = book.status("healthy");
    assert.equal(ok?.latest.outcome, "Succeeded");
    assert.equal(ok?.latest.pods, 1);
    assert.equal(ok?.latest.containers, 1);
    assert.equal(ok?.latest.nodePoint, true);
    assert.equal(ok?.latest.endpoint, "resource");
    assert.equal(ok?.consecutiveFailures, 0);
    assert.equal(ok?.lastSuccessMs, ok?.latest.startMs);

    const hung = book.status("hanging");
    assert.equal(hung?.latest.outcome, "Failed");
    assert.equal(hung?.latest.error?.kind, "Timeout");
    assert.ok((hung?.consecutiveFailures ?? 0) >= 1);
    assert.equal(typeof hung?.failingSinceMs, "number");
    assert.equal(hung?.lastSuccessMs, undefined);

    const denied = book.status("forbidden");
    assert.equal(denied?.latest.outcome, "Failed");
    assert.equal(denied?.latest.error?.kind, "Forbidden");
    assert.equal(denied?.latest.error?.httpStatus, 403);

    // Failures count up tick by tick; the tick's start and duration are reachable.
    await poll("a second failure of the hanging node", async () =>
      (book.status("hanging")?.consecutiveFailures ?? 0) >= 2 ? true : undefined,
    );
    assert.equal(book.status("hanging")?.failingSinceMs, hung?.failingSinceMs);
    assert.equal(typeof server.tickLastStartMs, "number");
    assert.equal(typeof server.tickLastDurationMs, "number");
  });
}
