// The Helm chart, rendered with `helm template` and applied with kubectl onto the simulated cluster
// from the image, with the chart's own defaults (the APIService verified with the CA the server
// publishes) plus only what the simulator needs (the loaded image, never pulled).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  startBareCluster,
  waitApiServiceAvailable,
  waitAvailable,
  waitTopListsEverything,
} from "../support/deployed.ts";
import { ensureImage, requireTool } from "../support/image.ts";
import { kubectlPath } from "../support/kubectl.ts";
import { helmBin, renderChart } from "../support/manifests.ts";

test("the Helm chart's defaults run on the simulated cluster", async (t) => {
  const kubectl = kubectlPath(t, 33);
  if (!kubectl || !requireTool(t, "umoci", "umoci")) return;
  const helm = await helmBin(t);
  if (!helm) return;
  const image = await ensureImage(t);
  if (!image) return;
  const c = await startBareCluster(t, kubectl, image, ["--nodes", "3", "--pods-per-node", "2"]);
  const rendered = await renderChart([], { "image.pullPolicy": "Never" });
  await c.apply(rendered);
  await waitAvailable(c, 1);
  await waitApiServiceAvailable(c);
  const apiservice = JSON.parse(
    await c.kubectlOk(["get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "json"]),
  );
  await waitTopListsEverything(c);
  assert.notEqual(apiservice.spec.insecureSkipTLSVerify, true, "the chart's APIService verifies TLS");
  assert.ok(apiservice.spec.caBundle, "with a CA bundle");
});
