import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { nodeScrape, simpleBatch } from "../../test/support/node-scrapes.ts";
import { registerStorageMetrics } from "./monitoring.ts";
import { TwoPointStore } from "./store.ts";

function gaugeValue(text: string, type: string): number | undefined {
  const m = new RegExp(`^metrics_server_storage_points\\{type="${type}"\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

test("metrics_server_storage_points counts nodes and containers that have a prev", async () => {
  const registry = new Registry();
  registerStorageMetrics(registry);
  registerStorageMetrics(registry); // idempotent: the server may call it once per registry only, but be safe

  const s = new TwoPointStore({ resolutionMs: 60_000 });
  const batch = (tsS: number) => [
    ...simpleBatch({ tsS, cpu: tsS }),
    nodeScrape({
      node: "node2",
      tsS,
      cpu: tsS,
      pods: [
        {
          namespace: "ns1",
          name: "pod2",
          containers: [
            { name: "a", tsS, cpu: tsS },
            { name: "b", tsS, cpu: tsS },
          ],
        },
      ],
    }),
  ];
  s.store(batch(10));
  let text = await registry.metrics();
  assert.match(text, /^# HELP metrics_server_storage_points \[ALPHA\] Number of metrics points stored\.$/m);
  assert.match(text, /^# TYPE metrics_server_storage_points gauge$/m);
  assert.equal(gaugeValue(text, "node"), 0);
  assert.equal(gaugeValue(text, "container"), 0);

  s.store(batch(20));
  text = await registry.metrics();
  assert.equal(gaugeValue(text, "node"), 2);
  assert.equal(gaugeValue(text, "container"), 3);

  s.store(simpleBatch({ tsS: 30, cpu: 30 }));
  text = await registry.metrics();
  assert.equal(gaugeValue(text, "node"), 1);
  assert.equal(gaugeValue(text, "container"), 1);
});
