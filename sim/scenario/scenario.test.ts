import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { truthOf } from "../state/index.ts";
import type { Scenario } from "../types.ts";
import { loadScenarioFile } from "./file.ts";
import { generateScenario, nodeIP } from "./generate.ts";

const NOW = 1_750_000_000_000;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe("nodeIP", () => {
  test("follows 127.R.(1 + i/250).(1 + i%250)", () => {
    assert.equal(nodeIP("127.7", 0), "127.7.1.1");
    assert.equal(nodeIP("127.7", 249), "127.7.1.250");
    assert.equal(nodeIP("127.7", 250), "127.7.2.1");
    assert.equal(nodeIP("127.7", 4999), "127.7.20.250");
  });
  test("rejects bad input", () => {
    assert.throws(() => nodeIP("10.0", 0), /invalid ipBase/);
    assert.throws(() => nodeIP("127.7", -1), /out of range/);
    assert.throws(() => nodeIP("127.7", 250 * 254), /out of range/);
  });
});

describe("generateScenario", () => {
  const opts = { nodes: 20, podsPerNode: 12, seed: 42, ipBase: "127.5", nowMs: NOW };

  test("is deterministic for a seed and differs between seeds", () => {
    assert.deepEqual(generateScenario(opts), generateScenario(opts));
    assert.notDeepEqual(generateScenario(opts), generateScenario({ ...opts, seed: 43 }));
  });

  test("stays within the configured ranges, with unique names", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 10 }),
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
        (seed, nodes, podsPerNode, containersPerPod) => {
          const s = generateScenario({
            nodes,
            podsPerNode,
            containersPerPod,
            seed,
            ipBase: "127.5",
            nowMs: NOW,
          });
          assert.equal(s.nodes.length, nodes);
          assert.equal(s.pods.length, nodes * podsPerNode);
          s.nodes.forEach((n, i) => {
            assert.equal(n.name, `node-${i}`);
            assert.equal(n.internalIP, nodeIP("127.5", i));
            assert.equal(n.hostname, n.name);
            assert.equal(n.kubeletPort, 10250);
            assert.equal(n.labels["kubernetes.io/hostname"], n.name);
            assert.equal(n.labels["kubernetes.io/os"], "linux");
            assert.equal(n.labels["kubernetes.io/arch"], "amd64");
            assert.ok(Object.keys(n.labels).some((k) => k.startsWith("node-role.kubernetes.io/")));
            // Drawn from 4–16 cores / 8–64 GiB, then grown (in 4-core / 8 GiB steps) until the pods fit.
            const used = truthOf({ nodes: [n], pods: s.pods }).nodes[0];
            assert.ok(n.cpuCores >= 4 && (n.cpuCores <= 16 || n.cpuCores % 4 === 0));
            assert.ok(
              n.memoryBytes >= 8 * GiB && (n.memoryBytes <= 64 * GiB || n.memoryBytes % (8 * GiB) === 0),
            );
            assert.ok(used.cpuNanocores <= n.cpuCores * 1e9 * 0.8, `${n.name} cpu fits`);
            assert.ok(used.memoryBytes <= n.memoryBytes * 0.8, `${n.name} memory fits`);
            assert.ok(n.overheadCpuMilli >= 50 && n.overheadCpuMilli <= 300);
            assert.ok(n.overheadMemoryBytes >= 300 * MiB && n.overheadMemoryBytes <= GiB);
            assert.ok(n.bootTimeMs < NOW - 60 * 60_000);
            const onNode = s.pods.filter((p) => p.nodeName === n.name);
            assert.equal(onNode.length, podsPerNode);
            assert.equal(onNode.filter((p) => /^kube-proxy-[a-z0-9]{5}$/.test(p.name)).length, 1);
          });
          const podKeys = new Set(s.pods.map((p) => `${p.namespace}/${p.name}`));
          assert.equal(podKeys.size, s.pods.length);
          assert.equal(new Set(s.pods.map((p) => p.uid)).size, s.pods.length);
          for (const p of s.pods) {
            if (!p.name.startsWith("kube-proxy-")) {
              assert.match(p.name, /^[a-z-]+-[0-9a-f]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
              assert.equal(p.labels.app, p.name.split("-").slice(0, -2).join("-"));
              assert.equal(p.labels["pod-template-hash"], p.name.split("-").at(-2));
            }
            assert.ok(p.phase === "Running" || p.phase === "Pending");
            if (containersPerPod) assert.equal(p.containers.length, containersPerPod);
            else assert.ok(p.containers.length >= 1 && p.containers.length <= 3);
            const names = [...p.containers, ...p.initContainers].map((c) => c.name);
            assert.equal(new Set(names).size, names.length, `container names unique in ${p.name}`);
            for (const c of [...p.containers, ...p.initContainers]) {
              assert.ok(c.cpuMilli >= 20 && c.cpuMilli <= 500);
              assert.ok(c.memoryBytes >= 20 * MiB && c.memoryBytes <= 500 * MiB);
              assert.equal(c.memoryBytes % 1024, 0);
              assert.ok(c.startTimeMs >= NOW - 60 * 60_000 && c.startTimeMs <= NOW - 10 * 60_000);
              assert.ok(p.startTimeMs <= c.startTimeMs);
            }
            assert.ok(p.creationTimestampMs <= p.startTimeMs);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  test("swap is 0 by default; --swap adds seeded nonzero swap and changes nothing else", () => {
    const plain = generateScenario({ ...opts, nodes: 4, podsPerNode: 10 });
    const all = (s: Scenario) => s.pods.flatMap((p) => [...p.containers, ...p.initContainers]);
    for (const c of all(plain)) assert.equal(c.swapBytes ?? 0, 0);
    for (const n of truthOf(plain).nodes) assert.equal(n.swapBytes, 0);

    const swapped = generateScenario({ ...opts, nodes: 4, podsPerNode: 10, swap: true });
    assert.deepEqual(generateScenario({ ...opts, nodes: 4, podsPerNode: 10, swap: true }), swapped);
    for (const c of all(swapped)) {
      assert.ok(c.swapBytes !== undefined && c.swapBytes >= MiB && c.swapBytes <= 128 * MiB, c.name);
      assert.equal(c.swapBytes % 1024, 0);
    }
    assert.ok(new Set(all(swapped).map((c) => c.swapBytes)).size > 10, "swap values vary");
    // Without the swap values, the two scenarios are the same.
    const strip = (s: Scenario) => ({
      nodes: s.nodes,
      pods: s.pods.map((p) => ({
        ...p,
        containers: p.containers.map(({ swapBytes: _, ...c }) => c),
        initContainers: p.initContainers.map(({ swapBytes: _, ...c }) => c),
      })),
    });
    assert.deepEqual(strip(swapped), strip(plain));
  });

  test("includes pods with completed init containers and with sidecars", () => {
    const s = generateScenario({ ...opts, nodes: 10, podsPerNode: 20 });
    assert.ok(s.pods.some((p) => p.initContainers.some((c) => !c.sidecar)));
    assert.ok(s.pods.some((p) => p.initContainers.some((c) => c.sidecar)));
    assert.ok(new Set(s.pods.map((p) => p.namespace)).size >= 4);
  });

  test("rejects bad options", () => {
    assert.throws(() => generateScenario({ ...opts, nodes: -1 }), /nodes must be a non-negative integer/);
    assert.throws(() => generateScenario({ ...opts, containersPerPod: 0 }), /containersPerPod/);
  });
});

describe("loadScenarioFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "sim-scenario-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const write = (text: string): string => {
    const path = join(dir, `s${n++}.yaml`);
    writeFileSync(path, text);
    return path;
  };
  const load = (path: string) => loadScenarioFile(path, { ipBase: "127.8", nowMs: NOW });

  test("sim/scenarios/e2e.yaml reproduces upstream's e2e pods", () => {
    const s = load(new URL("../scenarios/e2e.yaml", import.meta.url).pathname);
    assert.deepEqual(
      s.nodes.map((x) => [x.name, x.internalIP]),
      [
        ["e2e-control-plane", "127.8.1.1"],
        ["e2e-worker", "127.8.1.2"],
        ["e2e-worker2", "127.8.1.3"],
      ],
    );
    assert.deepEqual(
      s.nodes.filter((x) => x.labels["metrics-server-skip"] === "true").map((x) => x.name),
      ["e2e-worker2"],
    );
    const truth = truthOf(s);
    const pod = (name: string) => truth.pods.find((p) => p.namespace === "default" && p.name === name)!;
    assert.deepEqual(
      pod("cpu-consumer").containers.map((c) => c.cpuNanocores),
      [50_000_000],
    );
    assert.deepEqual(
      pod("memory-consumer").containers.map((c) => c.memoryBytes),
      [50 * MiB],
    );
    assert.deepEqual(
      pod("cmwithinitcontainer-consumer").containers.map((c) => c.name),
      ["cmwithinitcontainer-consumer"],
    );
    assert.deepEqual(
      pod("sidecarpod-consumer").containers.map((c) => c.name),
      ["sidecarpod-consumer", "sidecar-container"],
    );
    assert.equal(pod("initsidecarpod-consumer").containers.length, 2);
    const skipped = new Set(["e2e-worker2"]);
    for (const name of [
      "cpu-consumer",
      "memory-consumer",
      "cmwithinitcontainer-consumer",
      "sidecarpod-consumer",
    ]) {
      assert.ok(!skipped.has(pod(name).node), `${name} avoids the skipped node`);
    }
  });

  test("applies defaults to everything optional", () => {
    const s = load(
      write(
        "nodes:\n  - name: a\n  - name: b\npods:\n  - name: p1\n    containers: [{name: c}]\n  - name: p2\n    containers: [{name: c}]\n",
      ),
    );
    const [a] = s.nodes;
    assert.equal(a.cpuCores, 4);
    assert.equal(a.memoryBytes, 16 * GiB);
    assert.equal(a.overheadCpuMilli, 100);
    assert.equal(a.overheadMemoryBytes, 512 * MiB);
    assert.equal(a.overheadSwapBytes, 0);
    assert.equal(a.kubeletPort, 10250);
    assert.equal(a.ready, true);
    assert.equal(a.bootTimeMs, NOW - 86_400_000);
    assert.deepEqual(
      s.pods.map((p) => [p.namespace, p.nodeName, p.phase]),
      [
        ["default", "a", "Running"],
        ["default", "b", "Running"],
      ],
    );
    assert.deepEqual(s.pods[0].containers, [
      { name: "c", cpuMilli: 100, memoryBytes: 64 * MiB, swapBytes: 0, startTimeMs: NOW - 1_800_000 + 2000 },
    ]);
    // uids are stable across loads.
    assert.equal(
      load(write("nodes: [{name: a}]\npods: [{name: p1, containers: [{name: c}]}]\n")).pods[0].uid,
      s.pods[0].uid,
    );
  });

  test("sim/scenarios/kubelet-knobs.yaml: one node per kubelet knob, 127.R substituted", () => {
    const s = load(new URL("../scenarios/kubelet-knobs.yaml", import.meta.url).pathname);
    const byName = new Map(s.nodes.map((x) => [x.name, x]));
    assert.equal(s.nodes.length, 7);
    for (const x of s.nodes) assert.ok(s.pods.filter((p) => p.nodeName === x.name).length >= 2, x.name);
    assert.equal(byName.get("knobs-summary-only")?.summaryOnly, true);
    assert.equal(byName.get("knobs-custom-path")?.resourceMetricsPath, "/custom/metrics/resource");
    const external = byName.get("knobs-external-first")!;
    assert.deepEqual(external.addresses, [
      { type: "ExternalIP", address: "127.8.250.250" },
      { type: "InternalIP", address: "127.8.1.3" },
      { type: "Hostname", address: "knobs-external-first" },
    ]);
    assert.equal(external.internalIP, "127.8.1.3");
    const v6 = byName.get("knobs-ipv6")!;
    assert.equal(v6.internalIP, "::1");
    assert.equal(v6.kubeletPort, 0);
    assert.equal(byName.get("knobs-not-ready")?.ready, false);
    for (const plain of ["knobs-plain-1", "knobs-plain-2"]) {
      const x = byName.get(plain)!;
      assert.equal(x.summaryOnly, undefined);
      assert.equal(x.resourceMetricsPath, undefined);
      assert.equal(x.addresses, undefined);
      assert.equal(x.kubeletPort, 10250);
      assert.equal(x.ready, true);
    }
  });

  test("internalIP defaults to the first InternalIP of addresses, then to nodeIP; [] is no addresses", () => {
    const s = load(
      write(
        [
          "nodes:",
          "  - {name: a, addresses: [{type: Hostname, address: host-a}, {type: InternalIP, address: 127.R.7.7}]}",
          "  - {name: b, addresses: [{type: ExternalIP, address: 10.1.2.3}]}",
          "  - {name: c, addresses: [], internalIP: 127.R.9.9}",
          "  - {name: d, internalIP: 'fd00::1', kubeletPort: 0}",
        ].join("\n"),
      ),
    );
    assert.deepEqual(
      s.nodes.map((x) => [x.internalIP, x.hostname, x.addresses?.length]),
      [
        ["127.8.7.7", "host-a", 2],
        ["127.8.1.2", "b", 1],
        ["127.8.9.9", "c", 0],
        ["fd00::1", "d", undefined],
      ],
    );
  });

  test("swap: per container and node overhead, default 0, reported only for running containers", () => {
    const s = load(
      write(
        [
          "nodes:",
          "  - name: a",
          "    overhead: {swap: 100Mi}",
          "pods:",
          "  - name: p",
          "    containers:",
          "      - {name: main, swap: 10Mi}",
          "      - {name: plain}",
          "    initContainers:",
          "      - {name: setup, swap: 1Mi}",
          "      - {name: agent, sidecar: true, swap: 2Mi}",
          "",
        ].join("\n"),
      ),
    );
    assert.equal(s.nodes[0].overheadSwapBytes, 100 * MiB);
    assert.deepEqual(
      [...s.pods[0].containers, ...s.pods[0].initContainers].map((c) => [c.name, c.swapBytes]),
      [
        ["main", 10 * MiB],
        ["plain", 0],
        ["setup", MiB],
        ["agent", 2 * MiB],
      ],
    );
    const truth = truthOf(s);
    assert.equal(truth.nodes[0].swapBytes, 112 * MiB);
    assert.deepEqual(
      truth.pods[0].containers.map((c) => [c.name, c.swapBytes]),
      [
        ["main", 10 * MiB],
        ["plain", 0],
        ["agent", 2 * MiB],
      ],
    );
  });

  test("an empty file is an empty cluster", () => {
    assert.deepEqual(load(write("")), { nodes: [], pods: [] });
  });

  const errors: Array<[string, string, RegExp]> = [
    ["unknown field", "nodes:\n  - name: a\n    cpuu: 4\n", /nodes\[0\]: unknown field "cpuu"/],
    [
      "bad quantity",
      "nodes: [{name: a}]\npods: [{name: p, containers: [{name: c, cpu: lots}]}]\n",
      /pods\[0\]\.containers\[0\]\.cpu: invalid quantity "lots"/,
    ],
    [
      "bad swap",
      "nodes: [{name: a}]\npods: [{name: p, containers: [{name: c, swap: -1Mi}]}]\n",
      /pods\[0\]\.containers\[0\]\.swap: invalid quantity "-1Mi"/,
    ],
    [
      "bad overhead swap",
      "nodes: [{name: a, overhead: {swap: lots}}]\n",
      /nodes\[0\]\.overhead\.swap: invalid quantity "lots"/,
    ],
    [
      "unknown node",
      "nodes: [{name: a}]\npods: [{name: p, node: b, containers: [{name: c}]}]\n",
      /pods\[0\]\.node: unknown node "b"/,
    ],
    [
      "duplicate pod",
      "nodes: [{name: a}]\npods: [{name: p, containers: [{name: c}]}, {name: p, containers: [{name: c}]}]\n",
      /duplicate pod default\/p/,
    ],
    [
      "duplicate container",
      "nodes: [{name: a}]\npods: [{name: p, containers: [{name: c}], initContainers: [{name: c}]}]\n",
      /duplicate container name "c"/,
    ],
    [
      "no containers",
      "nodes: [{name: a}]\npods: [{name: p}]\n",
      /pods\[0\]\.containers: a pod needs at least one container/,
    ],
    ["missing name", "nodes: [{cpu: 2}]\n", /nodes\[0\]: missing required field "name"/],
    ["bad name", "nodes: [{name: Not_Valid}]\n", /not a valid Kubernetes name/],
    [
      "bad phase",
      "nodes: [{name: a}]\npods: [{name: p, phase: Sleeping, containers: [{name: c}]}]\n",
      /phase: want one of/,
    ],
    ["bad age", "nodes: [{name: a, age: forever}]\n", /nodes\[0\]\.age: invalid duration/],
    ["bad port", "nodes: [{name: a, kubeletPort: 70000}]\n", /kubeletPort: want a port number/],
    ["negative port", "nodes: [{name: a, kubeletPort: -1}]\n", /kubeletPort: want a port number/],
    [
      "two kubelets on one address",
      "nodes: [{name: a, internalIP: '::1'}, {name: b, internalIP: '0:0:0:0:0:0:0:1'}]\n",
      /nodes\[1\]: kubelet address \[::1\]:10250 is already used by node "a"/,
    ],
    [
      "an explicit internalIP on another node's default address",
      "nodes: [{name: a}, {name: b, internalIP: 127.R.1.1}]\n",
      /nodes\[1\]: kubelet address 127\.8\.1\.1:10250 is already used by node "a"/,
    ],
    [
      "bad internalIP",
      "nodes: [{name: a, internalIP: 127.R.300.1}]\n",
      /nodes\[0\]\.internalIP: "127\.R\.300\.1" is not an IPv4 or IPv6/,
    ],
    ["internalIP not a string", "nodes: [{name: a, internalIP: 5}]\n", /internalIP: want an IP address/],
    [
      "addresses not a list",
      "nodes: [{name: a, addresses: {type: InternalIP}}]\n",
      /nodes\[0\]\.addresses: want a list/,
    ],
    [
      "bad address type",
      "nodes: [{name: a, addresses: [{type: PublicIP, address: 1.2.3.4}]}]\n",
      /addresses\[0\]\.type: want one of Hostname, InternalIP/,
    ],
    [
      "IP address type with a name",
      "nodes: [{name: a, addresses: [{type: ExternalIP, address: example.com}]}]\n",
      /addresses\[0\]\.address: "example\.com" is not an IPv4 or IPv6 address/,
    ],
    [
      "DNS address type with junk",
      "nodes: [{name: a, addresses: [{type: Hostname, address: 'Not A Host'}]}]\n",
      /addresses\[0\]\.address: "Not A Host" is not a valid DNS name/,
    ],
    [
      "unknown address field",
      "nodes: [{name: a, addresses: [{type: Hostname, address: a, port: 1}]}]\n",
      /addresses\[0\]: unknown field "port"/,
    ],
    [
      "relative metrics path",
      "nodes: [{name: a, resourceMetricsPath: metrics}]\n",
      /resourceMetricsPath: "metrics" is not a URL path/,
    ],
    ["metrics path with a query", "nodes: [{name: a, resourceMetricsPath: '/m?x=1'}]\n", /is not a URL path/],
    [
      "metrics path on the Summary API",
      "nodes: [{name: a, resourceMetricsPath: /stats/summary}]\n",
      /is the Summary API/,
    ],
    [
      "summaryOnly not a boolean",
      "nodes: [{name: a, summaryOnly: 'yes'}]\n",
      /summaryOnly: want true or false/,
    ],
    ["not a mapping", "- just\n- a list\n", /want a mapping/],
    ["invalid YAML", "nodes: [\n", /invalid YAML/],
  ];
  for (const [what, text, message] of errors) {
    test(`error: ${what}`, () => {
      const path = write(text);
      assert.throws(
        () => load(path),
        (err: Error) => {
          assert.ok(err.message.startsWith(`scenario file ${path}: `), err.message);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test("error: missing file", () => {
    assert.throws(() => load(join(dir, "nope.yaml")), /scenario file .*nope\.yaml: cannot read: ENOENT/);
  });
});
