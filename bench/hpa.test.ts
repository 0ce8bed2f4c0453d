import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBenchArgs, UsageError } from "./args.ts";
import { chooseHpaTarget, hpaPodListPath, type PodMeta, simHpaArgs } from "./hpa.ts";

const pod = (namespace: string, name: string, labels?: Record<string, string>): PodMeta => ({
  metadata: { namespace, name, ...(labels ? { labels } : {}) },
});

test("--hpa-replicas: 20 by default, 0 allowed, anything else but a whole number rejected", () => {
  assert.equal(parseBenchArgs([], "/out").hpaReplicas, 20);
  assert.equal(parseBenchArgs(["--hpa-replicas", "0"], "/out").hpaReplicas, 0);
  assert.equal(parseBenchArgs(["--hpa-replicas=35"], "/out").hpaReplicas, 35);
  for (const bad of ["-1", "2.5", "x", "", "100001"]) {
    assert.throws(
      () => parseBenchArgs(["--hpa-replicas", bad], "/out"),
      (err: unknown) => err instanceof UsageError && /--hpa-replicas/.test(err.message),
      `value ${JSON.stringify(bad)}`,
    );
  }
  assert.throws(() => parseBenchArgs(["--hpa-replicas"], "/out"), /needs an argument/);
});

test("the simulator gets --hpa-replicas only when N > 0", () => {
  assert.deepEqual(simHpaArgs(0), []);
  assert.deepEqual(simHpaArgs(20), ["--hpa-replicas", "20"]);
});

test("with N > 0 the bench lists only the target's pods, by label selector", () => {
  assert.equal(hpaPodListPath(5), "/api/v1/namespaces/default/pods?labelSelector=app%3Dhpa-target");
  assert.equal(hpaPodListPath(0), "/api/v1/pods?limit=500");
});

test("with N > 0: namespace default, app=hpa-target, and the first such pod by name", () => {
  const items = [
    pod("default", "api-1", { app: "api" }),
    pod("default", "hpa-target-b", { app: "hpa-target" }),
    pod("other", "hpa-target-a", { app: "hpa-target" }), // wrong namespace: not the target
    pod("default", "hpa-target-a", { app: "hpa-target" }),
  ];
  assert.deepEqual(chooseHpaTarget(3, items), {
    namespace: "default",
    selector: "app=hpa-target",
    pod: "hpa-target-a",
    matchedPods: 2,
  });
});

test("with N > 0 but no such pods (a simulator without the flag's pods), the error says what to do", () => {
  assert.throws(
    () => chooseHpaTarget(20, [pod("default", "api-1", { app: "api" })]),
    /no pods labelled app=hpa-target in namespace default.*--hpa-replicas 0/,
  );
});

test("with N = 0: the app label of the first workload pod, as before", () => {
  const items = [
    pod("kube-system", "unlabelled"),
    pod("shop", "web-7", { app: "web", tier: "front" }),
    pod("default", "api-1", { app: "api" }),
  ];
  assert.deepEqual(chooseHpaTarget(0, items), {
    namespace: "shop",
    selector: "app=web",
    pod: "web-7",
    matchedPods: 0,
  });
  // No app label anywhere: the first label of the first pod, or no selector at all.
  assert.equal(chooseHpaTarget(0, [pod("a", "p", { tier: "db" })]).selector, "tier=db");
  assert.equal(chooseHpaTarget(0, [pod("a", "p")]).selector, "");
  assert.throws(() => chooseHpaTarget(0, []), /no pods/);
});
