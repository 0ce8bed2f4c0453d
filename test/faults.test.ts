// A broken kubelet affects only its node: one log line naming the node and the cause, every other
// node keeps its metrics, and the process keeps running; every kubelet fault kind of the simulator
// (test/support/faults.ts) is run against the real server. A bad flag exits 1 before anything listens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { apiRequest, readAdminCredentials } from "../scripts/cluster.ts";
import { parseGoDuration } from "../src/go/index.ts";
import { parseQuantity } from "./support/clients.ts";
import { metricsItems, startCluster, waitForNodes } from "./support/cluster.ts";
import { getFaults, KUBELET_FAULT_KINDS, setFault } from "./support/faults.ts";
import { root } from "./support/paths.ts";
import { poll } from "./support/poll.ts";
import { run } from "./support/processes.ts";

test("kubelets that hang, answer 500 or send garbage lose only their own node", async (t) => {
  const faults = { "node-0": "hang", "node-1": "http500", "node-2": "garbage" } as const;
  const c = await startCluster(t, {
    simArgs: [
      "--nodes",
      "5",
      "--pods-per-node",
      "3",
      "--seed",
      "5",
      ...Object.entries(faults).flatMap(([n, f]) => ["--fault", `${n}=${f}`]),
    ],
    resolution: "4s",
    serverArgs: ["--v=1"],
  });
  const creds = readAdminCredentials(c.kubeconfig);
  const healthy = c.truth.nodes.map((n) => n.name).filter((n) => !(n in faults));
  assert.ok(healthy.length >= 2, "the scenario keeps healthy nodes");

  // Every healthy node gets metrics; the faulty ones never do.
  const list = await poll("node metrics for every healthy node", async () => {
    const r = await apiRequest(creds, "GET", "/apis/metrics.k8s.io/v1beta1/nodes");
    if (r.status !== 200) return undefined;
    const names = (JSON.parse(r.body) as { items: { metadata: { name: string } }[] }).items.map(
      (i) => i.metadata.name,
    );
    return healthy.every((n) => names.includes(n)) ? names : undefined;
  });
  for (const n of Object.keys(faults)) assert.ok(!list.includes(n), `${n} must have no metrics`);

  // Each faulty node is reported with its cause, one line per failed scrape.
  const expectations: Record<string, RegExp> = {
    "node-0": /timeout/,
    "node-1": /500 Internal Server Error/,
    "node-2": /failed parsing metrics/,
  };
  await poll(
    "an error line for every faulty node",
    async () => {
      const lines = c.server.lines().filter((l) => l.startsWith("E") && l.includes("Failed to scrape node"));
      return Object.keys(faults).every((n) => lines.some((l) => l.includes(`node="${n}"`)))
        ? true
        : undefined;
    },
    60_000,
  );
  const errorLines = c.server.lines().filter((l) => l.startsWith("E"));
  for (const line of errorLines) {
    const node = /node="([^"]+)"/.exec(line)?.[1];
    assert.ok(node && node in faults, `only faulty nodes are logged as errors: ${line}`);
    assert.match(line, expectations[node]!, line);
  }
  // Scrapes of the faulty nodes repeat every tick, but one failure is one line.
  const perNodeTick = new Map<string, number>();
  for (const line of errorLines) {
    const node = /node="([^"]+)"/.exec(line)![1]!;
    perNodeTick.set(node, (perNodeTick.get(node) ?? 0) + 1);
  }
  // Ticks finished so far, plus the one that may be in progress.
  const ticks = c.server.lines().filter((l) => l.includes("Scrape finished")).length + 1;
  for (const [node, n] of perNodeTick) assert.ok(n <= ticks, `${node}: ${n} error lines in ${ticks} ticks`);

  assert.equal(c.server.child.exitCode, null, "the metrics-server keeps running");
});

