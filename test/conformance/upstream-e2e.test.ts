// Upstream's e2e test (kubernetes-sigs/metrics-server test/e2e_test.go), every assertion ported
// to the simulated cluster: sim/scenarios/e2e.yaml reproduces its kind cluster (a worker labelled
// metrics-server-skip=true) and its consumer pods; the server runs with the test overlay's
// --node-selector. Requests go through the aggregator as admin, as the Go test's clientset does.
import assert from "node:assert/strict";
import https from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import { apiRequest, readAdminCredentials } from "../../scripts/cluster.ts";
import { parseQuantity } from "../../src/go/index.ts";
import { type MetricsItem, metricsItems, startCluster } from "../support/cluster.ts";
import { root } from "../support/paths.ts";
import { poll } from "../support/poll.ts";

const SKIP_LABEL = "metrics-server-skip";

/**
 * A GET straight to the metrics-server with the admin client certificate, TLS verification off,
 * as upstream's e2e test reads /readyz, /livez and /metrics.
 */
function direct(
  address: string,
  path: string,
  creds: ReturnType<typeof readAdminCredentials>,
): Promise<{ status: number; body: string }> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    address.slice(address.lastIndexOf(":") + 1),
  ];
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port: Number(port),
        path,
        method: "GET",
        cert: creds.cert,
        key: creds.key,
        rejectUnauthorized: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("upstream e2e suite (test/e2e_test.go) against the simulated cluster", async (t) => {
  const c = await startCluster(t, {
    simArgs: ["--scenario", join(root, "sim/scenarios/e2e.yaml")],
    resolution: "5s",
    serverArgs: [`--node-selector=${SKIP_LABEL}!=true`],
  });
  const creds = readAdminCredentials(c.kubeconfig);
  const nodes = await apiRequest(creds, "GET", "/api/v1/nodes");
  const nodeItems = (
    JSON.parse(nodes.body) as { items: { metadata: { name: string; labels?: Record<string, string> } }[] }
  ).items;
  const skipped = nodeItems
    .filter((n) => n.metadata.labels?.[SKIP_LABEL] === "true")
    .map((n) => n.metadata.name);
  const scraped = nodeItems
    .filter((n) => n.metadata.labels?.[SKIP_LABEL] !== "true")
    .map((n) => n.metadata.name);
  assert.ok(
    skipped.length === 1 && scraped.length === 2,
    "the kind cluster's shape: two scraped nodes, one skipped",
  );

  const getPod = (name: string) =>
    poll(
      `pod metrics for default/${name}`,
      async () => {
        const r = await apiRequest(
          creds,
          "GET",
          `/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/${name}`,
        );
        return r.status === 200 ? (JSON.parse(r.body) as MetricsItem) : undefined;
      },
      60_000 * 2,
    );
  const milli = (q: string) => parseQuantity(q, -3);
  const mib = (q: string) => Math.floor(parseQuantity(q) / 1024 / 1024);

  await t.test("1. exposes metrics from at least one pod in cluster", async () => {
    const items = await poll("a pod with metrics", async () => {
      const i = await metricsItems(c.kubeconfig, "pods");
      return i && i.length > 0 ? i : undefined;
    });
    assert.ok(items.length >= 1);
  });

  await t.test("2. exposes metrics about all nodes in cluster", async () => {
    for (const name of scraped) {
      await poll(`node metrics for ${name}`, async () => {
        const r = await apiRequest(creds, "GET", `/apis/metrics.k8s.io/v1beta1/nodes/${name}`);
        return r.status === 200 ? true : undefined;
      });
    }
  });

  await t.test("3. returns accurate CPU metric", async () => {
    const pod = await getPod("cpu-consumer");
    assert.equal(pod.containers?.length, 1);
    const cpu = milli(pod.containers[0]!.usage.cpu);
    assert.ok(Math.abs(cpu - 50) <= 10, `cpu ${cpu}m is 50m ± 10m`);
  });

  await t.test("4. returns accurate memory metric", async () => {
    const pod = await getPod("memory-consumer");
    assert.equal(pod.containers?.length, 1);
    const mem = mib(pod.containers[0]!.usage.memory);
    assert.ok(Math.abs(mem - 50) <= 5, `memory ${mem}Mi is 50Mi ± 5Mi`);
  });

  await t.test("5. returns metric for pod with init container", async () => {
    const pod = await getPod("cmwithinitcontainer-consumer");
    assert.equal(pod.containers?.length, 1, "the terminated init container is not reported");
    const [only] = pod.containers;
    assert.equal(only!.name, "cmwithinitcontainer-consumer");
    assert.ok(milli(only!.usage.cpu) > 0 && parseQuantity(only!.usage.memory) > 0, "non-zero usage");
  });

  await t.test("6. returns metric for pod with sideCar container", async () => {
    const pod = await getPod("sidecarpod-consumer");
    assert.equal(pod.containers?.length, 2);
    for (const ct of pod.containers) {
      assert.ok(milli(ct.usage.cpu) > 0 && parseQuantity(ct.usage.memory) > 0, `${ct.name} non-zero`);
    }
  });

  await t.test("7. returns metric for pod with init sidecar container", async () => {
    const pod = await getPod("initsidecarpod-consumer");
    assert.equal(pod.containers?.length, 2, "the running sidecar init container is reported");
  });

  await t.test("8. passes readyz probe", async () => {
    const r = await poll("readyz passing", async () => {
      const res = await direct(c.serverAddress, "/readyz?verbose&", creds);
      return res.status === 200 ? res : undefined;
    });
    assert.equal(
      r.body,
      "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n" +
        "[+]poststarthook/storage-object-count-tracker-hook ok\n[+]metric-storage-ready ok\n" +
        "[+]metric-informer-sync ok\n[+]metadata-informer-sync ok\n[+]shutdown ok\nreadyz check passed\n",
    );
  });

  await t.test("9. passes livez probe", async () => {
    const r = await direct(c.serverAddress, "/livez?verbose&", creds);
    assert.equal(r.status, 200);
    assert.equal(
      r.body,
      "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n" +
        "[+]poststarthook/storage-object-count-tracker-hook ok\n[+]metric-collection-timely ok\n" +
        "[+]metadata-informer-sync ok\nlivez check passed\n",
    );
  });

  await t.test("10. exposes prometheus metrics", async () => {
    const r = await direct(c.serverAddress, "/metrics", creds);
    assert.equal(r.status, 200);
    const families = new Set<string>();
    for (const line of r.body.split("\n")) {
      const m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (m) families.add(m[1]!);
      else if (line !== "" && !line.startsWith("#")) {
        assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+( \d+)?$/, `a sample line: ${line}`);
      }
    }
    assert.deepEqual([...families].filter((f) => f.startsWith("metrics_server_")).sort(), [
      "metrics_server_api_metric_freshness_seconds",
      "metrics_server_kubelet_last_request_time_seconds",
      "metrics_server_kubelet_request_duration_seconds",
      "metrics_server_kubelet_request_total",
      "metrics_server_manager_tick_duration_seconds",
      "metrics_server_storage_points",
    ]);
  });

  await t.test(
    "11. skip scrape metrics about nodes with label node-selector filtered in cluster",
    async () => {
      for (const name of skipped) {
        const r = await apiRequest(creds, "GET", `/apis/metrics.k8s.io/v1beta1/nodes/${name}`);
        assert.equal(r.status, 404, r.body);
      }
    },
  );
});

test("a cluster with no Running pods becomes ready once nodes have metrics (upstream never does)", async (t) => {
  const c = await startCluster(t, { simArgs: ["--nodes", "2", "--pods-per-node", "0"], resolution: "4s" });
  const creds = readAdminCredentials(c.kubeconfig);
  const r = await poll("readyz passing without pods", async () => {
    const res = await direct(c.serverAddress, "/readyz", creds);
    return res.status === 200 ? res : undefined;
  });
  assert.equal(r.body, "ok");
  assert.deepEqual(await metricsItems(c.kubeconfig, "pods"), []);
});
