// Every kubelet fault kind over real HTTPS: what the caller sees, and that clearing restores the
// healthy kubelet. The bodies' value faults are checked in detail in fault-bodies.test.ts.

import assert from "node:assert/strict";
import * as https from "node:https";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type CA, createCA } from "../auth/index.ts";
import { FAULT_KIND_HELP, faultSpec, parseArgs, parseFaultSpec, USAGE, UsageError } from "../options.ts";
import { generateScenario, nodeIP } from "../scenario/index.ts";
import type { KubeletFault, KubeletView, SimNode, SimPod } from "../types.ts";
import { HUGE_BODY_BYTES } from "./fault-answers.ts";
import type { NodeControl } from "./fault-effects.ts";
import { KubeletFleet } from "./fleet.ts";

/** One sample spec per kind, as FAULT_KIND_HELP names them. */
const SAMPLE_SPECS = FAULT_KIND_HELP.map(([spec]) =>
  spec.replace("[:DUR]", ":2s").replace(":DUR", ":5s").replace(":CODE", ":503"),
);

describe("fault specs", () => {
  test("every kind in --help parses, and its canonical spec parses to the same fault", () => {
    assert.equal(SAMPLE_SPECS.length, 27);
    for (const spec of SAMPLE_SPECS) {
      const fault = parseFaultSpec(spec);
      assert.deepEqual(parseFaultSpec(faultSpec(fault)), fault, spec);
      assert.match(
        USAGE,
        new RegExp(
          `^  ${FAULT_KIND_HELP[SAMPLE_SPECS.indexOf(spec)][0].replace(/[[\]]/g, "\\$&")} +\\S`,
          "m",
        ),
      );
    }
    assert.deepEqual(parseFaultSpec("http500"), { kind: "status", code: 500 });
    assert.deepEqual(parseFaultSpec("delete-mid-scrape"), {
      kind: "delete-mid-scrape",
      recreateAfterMs: 5000,
    });
    assert.deepEqual(parseFaultSpec("delay:1m30s"), { kind: "delay", ms: 90_000 });
    assert.match(USAGE, /"fault": "<SPEC>" \| null/);
  });

  test("bad specs are UsageErrors that list every kind", () => {
    for (const bad of [
      "",
      "explode",
      "hang:1s",
      "delay",
      "delay:0s",
      "delay:soon",
      "status:418",
      "flap:",
      "nan:1",
    ]) {
      assert.throws(
        () => parseFaultSpec(bad),
        (err: unknown) =>
          err instanceof UsageError && /want one of hang, delay:DUR, .* wrong-name$/.test(err.message),
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(
      parseArgs(["--fault", "n1=delay:2s", "--fault=n2=wrong-name"], () => 9).faults,
      new Map<string, KubeletFault>([
        ["n1", { kind: "delay", ms: 2000 }],
        ["n2", { kind: "wrong-name" }],
      ]),
    );
    assert.throws(() => parseArgs(["--fault", "n1=boom"]), UsageError);
    assert.throws(() => parseArgs(["--fault", "n1"]), /want NODE=SPEC/);
  });
});

interface Reply {
  status: number;
  body: Buffer;
  /** Whether the response ended cleanly (false: the connection closed mid-body). */
  complete: boolean;
  contentLength: number;
}

function get(
  ca: CA,
  n: SimNode,
  path: string,
  opts: { timeoutMs?: number; agent?: https.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: n.internalIP, port: n.kubeletPort, path, ca: ca.certPem, agent: opts.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        const reply = (complete: boolean) =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            complete,
            contentLength: Number(res.headers["content-length"]),
          });
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => reply(res.complete));
        res.on("error", () => reply(false));
      },
    );
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end();
  });
}