test("a bad flag exits 1 with a clear message before anything listens", async () => {
  const r = await run(process.execPath, [
    `${root}/src/cmd/metrics-server/main.ts`,
    "--metric-resolution=abc",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid argument "abc" for "--metric-resolution" flag/);
  const u = await run(process.execPath, [`${root}/src/cmd/metrics-server/main.ts`, "--no-such-flag"]);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /unknown flag: --no-such-flag/);
  const combo = await run(process.execPath, [
    `${root}/src/cmd/metrics-server/main.ts`,
    "--kubelet-insecure-tls",
    "--kubelet-certificate-authority=/tmp/ca.crt",
  ]);
  assert.equal(combo.code, 1);
  assert.ok(combo.stderr.length > 0);
});

// ---------------------------------------------------------------------------------------------
// The matrix: one node per kubelet fault kind plus healthy nodes, faults set live through
// /sim/faults, then cleared. Each rule of the issue is a subtest over what was observed, so one
// broken rule does not hide the others.

const RESOLUTION_S = 5;
const HEALTHY_NODES = 3;

interface Observed {
  crashed: string[];
  healthyWrong: string[];
  wrongValue: string[];
  notExcluded: string[];
  missing: string[];
  noLogLine: string[];
  logFlood: string[];
  notBack: string[];
}

test("KUBELET_FAULT_KINDS has every kind the simulator's --help lists, and so does the demo's", async () => {
  const help = await run(process.execPath, [`${root}/sim/main.ts`, "--help"]);
  const section = help.stdout.split("Kubelet fault kinds")[1]?.split("\n\n")[0] ?? "";
  const listed = [...section.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]);
  assert.ok(listed.length > 20, section);
  const kinds = new Set(KUBELET_FAULT_KINDS.map((k) => k.spec.split(":")[0]));
  assert.deepEqual([...kinds].sort(), [...new Set(listed)].sort());
  // The demo's --help shows the same list and the endpoint's body.
  const demo = await run(process.execPath, [`${root}/scripts/demo.ts`, "--help"]);
  assert.equal(demo.code, 0);
  assert.ok(demo.stdout.includes(section), "the demo lists every kind");
  assert.match(demo.stdout, /POST \{"node": "<name>", "fault": "<SPEC>" \| null\}/);
});

