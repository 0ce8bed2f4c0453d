// `npm start` as a new user runs it: the demo prints what to run, the printed kubectl command works,
// and Ctrl-C (SIGINT to the demo) stops both children, leaving no process behind.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { kubectl, kubectlPath } from "./support/kubectl.ts";
import { randomIpBase } from "./support/loopback.ts";
import { tempDir } from "./support/paths.ts";
import { poll } from "./support/poll.ts";
import { startNodeProcess } from "./support/processes.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the demo's children, found through /proc (the demo spawns them with this Node). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return kids;
}

test("npm start: the printed kubectl command shows every node, and Ctrl-C leaves nothing behind", async (t) => {
  const bin = kubectlPath(t, 33);
  if (!bin) return;
  const dir = tempDir(t, "ms-demo-");
  const demo = await startNodeProcess(
    t,
    "scripts/demo.ts",
    [
      "--dir",
      dir,
      "--ip-base",
      randomIpBase(t),
      "--nodes",
      "3",
      "--pods-per-node",
      "2",
      "--metric-resolution",
      "5s",
    ],
    "Ctrl-C stops everything",
  );
  const kubeconfig = join(dir, "kubeconfig");
  assert.match(demo.output(), new RegExp(`kubectl --kubeconfig ${kubeconfig} top node`));
  // Each child's lines say which child once: "[kube-sim] ready: …", not "[kube-sim] kube-sim ready: …".
  assert.match(demo.output(), /^\[kube-sim\] ready: /m);
  assert.doesNotMatch(demo.output(), /^\[(kube-sim|metrics-server)\] \1\b/m);

  const out = await poll("kubectl top node through the demo", async () => {
    const r = await kubectl(t, bin, kubeconfig, ["top", "node"]);
    return r.code === 0 && !r.stdout.includes("<unknown>") ? r.stdout : undefined;
  });
  assert.equal(out.trim().split("\n").length, 1 + 3, out);

  const pid = demo.child.pid!;
  const kids = childrenOf(pid);
  assert.equal(kids.length, 2, "the demo runs the simulator and the metrics-server");
  process.kill(pid, "SIGINT");
  await poll("the demo and its children to exit", async () =>
    [pid, ...kids].every((p) => !alive(p)) ? true : undefined,
  );
  assert.equal(demo.child.exitCode, 0);
});
