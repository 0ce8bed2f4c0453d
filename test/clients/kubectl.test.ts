// Real kubectl 1.27 and 1.33 against the metrics-server behind the simulator's aggregator, on the
// cluster of clients.yaml: every `kubectl top` form a user types, what it prints (columns, sort
// orders, the --sum row, the --containers layout, percentages) compared with the simulator's truth,
// the raw objects behind it, and the error messages kubectl prints for the cases this cluster has
// (unknown pod and node, a pod and a node without metrics, Pending pods young and old, no pods).
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import {
  assertNear,
  assertTimestampAndWindow,
  assertUsage,
  BROKEN_NODE,
  type ClientsCluster,
  compareStrings,
  parseQuantity,
  podCpuNanocores,
  podKey,
  podMemoryBytes,
  startClientsCluster,
  truthNode,
  truthPod,
  waitFor,
} from "../support/clients.ts";
import { kubectl, kubectlPath } from "../support/kubectl.ts";

const MiB = 2 ** 20;

interface Table {
  header: string[];
  rows: string[][];
}

/** Splits kubectl's tab-aligned output; no column kubectl prints contains a space. */
function table(stdout: string, headers = true): Table {
  const lines = stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/\s+/));
  return headers ? { header: lines[0] ?? [], rows: lines.slice(1) } : { header: [], rows: lines };
}

/** kubectl prints CPU as MilliValue(), rounded up. */
function milli(cell: string | undefined): number {
  assert.match(cell ?? "", /^\d+m$/, `CPU cell ${JSON.stringify(cell)}`);
  return Number(cell!.slice(0, -1));
}

/** kubectl prints memory as Value() / 2^20, rounded down. */
function mebi(cell: string | undefined): number {
  assert.match(cell ?? "", /^\d+Mi$/, `memory cell ${JSON.stringify(cell)}`);
  return Number(cell!.slice(0, -2));
}

function percent(cell: string | undefined): number {
  assert.match(cell ?? "", /^\d+%$/, `percentage cell ${JSON.stringify(cell)}`);
  return Number(cell!.slice(0, -1));
}