async function until<T>(what: string, f: () => T | undefined, deadlineMs = 20_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const nodeCpu = (text: string) => {
  const m = /^node_cpu_usage_seconds_total (\S+) (\d+)$/m.exec(text);
  assert.ok(m, "node_cpu_usage_seconds_total present");
  return { value: Number(m[1]), ts: Number(m[2]) };
};

describe("kubelet faults over HTTPS", () => {
  const ipBase = `127.${2 + Math.floor(Math.random() * 253)}`;
  const firstIndex = Math.floor(Math.random() * 60_000);
  let ca: CA;
  let fleet: KubeletFleet;
  let nodes: SimNode[];
  let pods: SimPod[];
  const calls: string[] = [];
  const view: KubeletView = {
    node: (name) => nodes.find((n) => n.name === name),
    podsOnNode: (name) => pods.filter((p) => p.nodeName === name),
  };
  // The cluster's side, as sim/main.ts wires it: a list of nodes here.
  const control: NodeControl = {
    setReady: (name, ready) => {
      calls.push(`ready ${name} ${ready}`);
      nodes = nodes.map((n) => (n.name === name ? { ...n, ready } : n));
    },
    deleteNode: async (name) => {
      calls.push(`delete ${name}`);
      nodes = nodes.filter((n) => n.name !== name);
      await fleet.removeNode(name); // the cluster's hook does this
    },
    addNode: async (node) => {
      calls.push(`add ${node.name}`);
      nodes = [...nodes, node];
      await fleet.addNode(node);
    },
  };
  let node: SimNode;
  const set = (spec: string | undefined) =>
    fleet.setFault(node.name, spec === undefined ? undefined : parseFaultSpec(spec));

  before(async () => {
    ca = await createCA("faults-test-ca");
    const scenario = generateScenario({ nodes: 2, podsPerNode: 3, seed: 5, ipBase, nowMs: Date.now() });
    nodes = scenario.nodes.map((n, i) => ({ ...n, internalIP: nodeIP(ipBase, (firstIndex + i) % 60_000) }));
    pods = scenario.pods;
    fleet = await KubeletFleet.start({ view, nodes, ca, nodeControl: control });
    node = nodes[0];
  });
  after(async () => {
    await fleet?.close();
  });

  test("delay: no answer before the delay, then the healthy body", async () => {
    await set("delay:1s");
    await assert.rejects(get(ca, node, "/metrics/resource", { timeoutMs: 300 }), /client timeout/);
    const r = await get(ca, node, "/metrics/resource");
    assert.equal(r.status, 200);
    assert.ok(nodeCpu(r.body.toString()).value > 0);
    await set(undefined);
  });

  test("reset: the connection ends without an answer", async () => {
    await set("reset");
    for (const path of ["/metrics/resource", "/stats/summary"]) {
      await assert.rejects(get(ca, node, path), /read ECONNRESET/);
    }
    await set(undefined);
    assert.equal((await get(ca, node, "/metrics/resource")).status, 200);
  });

  test("status:CODE on both endpoints", async () => {
    for (const code of [401, 403, 404, 500, 503]) {
      await set(`status:${code}`);
      for (const path of ["/metrics/resource", "/stats/summary"]) {
        assert.equal((await get(ca, node, path)).status, code, `${code} ${path}`);
      }
    }
    await set(undefined);
  });

  test("truncated: half the promised bytes, then the connection closes", async () => {
    await set("truncated");
    for (const path of ["/metrics/resource", "/stats/summary"]) {
      const r = await get(ca, node, path);
      assert.equal(r.complete, false, path);
      assert.ok(r.body.length < r.contentLength, `${r.body.length} < ${r.contentLength}`);
    }
    await set(undefined);
    assert.equal((await get(ca, node, "/stats/summary")).complete, true);
  });

  test("huge: ~100 MiB that starts with the healthy body; a caller may stop reading", async () => {
    await set("huge");
    const r = await new Promise<{ bytes: number; head: string; length: number }>((resolve, reject) => {
      const req = https.request(
        {
          host: node.internalIP,
          port: node.kubeletPort,
          path: "/metrics/resource",
          ca: ca.certPem,
          agent: false,
        },
        (res) => {
          let bytes = 0;
          let head = "";
          res.on("data", (c: Buffer) => {
            if (head.length < 100) head += c.toString("latin1", 0, 100);
            bytes += c.length; // counted, not kept
          });
          res.on("end", () => resolve({ bytes, head, length: Number(res.headers["content-length"]) }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.ok(r.bytes >= HUGE_BODY_BYTES && r.bytes === r.length, `${r.bytes} bytes`);
    assert.match(r.head, /^# HELP /);
    // A caller that gives up after the first bytes does not upset the kubelet.
    const length = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          host: node.internalIP,
          port: node.kubeletPort,
          path: "/stats/summary",
          ca: ca.certPem,
          agent: false,
        },
        (res) =>
          res.once("data", () => {
            req.destroy();
            resolve(Number(res.headers["content-length"]));
          }),
      );
      req.on("error", reject);
      req.end();
    });
    assert.ok(length >= HUGE_BODY_BYTES);
    await set(undefined);
    assert.equal((await get(ca, node, "/metrics/resource")).status, 200);
  });

  test("body faults reach both endpoints, and clearing restores the healthy body", async () => {
    await set("nan");
    assert.match(
      (await get(ca, node, "/metrics/resource")).body.toString(),
      /^node_cpu_usage_seconds_total NaN \d+$/m,
    );
    const summary = JSON.parse((await get(ca, node, "/stats/summary")).body.toString());
    assert.equal(summary.node.cpu.usageCoreNanoSeconds, null);
    await set("inf");
    assert.match((await get(ca, node, "/stats/summary")).body.toString(), /"usageCoreNanoSeconds": 1e999/);
    await set(undefined);
    assert.ok(nodeCpu((await get(ca, node, "/metrics/resource")).body.toString()).value > 0);
  });

  test("counter-reset: the counters go back once and then advance again, also after clearing", async () => {
    const before = nodeCpu((await get(ca, node, "/metrics/resource")).body.toString());
    await set("counter-reset");
    const reset = nodeCpu((await get(ca, node, "/metrics/resource")).body.toString());
    assert.ok(reset.value < before.value);
    await sleep(50);
    const next = nodeCpu((await get(ca, node, "/metrics/resource")).body.toString());
    assert.ok(next.value > reset.value);
    await set(undefined);
    await sleep(50);
    const cleared = nodeCpu((await get(ca, node, "/metrics/resource")).body.toString());
    assert.ok(cleared.value > next.value && cleared.value < before.value, "no jump back up");
  });

  test("backwards-timestamp: each scrape stamped earlier than the last", async () => {
    await set("backwards-timestamp");
    const a = nodeCpu((await get(ca, node, "/metrics/resource")).body.toString()).ts;
    const b = nodeCpu((await get(ca, node, "/metrics/resource")).body.toString()).ts;
    assert.ok(b < a && a < Date.now());
    await set(undefined);
  });

  test("TLS faults: the handshake fails as named, open connections close, clearing restores", async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await get(ca, node, "/metrics/resource", { agent })).status, 200);
      const [socket] = Object.values(agent.freeSockets).flat();
      assert.ok(socket, "a kept-alive connection");
      const closed = new Promise((resolve) => socket.once("close", resolve));
      await set("tls-expired");
      await closed;
      await assert.rejects(get(ca, node, "/metrics/resource"), /certificate has expired/);
      await set("wrong-name");
      await assert.rejects(get(ca, node, "/metrics/resource"), /not in the cert's list|altnames/);
      await set("wrong-ca");
      await assert.rejects(get(ca, node, "/metrics/resource"), /self.signed|unable to (get|verify)/);
      await set(undefined);
      assert.equal((await get(ca, node, "/metrics/resource", { agent })).status, 200);
    } finally {
      agent.destroy();
    }
  });

  test("flap: Ready toggles through the cluster; clearing restores it", async () => {
    calls.length = 0;
    const original = view.node(node.name)!.ready;
    await set("flap:50ms");
    await until("two toggles", () => calls.length >= 2);
    assert.deepEqual(calls.slice(0, 2), [
      `ready ${node.name} ${!original}`,
      `ready ${node.name} ${original}`,
    ]);
    assert.equal((await get(ca, node, "/metrics/resource")).status, 200, "the kubelet keeps serving");
    await set(undefined);
    const settled = calls.length;
    await sleep(200);
    assert.equal(calls.length, settled, "no more toggles");
    assert.equal(view.node(node.name)!.ready, original);
  });

  test("not-ready: the Node is NotReady while set; clearing restores it", async () => {
    calls.length = 0;
    const original = view.node(node.name)!.ready;
    await set("not-ready");
    assert.deepEqual(calls, [`ready ${node.name} false`]);
    assert.equal((await get(ca, node, "/metrics/resource")).status, 200, "the kubelet keeps serving");
    await set(undefined);
    assert.deepEqual(calls, [`ready ${node.name} false`, `ready ${node.name} ${original}`]);
  });

  test("delete-mid-scrape: the Node goes while the request waits, the body comes, the Node returns", async () => {
    calls.length = 0;
    const uid = view.node(node.name)!.uid;
    await set("delete-mid-scrape:300ms");
    const r = await get(ca, node, "/metrics/resource");
    assert.equal(r.status, 200);
    assert.deepEqual(calls, [`delete ${node.name}`]);
    assert.ok(nodeCpu(r.body.toString()).value > 0, "a healthy body for the deleted node");
    const back = await until("the node re-created", () => view.node(node.name));
    assert.notEqual(back.uid, uid);
    // The next scrape deletes it again; clearing the fault brings it back at once.
    assert.equal((await get(ca, node, "/metrics/resource")).status, 200);
    assert.equal(view.node(node.name), undefined);
    await set(undefined);
    assert.ok(view.node(node.name));
    assert.equal((await get(ca, node, "/metrics/resource")).status, 200);
  });

  test("1,000 set and clear cycles over every kind leave no timer behind", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    for (let i = 0; i < 1000; i++) {
      await set(SAMPLE_SPECS[i % SAMPLE_SPECS.length]);
      await set(undefined);
    }
    assert.equal(timers(), before);
    assert.equal((await get(ca, node, "/metrics/resource")).status, 200);
  });

  test("the other node is never affected", async () => {
    assert.equal((await get(ca, nodes.find((n) => n.name !== node.name)!, "/metrics/resource")).status, 200);
  });
});
