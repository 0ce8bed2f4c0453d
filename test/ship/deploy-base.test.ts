// The kustomize base (with the simulator's test component) deployed onto a --bare simulated cluster
// from the image: RBAC, probes and args exactly as shipped, the diagnostics group included. Then what a broken manifest does: a
// wrong readiness path keeps the new pod from ever becoming ready while the old one keeps serving, and
// a ClusterRole without nodes/metrics makes every scrape fail with the kubelet's RBAC refusal.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  metricsServerLogs,
  pods,
  startBareCluster,
  toYaml,
  waitApiServiceAvailable,
  waitAvailable,
  waitTopListsEverything,
} from "../support/deployed.ts";
import { ensureImage, requireTool } from "../support/image.ts";
import { kubectlPath } from "../support/kubectl.ts";
import { only, parseObjects, renderKustomize } from "../support/manifests.ts";
import { poll } from "../support/poll.ts";

test("the kustomize base runs on the simulated cluster; broken RBAC and probes show", async (t) => {
  const kubectl = kubectlPath(t, 33);
  if (!kubectl || !requireTool(t, "umoci", "umoci")) return;
  const image = await ensureImage(t);
  if (!image) return;
  const c = await startBareCluster(t, kubectl, image, ["--nodes", "3", "--pods-per-node", "3"]);
  const shipped = await renderKustomize("overlays/test");
  await c.apply(shipped);
  await waitAvailable(c, 1);
  await waitApiServiceAvailable(c);
  const top = await waitTopListsEverything(c);
  assert.match(top.pods, /kube-system\s+metrics-server-/, "the deployed pod reports its own usage");

  await t.test(
    "the diagnostics group as shipped: nodescrapes for whoever may view, 403 for others",
    async () => {
      const states = await poll("every node Scraped or Excluded", async () => {
        const r = await c.kubectl(["get", "nodescrapes", "-o", "jsonpath={.items[*].status.state}"]);
        if (r.code !== 0) throw new Error(r.stderr);
        const s = r.stdout.split(" ");
        return s.length === 3 && s.every((x) => x === "Scraped" || x === "Excluded") ? s : undefined;
      });
      assert.ok(states.includes("Scraped"));
      // Named after the replica's host name (the simulator's runtime keeps the machine's).
      const name = await c.kubectlOk(["get", "serverstatuses", "-o", "jsonpath={.items[0].metadata.name}"]);
      assert.ok(name !== "", "the ServerStatus has a name");
      const one = JSON.parse(await c.kubectlOk(["get", "serverstatus", name, "-o", "json"]));
      assert.equal(one.status.nodes.total, 3);
      const viewer = await c.kubectl(["--context", "viewer", "get", "nodescrapes"]);
      assert.equal(viewer.code, 1);
      assert.match(
        viewer.stderr,
        /nodescrapes\.diagnostics\.metrics-server\.x-k8s\.io is forbidden: User "viewer"/,
      );
    },
  );

  await t.test("a wrong readiness path: the new pod never becomes ready, the old one serves", async () => {
    const objects = parseObjects(shipped);
    const deployment = only(objects, "Deployment", "metrics-server");
    const container = deployment.spec.template.spec.containers[0];
    container.readinessProbe.httpGet.path = "/no-such-path";
    // Probe at once and often, so "never ready" is observed over many failed probes.
    container.readinessProbe.initialDelaySeconds = 0;
    container.readinessProbe.periodSeconds = 2;
    const before = (await pods(c, "k8s-app=metrics-server")).map((p) => p.name);
    await c.apply(toYaml([deployment]));
    const fresh = await poll("the new pod running", async () => {
      const p = (await pods(c, "k8s-app=metrics-server")).find((x) => !before.includes(x.name));
      return p?.phase === "Running" ? p : undefined;
    });
    // 15 s = 7 probes at 2 s, each failing; the readiness threshold is 1 success.
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = (await pods(c, "k8s-app=metrics-server")).find((x) => x.name === fresh.name);
      assert.equal(
        now?.ready,
        false,
        `the pod with a wrong probe path became ready\n${await metricsServerLogs(c)}`,
      );
    }
    const old = (await pods(c, "k8s-app=metrics-server")).filter((p) => before.includes(p.name));
    assert.equal(old.length, 1, "maxUnavailable 0 keeps the old pod while the new one is not ready");
    assert.equal(old[0]?.ready, true);
    const r = await c.kubectl(["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]);
    assert.equal(r.code, 0, `the API is still served by the old pod: ${r.stderr}`);
  });

  await t.test("a ClusterRole without nodes/metrics: scrapes fail with the RBAC message", async () => {
    const objects = parseObjects(shipped);
    const role = only(objects, "ClusterRole", "system:metrics-server");
    const rules = role.rules as { resources?: string[] }[];
    const kept = rules
      .map((r) => ({ ...r, resources: r.resources?.filter((x) => x !== "nodes/metrics") }))
      .filter((r) => r.resources === undefined || r.resources.length > 0);
    assert.notDeepEqual(kept, rules, "the shipped role grants nodes/metrics");
    await c.apply(toYaml([{ ...role, rules: kept }]));
    // The pod that serves (the one with the wrong probe path never became ready).
    const pod = (await pods(c, "k8s-app=metrics-server")).find((p) => p.ready);
    assert.ok(pod);
    const line = await poll(
      "a scrape refused by the kubelet's authorization",
      async () => {
        const log = c.containerLog("kube-system", pod.name, "metrics-server");
        const hit = log
          .split("\n")
          .find((l) => l.includes("Failed to scrape node") && /forbidden/i.test(l) && l.includes("metrics"));
        if (!hit) throw new Error(`no such line yet:\n${log.slice(-3000)}`);
        return hit;
      },
      90_000,
    );
    assert.match(line, /403 Forbidden/);
    assert.match(line, /nodes\/metrics/);
    await c.apply(toYaml([role]));
  });
});