/** Runs kubectl and expects success; returns stdout. */
async function ok(t: TestContext, bin: string, c: ClientsCluster, args: string[]): Promise<string> {
  const r = await kubectl(t, bin, c.kubeconfig, args);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Runs kubectl and expects failure (exit 1); returns stderr. */
async function fails(t: TestContext, bin: string, c: ClientsCluster, args: string[]): Promise<string> {
  const r = await kubectl(t, bin, c.kubeconfig, args);
  assert.equal(r.code, 1, `kubectl ${args.join(" ")} should exit 1; stdout: ${r.stdout} stderr: ${r.stderr}`);
  return r.stderr;
}

/** Waits until `kubectl top node` shows numbers for every scrapeable node. */
function waitForTopNode(t: TestContext, bin: string, c: ClientsCluster): Promise<string> {
  return waitFor("numbers for every scrapeable node in kubectl top node", async () => {
    const r = await kubectl(t, bin, c.kubeconfig, ["top", "node"]);
    if (r.code !== 0) return undefined;
    const rows = table(r.stdout).rows;
    return c.servedNodes.every((n) => rows.some((row) => row[0] === n.name && row[1] !== "<unknown>"))
      ? r.stdout
      : undefined;
  });
}

/** Waits until `kubectl top pod -A` lists every pod the metrics API should serve. */
function waitForTopPods(t: TestContext, bin: string, c: ClientsCluster): Promise<string> {
  return waitFor("every served pod in kubectl top pod -A", async () => {
    const r = await kubectl(t, bin, c.kubeconfig, ["top", "pod", "-A"]);
    if (r.code !== 0) return undefined;
    const keys = new Set(table(r.stdout).rows.map((row) => `${row[0]}/${row[1]}`));
    return c.servedPods.every((p) => keys.has(podKey(p))) ? r.stdout : undefined;
  });
}

/** Checks node rows (NAME CPU CPU% MEMORY MEMORY%) against the truth and the nodes' allocatable. */
function assertNodeRows(
  c: ClientsCluster,
  rows: string[][],
  allocatable: Map<string, { cpu: string; memory: string }>,
) {
  for (const row of rows) {
    const name = row[0]!;
    if (name === BROKEN_NODE) {
      assert.deepEqual(row, [BROKEN_NODE, "<unknown>", "<unknown>", "<unknown>", "<unknown>"]);
      continue;
    }
    const n = truthNode(c, name);
    const alloc = allocatable.get(name);
    assert.ok(alloc, `node ${name} has allocatable resources`);
    const cpuMilli = milli(row[1]);
    assertNear(`${name} cpu (m)`, cpuMilli, n.cpuNanocores / 1e6);
    // CPU% is computed from the same MilliValue kubectl printed, so it is exact.
    assert.equal(
      percent(row[2]),
      Math.trunc((cpuMilli * 100) / (parseQuantity(alloc.cpu) * 1000)),
      `${name} CPU%`,
    );
    assertNear(`${name} memory (Mi)`, mebi(row[3]), n.memoryBytes / MiB);
    assertNear(`${name} memory %`, percent(row[4]), (n.memoryBytes * 100) / parseQuantity(alloc.memory));
  }
}

/** Checks pod rows [..., NAME, CPU, MEMORY] (name at `nameAt`) against the truth. */
function assertPodRow(c: ClientsCluster, namespace: string, row: string[], nameAt: number): void {
  const p = truthPod(c, namespace, row[nameAt]!);
  assertNear(`${podKey(p)} cpu (m)`, milli(row[nameAt + 1]), podCpuNanocores(p) / 1e6);
  assertNear(`${podKey(p)} memory (Mi)`, mebi(row[nameAt + 2]), podMemoryBytes(p) / MiB);
}

test("kubectl 1.27 and 1.33 top and get --raw against the metrics API", async (t) => {
  const k127 = kubectlPath(t, 27);
  const k133 = kubectlPath(t, 33);
  if (!k127 || !k133) return;
  const c = await startClientsCluster(t);
  const versions = [
    ["1.27", k127],
    ["1.33", k133],
  ] as const;

  // First, while the Pending pod in `fresh` is still younger than kubectl's 2 minute grace period.
  await t.test("a namespace whose only pod is younger than 2 min: metrics not available yet", async (t) => {
    if (Date.now() - c.startedMs > 100_000) {
      t.skip("the cluster took over 100 s to start; fresh/starting is too old for this case");
      return;
    }
    for (const [version, bin] of versions) {
      const stderr = await fails(t, bin, c, ["top", "pod", "-n", "fresh"]);
      assert.equal(stderr.trim(), "error: metrics not available yet", `kubectl ${version}`);
    }
  });

  const nodesJson = JSON.parse(await ok(t, k133, c, ["get", "--raw", "/api/v1/nodes"])) as {
    items: { metadata: { name: string }; status: { allocatable: { cpu: string; memory: string } } }[];
  };
  const allocatable = new Map(nodesJson.items.map((n) => [n.metadata.name, n.status.allocatable]));

  for (const [version, bin] of versions) {
    const [cpuPct, memPct] = version === "1.27" ? ["CPU%", "MEMORY%"] : ["CPU(%)", "MEMORY(%)"];

    await t.test(`kubectl ${version} top node`, async (t) => {
      const out = table(await waitForTopNode(t, bin, c));
      assert.deepEqual(out.header, ["NAME", "CPU(cores)", cpuPct, "MEMORY(bytes)", memPct]);
      // Sorted by name; the node without metrics comes last, after every node that has them.
      assert.deepEqual(
        out.rows.map((r) => r[0]),
        [...c.servedNodes.map((n) => n.name), BROKEN_NODE],
      );
      assertNodeRows(c, out.rows, allocatable);
    });

    for (const sortBy of ["cpu", "memory"] as const) {
      await t.test(`kubectl ${version} top node --sort-by=${sortBy}`, async (t) => {
        await waitForTopNode(t, bin, c);
        const out = table(await ok(t, bin, c, ["top", "node", `--sort-by=${sortBy}`]));
        const key = (n: { cpuNanocores: number; memoryBytes: number }) =>
          sortBy === "cpu" ? n.cpuNanocores : n.memoryBytes;
        const want = [...c.servedNodes].sort((a, b) => key(b) - key(a)).map((n) => n.name);
        assert.deepEqual(
          out.rows.map((r) => r[0]),
          [...want, BROKEN_NODE],
        );
        assertNodeRows(c, out.rows, allocatable);
      });
    }

    await t.test(`kubectl ${version} top node --no-headers`, async (t) => {
      await waitForTopNode(t, bin, c);
      const out = table(await ok(t, bin, c, ["top", "node", "--no-headers"]), false);
      assert.deepEqual(
        out.rows.map((r) => r[0]),
        [...c.servedNodes.map((n) => n.name), BROKEN_NODE],
      );
      assertNodeRows(c, out.rows, allocatable);
    });

    await t.test(`kubectl ${version} top node NAME and -l`, async (t) => {
      await waitForTopNode(t, bin, c);
      const one = table(await ok(t, bin, c, ["top", "node", "charlie"]));
      assert.deepEqual(
        one.rows.map((r) => r[0]),
        ["charlie"],
      );
      assertNodeRows(c, one.rows, allocatable);
      const east = table(await ok(t, bin, c, ["top", "node", "-l", "zone=east"]));
      assert.deepEqual(
        east.rows.map((r) => r[0]),
        ["alpha", "charlie"],
      );
      assertNodeRows(c, east.rows, allocatable);
    });

    await t.test(`kubectl ${version} top pod -A`, async (t) => {
      const out = table(await waitForTopPods(t, bin, c));
      assert.deepEqual(out.header, ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]);
      // Exactly the Running pods on scrapeable nodes (no Pending or Succeeded pod, nothing from
      // the broken node), sorted by namespace then name.
      assert.deepEqual(
        out.rows.map((r) => `${r[0]}/${r[1]}`),
        c.servedPods.map(podKey),
      );
      for (const row of out.rows) assertPodRow(c, row[0]!, row, 1);
    });

    for (const sortBy of ["cpu", "memory"] as const) {
      await t.test(`kubectl ${version} top pod -A --sort-by=${sortBy}`, async (t) => {
        await waitForTopPods(t, bin, c);
        const out = table(await ok(t, bin, c, ["top", "pod", "-A", `--sort-by=${sortBy}`]));
        const key = sortBy === "cpu" ? podCpuNanocores : podMemoryBytes;
        const want = [...c.servedPods].sort((a, b) => key(b) - key(a)).map(podKey);
        assert.deepEqual(
          out.rows.map((r) => `${r[0]}/${r[1]}`),
          want,
        );
        for (const row of out.rows) assertPodRow(c, row[0]!, row, 1);
      });
    }

    await t.test(`kubectl ${version} top pod -n shop -l app=web`, async (t) => {
      await waitForTopPods(t, bin, c);
      const out = table(await ok(t, bin, c, ["top", "pod", "-n", "shop", "-l", "app=web"]));
      assert.deepEqual(out.header, ["NAME", "CPU(cores)", "MEMORY(bytes)"]);
      assert.deepEqual(
        out.rows.map((r) => r[0]),
        ["web-1", "web-2"],
      );
      for (const row of out.rows) assertPodRow(c, "shop", row, 0);
      const backend = table(await ok(t, bin, c, ["top", "pod", "-n", "shop", "-l", "tier=back,app!=cart"]));
      assert.deepEqual(
        backend.rows.map((r) => r[0]),
        ["api-1"],
      );
    });

    await t.test(`kubectl ${version} top pod NAME -n NS`, async (t) => {
      await waitForTopPods(t, bin, c);
      // web-2 counts its native sidecar but not its completed init container.
      const out = table(await ok(t, bin, c, ["top", "pod", "web-2", "-n", "shop"]));
      assert.deepEqual(out.header, ["NAME", "CPU(cores)", "MEMORY(bytes)"]);
      assert.deepEqual(
        out.rows.map((r) => r[0]),
        ["web-2"],
      );
      assertPodRow(c, "shop", out.rows[0]!, 0);
      assertNear("web-2 cpu (m)", milli(out.rows[0]![1]), 60 + 10 + 20);
    });

    await t.test(`kubectl ${version} top pod --containers`, async (t) => {
      await waitForTopPods(t, bin, c);
      const out = table(await ok(t, bin, c, ["top", "pod", "-n", "shop", "--containers"]));
      assert.deepEqual(out.header, ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]);
      const want = c.servedPods
        .filter((p) => p.namespace === "shop")
        .flatMap((p) => p.containers.map((x) => `${p.name}/${x.name}`))
        .sort(compareStrings);
      assert.deepEqual(out.rows.map((r) => `${r[0]}/${r[1]}`).sort(compareStrings), want);
      // Pods stay in kubectl's order; each pod's containers are printed together.
      assert.deepEqual([...new Set(out.rows.map((r) => r[0]))], ["api-1", "web-1", "web-2"]);
      for (const row of out.rows) {
        const x = truthPod(c, "shop", row[0]!).containers.find((k) => k.name === row[1]);
        assert.ok(x, `container ${row[0]}/${row[1]} is in the truth`);
        assertNear(`${row[0]}/${row[1]} cpu (m)`, milli(row[2]), x.cpuNanocores / 1e6);
        assertNear(`${row[0]}/${row[1]} memory (Mi)`, mebi(row[3]), x.memoryBytes / MiB);
      }
      const all = table(await ok(t, bin, c, ["top", "pod", "-A", "--containers", "-l", "app=worker"]));
      assert.deepEqual(all.header, ["NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]);
      assert.deepEqual(all.rows.map((r) => r.slice(0, 3).join("/")).sort(compareStrings), [
        "batch/worker-a/main",
        "batch/worker-b/helper",
        "batch/worker-b/main",
      ]);
    });

    await t.test(`kubectl ${version} top pod --sum`, async (t) => {
      await waitForTopPods(t, bin, c);
      const out = table(await ok(t, bin, c, ["top", "pod", "-n", "batch", "--sum"]));
      const pods = c.servedPods.filter((p) => p.namespace === "batch");
      assert.equal(out.rows.length, pods.length + 2, "one row per pod, the underscores, the totals");
      const podRows = out.rows.slice(0, pods.length);
      assert.deepEqual(
        podRows.map((r) => r[0]),
        pods.map((p) => p.name),
      );
      for (const row of podRows) assertPodRow(c, "batch", row, 0);
      const underline = out.rows[pods.length]!;
      assert.equal(underline.length, 2, "the underscore row has only the two usage columns");
      for (const cell of underline) assert.match(cell, /^_+$/);
      const totals = out.rows[pods.length + 1]!;
      assert.equal(totals.length, 2, "the totals row has no name");
      const cpuTotal = milli(totals[0]);
      const memTotal = mebi(totals[1]);
      assertNear("sum cpu (m)", cpuTotal, pods.reduce((s, p) => s + podCpuNanocores(p), 0) / 1e6);
      assertNear("sum memory (Mi)", memTotal, pods.reduce((s, p) => s + podMemoryBytes(p), 0) / MiB);
      // kubectl adds exact quantities, then rounds once: CPU rows round up, memory rows down.
      const rowCpu = podRows.reduce((s, r) => s + milli(r[1]), 0);
      const rowMem = podRows.reduce((s, r) => s + mebi(r[2]), 0);
      assert.ok(cpuTotal <= rowCpu && cpuTotal > rowCpu - pods.length, `sum ${cpuTotal}m vs rows ${rowCpu}m`);
      assert.ok(
        memTotal >= rowMem && memTotal < rowMem + pods.length,
        `sum ${memTotal}Mi vs rows ${rowMem}Mi`,
      );
    });

    await t.test(`kubectl ${version} get --raw NodeMetrics and PodMetrics`, async (t) => {
      await waitForTopPods(t, bin, c);
      const node = JSON.parse(
        await ok(t, bin, c, ["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/alpha"]),
      ) as {
        kind: string;
        apiVersion: string;
        metadata: { name: string; labels?: Record<string, string> };
        timestamp: string;
        window: string;
        usage: { cpu: string; memory: string };
      };
      assert.equal(node.kind, "NodeMetrics");
      assert.equal(node.apiVersion, "metrics.k8s.io/v1beta1");
      assert.equal(node.metadata.name, "alpha");
      assert.equal(node.metadata.labels?.zone, "east");
      assert.equal(node.metadata.labels?.["kubernetes.io/hostname"], "alpha");
      assertTimestampAndWindow("alpha", node);
      const alpha = truthNode(c, "alpha");
      assertUsage("alpha", node.usage, alpha.cpuNanocores, alpha.memoryBytes);

      const pod = JSON.parse(
        await ok(t, bin, c, ["get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/api-1"]),
      ) as {
        kind: string;
        apiVersion: string;
        metadata: { name: string; namespace: string; labels?: Record<string, string> };
        timestamp: string;
        window: string;
        containers: { name: string; usage: { cpu: string; memory: string } }[];
      };
      assert.equal(pod.kind, "PodMetrics");
      assert.equal(pod.apiVersion, "metrics.k8s.io/v1beta1");
      assert.equal(pod.metadata.name, "api-1");
      assert.equal(pod.metadata.namespace, "shop");
      assert.deepEqual(pod.metadata.labels, { app: "api", tier: "back" });
      assertTimestampAndWindow("shop/api-1", pod);
      const truth = truthPod(c, "shop", "api-1");
      assert.deepEqual(
        pod.containers.map((x) => x.name).sort(compareStrings),
        truth.containers.map((x) => x.name).sort(compareStrings),
      );
      for (const x of truth.containers) {
        const served = pod.containers.find((y) => y.name === x.name);
        assertUsage(`shop/api-1/${x.name}`, served?.usage, x.cpuNanocores, x.memoryBytes);
      }
    });

    await t.test(`kubectl ${version} error messages`, async (t) => {
      await waitForTopPods(t, bin, c);
      const expectations: [string[], string][] = [
        [
          ["top", "pod", "no-such-pod", "-n", "shop"],
          'Error from server (NotFound): pods "no-such-pod" not found',
        ],
        // Pending pods are not in the metrics-server's pod cache: "not found", like unknown ones.
        [["top", "pod", "queued", "-n", "waiting"], 'Error from server (NotFound): pods "queued" not found'],
        [
          ["top", "pod", "cart", "-n", "shop"],
          'Error from server (NotFound): podmetrics.metrics.k8s.io "shop/cart" not found',
        ],
        [["top", "node", "no-such-node"], 'Error from server (NotFound): node "no-such-node" not found'],
        [
          ["top", "node", BROKEN_NODE],
          `Error from server (NotFound): nodemetrics.metrics.k8s.io "${BROKEN_NODE}" not found`,
        ],
        [["top", "pod", "-A", "--sort-by=name"], "error: --sort-by accepts only cpu or memory"],
      ];
      for (const [args, message] of expectations) {
        const stderr = (await fails(t, bin, c, args)).trim();
        // A 404 of one node or pod explains itself after upstream's message (docs/metrics-api.md).
        const explained =
          message.startsWith("Error from server (NotFound): ") && stderr.startsWith(`${message}: `);
        if (!explained) assert.equal(stderr, message, `kubectl ${args.join(" ")}`);
      }
      // The only pod of `waiting` is Pending and 30 minutes old: kubectl names it and its age.
      const old = await fails(t, bin, c, ["top", "pod", "-n", "waiting"]);
      assert.match(
        old.trim(),
        /^error: Metrics not available for pod waiting\/queued, age: \d+m\d+(\.\d+)?s$/,
      );
    });

    await t.test(`kubectl ${version} no pods at all: "No resources found", exit 0`, async (t) => {
      const empty = await kubectl(t, bin, c.kubeconfig, ["top", "pod", "-n", "empty"]);
      assert.equal(empty.code, 0, empty.stderr);
      assert.equal(empty.stdout, "");
      assert.equal(empty.stderr.trim(), "No resources found in empty namespace.");
      const none = await kubectl(t, bin, c.kubeconfig, ["top", "pod", "-A", "-l", "app=nothing"]);
      assert.equal(none.code, 0, none.stderr);
      assert.equal(none.stderr.trim(), "No resources found");
    });
  }
});