test("every kubelet fault: still serving, healthy nodes exact, faulty ones excluded, back after clearing", async (t) => {
  const kinds = KUBELET_FAULT_KINDS;
  const c = await startCluster(t, {
    simArgs: ["--nodes", String(kinds.length + HEALTHY_NODES), "--pods-per-node", "2", "--seed", "15"],
    resolution: `${RESOLUTION_S}s`,
    serverArgs: ["--v=1"],
  });
  const sim = { kubeconfig: c.kubeconfig };
  const nodeNames = c.truth.nodes.map((n) => n.name);
  const faultOf = new Map(kinds.map((k, i) => [nodeNames[i]!, k]));
  const healthy = nodeNames.slice(kinds.length);
  const truthNode = new Map(c.truth.nodes.map((n) => [n.name, n]));
  const running = c.truth.pods.filter((p) => p.phase === "Running" && p.containers.length > 0);
  const truthPod = new Map(running.map((p) => [`${p.namespace}/${p.name}`, p]));
  const podsOn = (node: string) =>
    running
      .filter((p) => p.node === node)
      .map((p) => `${p.namespace}/${p.name}`)
      .sort((a, b) => {
        const [an = "", ap = ""] = a.split("/");
        const [bn = "", bp = ""] = b.split("/");
        return an !== bn ? (an < bn ? -1 : 1) : ap < bp ? -1 : ap > bp ? 1 : 0;
      });
  const seen: Observed = {
    crashed: [],
    healthyWrong: [],
    wrongValue: [],
    notExcluded: [],
    missing: [],
    noLogLine: [],
    logFlood: [],
    notBack: [],
  };
  // Without timestamps the server's clock stands in for the kubelet's: latency skews the rate a bit.
  const toleranceOf = (node: string) => (faultOf.get(node)?.expect === "approximate" ? 0.2 : 0.01);
  const ticks = () => c.server.lines().filter((l) => l.includes('"Scrape finished"')).length;

  /** Lists node and pod metrics once, noting every served value that is not the truth. */
  async function observe(): Promise<{ nodes: Set<string>; pods: Set<string> }> {
    if (c.server.child.exitCode !== null) seen.crashed.push(`exited ${c.server.child.exitCode}`);
    const nodes = await metricsItems(c.kubeconfig, "nodes");
    const pods = await metricsItems(c.kubeconfig, "pods");
    if (!nodes || !pods) {
      seen.crashed.push("a metrics list did not answer 200");
      return { nodes: new Set(), pods: new Set() };
    }
    for (const item of nodes) {
      const name = item.metadata.name;
      const want = truthNode.get(name);
      const problem = wrongUsage(item, want?.cpuNanocores, want?.memoryBytes, toleranceOf(name));
      if (problem) (faultOf.has(name) ? seen.wrongValue : seen.healthyWrong).push(`node ${name}: ${problem}`);
    }
    for (const item of pods) {
      const key = `${item.metadata.namespace}/${item.metadata.name}`;
      const want = truthPod.get(key);
      const node = want?.node ?? "?";
      for (const container of item.containers ?? []) {
        const truth = want?.containers.find((x) => x.name === container.name);
        const problem = wrongUsage(
          { ...item, usage: container.usage },
          truth?.cpuNanocores,
          truth?.memoryBytes,
          toleranceOf(node),
        );
        if (problem) {
          (faultOf.has(node) ? seen.wrongValue : seen.healthyWrong).push(
            `pod ${key}/${container.name} on ${node}: ${problem}`,
          );
        }
      }
    }
    return {
      nodes: new Set(nodes.map((i) => i.metadata.name)),
      pods: new Set(pods.map((i) => `${i.metadata.namespace}/${i.metadata.name}`)),
    };
  }

  // Healthy first: every node has metrics.
  await waitForNodes(c, nodeNames, "every node before the faults");
  const logsBefore = c.server.lines().length;
  for (const [node, k] of faultOf) await setFault(sim, node, k.spec);
  const faults = await getFaults(sim);
  assert.equal(Object.keys(faults.nodes).length, kinds.length);
  const setAt = ticks();

  // Watch for six ticks: wrong values are never allowed; exclusion is judged from the third tick on,
  // when every node has been scraped under its fault at least twice.
  let last = { nodes: new Set<string>(), pods: new Set<string>() };
  await poll(
    "six ticks under the faults",
    async () => {
      last = await observe();
      const done = ticks() - setAt;
      if (done >= 3) {
        for (const name of healthy)
          if (!last.nodes.has(name)) seen.missing.push(`healthy node ${name} at tick ${done}`);
        for (const [node, k] of faultOf) {
          const pods = podsOn(node);
          const excluded =
            k.expect === "no-node"
              ? [node, ...pods]
              : k.expect === "no-targets"
                ? [node, ...pods.slice(0, 1)]
                : [];
          for (const x of excluded) {
            if (last.nodes.has(x) || last.pods.has(x))
              seen.notExcluded.push(`${k.kind}: ${x} at tick ${done}`);
          }
          if (k.expect === "no-targets") {
            for (const p of pods.slice(1))
              if (!last.pods.has(p)) seen.missing.push(`${k.kind}: healthy pod ${p}`);
          }
        }
      }
      return done >= 6 ? true : undefined;
    },
    240_000,
    500,
  );
  for (const [node, k] of faultOf) {
    if ((k.expect === "correct" || k.expect === "approximate") && !last.nodes.has(node))
      seen.missing.push(`${k.kind}: node ${node} at the end`);
  }
  // One log line naming the node (and its cause) for a node that loses metrics, not one per scrape.
  const underFaults = ticks() - setAt;
  const lines = c.server.lines().slice(logsBefore);
  for (const [node, k] of faultOf) {
    if (k.expect !== "no-node" && k.expect !== "no-targets") continue;
    const named = lines.filter((l) => /^[EW]/.test(l) && l.includes(`node="${node}"`));
    if (named.length === 0) seen.noLogLine.push(`${k.kind} (${node})`);
    if (named.length >= underFaults)
      seen.logFlood.push(`${k.kind} (${node}): ${named.length} lines in ${underFaults} ticks`);
  }

  // Clear every fault: each node is back within two resolutions (two ticks, plus the one under way).
  for (const node of faultOf.keys()) await setFault(sim, node, null);
  assert.deepEqual((await getFaults(sim)).nodes, {});
  const clearedAt = ticks();
  await poll(
    "every node back after clearing",
    async () => {
      const now = await observe();
      const missing = nodeNames.filter((n) => !now.nodes.has(n));
      if (missing.length === 0) return true;
      if (ticks() - clearedAt > 3) {
        seen.notBack.push(
          `after ${ticks() - clearedAt} ticks: ${missing.map((n) => faultOf.get(n)?.kind ?? n).join(", ")}`,
        );
        return true;
      }
      return undefined;
    },
    240_000,
    500,
  );
  await observe();

  const none = (list: string[]) => assert.deepEqual([...new Set(list)], []);
  await t.test("the process keeps running and serving", () => none(seen.crashed));
  await t.test("healthy nodes and their pods are served, with the truth", () => {
    none(seen.healthyWrong);
    none(seen.missing.filter((m) => m.startsWith("healthy node")));
  });
  // The server's value validation, duplicate-series handling and rate-limited logging are not in this
  // branch: these four fail today (absurd-cpu, absurd-memory, duplicate-series, future- and
  // backwards-timestamp served; value faults not logged; one line per tick). Drop the todo once
  // they land.
  await t.test("no wrong value (CPU, memory, window, timestamp) is ever served", () => none(seen.wrongValue));
  await t.test("a faulty node (or its broken pod) is excluded", () => none(seen.notExcluded));
  await t.test("what a fault does not break stays served", () =>
    none(seen.missing.filter((m) => !m.startsWith("healthy node"))),
  );
  await t.test("each excluded node has a log line naming it", () => none(seen.noLogLine));
  await t.test("a failing node's log lines are rate-limited", () => none(seen.logFlood));
  await t.test("after clearing, every node is back within two resolutions", () => none(seen.notBack));
});

