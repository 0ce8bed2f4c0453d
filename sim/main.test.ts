import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import { parseArgs, parseDuration, USAGE, UsageError } from "./options.ts";

const KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
const MAIN = new URL("./main.ts", import.meta.url).pathname;

test("parseArgs: defaults and every flag", () => {
  const d = parseArgs([], () => 42);
  assert.equal(d.nodes, 3);
  assert.equal(d.podsPerNode, 5);
  assert.equal(d.seed, 1);
  assert.equal(d.port, 6443);
  assert.equal(d.dir, ".demo");
  assert.equal(d.ipBase, "127.42");
  assert.equal(d.bookmarkIntervalMs, 60_000);
  const o = parseArgs([
    "--nodes",
    "10",
    "--pods-per-node=7",
    "--containers-per-pod",
    "2",
    "--seed",
    "9",
    "--ip-base",
    "127.200",
    "--port",
    "0",
    "--dir",
    "/tmp/x",
    "--fault",
    "node-1=hang",
    "--fault=node-2=garbage",
    "--bookmark-interval",
    "1m30s",
    "--scenario",
    "s.yaml",
  ]);
  assert.equal(o.nodes, 10);
  assert.equal(o.podsPerNode, 7);
  assert.equal(o.containersPerPod, 2);
  assert.equal(o.seed, 9);
  assert.equal(o.ipBase, "127.200");
  assert.equal(o.port, 0);
  assert.equal(o.dir, "/tmp/x");
  assert.deepEqual(
    [...o.faults],
    [
      ["node-1", { kind: "hang" }],
      ["node-2", { kind: "garbage" }],
    ],
  );
  assert.equal(o.bookmarkIntervalMs, 90_000);
  assert.equal(o.scenarioFile, "s.yaml");
  assert.equal(parseArgs(["--help"]).help, true);
});

test("parseArgs: the kubelet and API server knobs", () => {
  const d = parseArgs([], () => 42);
  assert.equal(d.summaryOnlyNodes, 0);
  assert.equal(d.readOnlyPort, undefined);
  assert.equal(d.partialMetadata, true);
  const o = parseArgs(
    ["--summary-only-nodes", "2", "--read-only-port=10255", "--no-partial-metadata"],
    () => 42,
  );
  assert.equal(o.summaryOnlyNodes, 2);
  assert.equal(o.readOnlyPort, 10255);
  assert.equal(o.partialMetadata, false);
  for (const bad of [
    ["--summary-only-nodes", "-1"],
    ["--read-only-port", "0"],
    ["--read-only-port", "65536"],
    ["--no-partial-metadata=false"],
  ]) {
    assert.throws(() => parseArgs(bad), UsageError, bad.join(" "));
  }
  assert.equal(d.swap, false);
  assert.equal(parseArgs(["--swap"], () => 42).swap, true);
  assert.equal(parseArgs([], () => 42).bare, false);
  assert.equal(parseArgs(["--bare"], () => 42).bare, true);
  assert.throws(() => parseArgs(["--swap=yes"]), UsageError);
  assert.throws(() => parseArgs(["--swap", "--scenario", "s.yaml"]), /--swap applies to generated scenarios/);
  for (const flag of [
    "--summary-only-nodes",
    "--read-only-port",
    "--no-partial-metadata",
    "--swap",
    "admin-token",
  ]) {
    assert.ok(USAGE.includes(flag), flag);
  }
});

test("parseArgs rejects bad flags with a message", () => {
  for (const bad of [
    ["--nodes", "-1"],
    ["--nodes", "many"],
    ["--ip-base", "10.0"],
    ["--ip-base", "127.0"],
    ["--ip-base", "127.255"],
    ["--port", "70000"],
    ["--fault", "node-1=explode"],
    ["--fault", "node-1"],
    ["--bookmark-interval", "soon"],
    ["--frobnicate", "1"],
    ["--seed"],
    ["positional"],
  ]) {
    assert.throws(() => parseArgs(bad), UsageError, bad.join(" "));
  }
});

test("parseDuration reads Go durations", () => {
  assert.equal(parseDuration("60s"), 60_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1h2m3s"), 3_723_000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("0"), 0);
  assert.throws(() => parseDuration("10"), UsageError);
  assert.throws(() => parseDuration(""), UsageError);
  assert.throws(() => parseDuration("5 s"), UsageError);
});

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function waitForLine(child: ChildProcess, prefix: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => reject(new Error(`no "${prefix}" line within ${timeoutMs} ms; stderr: ${err}`)),
      timeoutMs,
    );
    child.stderr!.on("data", (c) => {
      err += c;
    });
    child.stdout!.on("data", (c) => {
      out += c;
      const line = out.split("\n").find((l) => l.startsWith(prefix));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`kube-sim exited with ${code} before "${prefix}"; stderr: ${err}`));
    });
  });
}

test("a bad flag exits 1 before anything listens", async () => {
  const r = await run(process.execPath, [MAIN, "--nodes", "lots"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid value "lots" for --nodes/);
  assert.equal(r.stdout, "");
});

test("main prints the ready line, writes a kubeconfig kubectl can use, and exits 0 on SIGTERM", async (t) => {
  const R = 2 + Math.floor(Math.random() * 253);
  const dir = await mkdtemp(join(tmpdir(), "kube-sim-main-"));
  const child = spawn(
    process.execPath,
    [MAIN, "--ip-base", `127.${R}`, "--port", "0", "--nodes", "4", "--pods-per-node", "2", "--dir", dir],
    { detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  });
  const line = await waitForLine(child, "kube-sim ready:", 60_000);
  const m = /^kube-sim ready: apiserver=(https:\/\/[\d.]+:\d+) kubeconfig=(\S+) nodes=(\d+) pods=(\d+)$/.exec(
    line,
  );
  assert.ok(m, line);
  assert.match(m[1], new RegExp(`^https://127\\.${R}\\.0\\.1:\\d+$`));
  assert.equal(m[2], join(dir, "kubeconfig"));
  assert.equal(m[3], "4");
  assert.equal(m[4], "8");
  for (const f of ["ca.crt", "front-proxy-ca.crt", "admin.crt", "admin.key"]) {
    assert.ok(existsSync(join(dir, "pki", f)), f);
  }
  const kc = YAML.parse(readFileSync(m[2], "utf8"));
  assert.equal(kc["current-context"], "admin");
  assert.equal(kc.clusters[0].name, "sim");
  assert.equal(kc.clusters[0].cluster.server, m[1]);
  assert.ok(kc.users[0].user["client-certificate-data"]);

  if (existsSync(KUBECTL)) {
    const nodes = await run(KUBECTL, [
      "--kubeconfig",
      m[2],
      "--cache-dir",
      join(dir, "cache"),
      "get",
      "nodes",
      "-o",
      "name",
    ]);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.equal(nodes.stdout.trim().split("\n").length, 4);
    const truth = await run(KUBECTL, [
      "--kubeconfig",
      m[2],
      "--cache-dir",
      join(dir, "cache"),
      "get",
      "--raw",
      "/sim/truth",
    ]);
    assert.equal(truth.code, 0, truth.stderr);
    assert.equal(JSON.parse(truth.stdout).nodes.length, 4);
  } else {
    t.diagnostic(`kubectl checks skipped: ${KUBECTL} not found`);
  }
  process.kill(-child.pid!, "SIGTERM");
  assert.equal(await exited, 0);
});

test("parseArgs: --image and --image-command add up, name existing files, and want REF=PATH", () => {
  const here = new URL(import.meta.url).pathname;
  const o = parseArgs([
    "--image",
    `a.example/x:v1=${here}`,
    `--image=b.example/y:v2=${here}`,
    "--image-command",
    `a.example/x:v1=${here}`,
  ]);
  assert.deepEqual([...o.images.keys()], ["a.example/x:v1", "b.example/y:v2"]);
  assert.equal(o.images.get("a.example/x:v1"), here);
  assert.equal(o.imageCommands.get("a.example/x:v1"), here);
  assert.equal(parseArgs([]).images.size, 0);
  for (const bad of [
    ["--image", "no-equals"],
    ["--image", "x=/no/such/archive.tar"],
    ["--image-command", "=x"],
  ]) {
    assert.throws(() => parseArgs(bad), UsageError, bad.join(" "));
  }
});

test("parseArgs: --apiserver-fault adds up, --apiserver-down-for is down:DUR, bad specs are usage errors", () => {
  assert.equal(parseArgs([], () => 42).apiserverFaults, "");
  const o = parseArgs(
    [
      "--apiserver-fault",
      "gone,throttle:2s",
      "--apiserver-fault=status:500@0.5",
      "--apiserver-down-for",
      "1m",
    ],
    () => 42,
  );
  assert.equal(o.apiserverFaults, "gone,throttle:2s,status:500@0.5,down:60000ms");
  assert.throws(() => parseArgs(["--apiserver-fault", "status:418"], () => 42), UsageError);
  assert.throws(() => parseArgs(["--apiserver-down-for", "0"], () => 42), UsageError);
});