/** Why a served usage is wrong (undefined: it is right): the value, the window or the timestamp. */
function wrongUsage(
  item: { timestamp: string; window: string; usage?: { cpu: string; memory: string } },
  cpuNanocores: number | undefined,
  memoryBytes: number | undefined,
  relativeTolerance: number,
): string | undefined {
  if (cpuNanocores === undefined || memoryBytes === undefined) return "not in the truth";
  if (!item.usage) return "no usage";
  const cpu = parseQuantity(item.usage.cpu) * 1e9;
  const memory = parseQuantity(item.usage.memory);
  if (!Number.isFinite(cpu) || Math.abs(cpu - cpuNanocores) > 1e6 + cpuNanocores * relativeTolerance) {
    return `cpu ${item.usage.cpu}, truth ${cpuNanocores}n`;
  }
  if (!Number.isFinite(memory) || Math.abs(memory - memoryBytes) > 2 ** 20) {
    return `memory ${item.usage.memory}, truth ${memoryBytes}`;
  }
  const windowMs = parseGoDuration(item.window);
  if (!(windowMs > 0 && windowMs <= 3 * RESOLUTION_S * 1000)) return `window ${item.window}`;
  const ts = Date.parse(item.timestamp);
  if (!(ts <= Date.now() + 5000 && ts > Date.now() - 10 * RESOLUTION_S * 1000)) {
    return `timestamp ${item.timestamp}`;
  }
  return undefined;
}
