// `npm run bench:api-load [-- --seconds 60 --clients 500]`: the metrics-server under API load. A
// simulated cluster and the real server; half the clients speak HTTP/2 (h2load, Debian package
// nghttp2-client), half HTTP/1.1 (wrk, Debian package wrk), all with a bearer token, mixing list-all,
// namespace + label-selector lists and gets while the scrape loop runs. Meanwhile a slowloris client
// and an HTTP/2 rapid-reset client attack the same listener. Prints errors and p50/p99 per tool,
// what the attackers got, and the server's RSS and CPU. test/api-load.test.ts runs a shorter one.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readAdminCredentials, readTruth } from "../scripts/cluster.ts";
import { parseFlags, UsageError } from "../scripts/flags.ts";
import { type AbuseStats, rapidReset, slowloris } from "../test/support/abusive-clients.ts";
import { reserveIpBase } from "../test/support/loopback.ts";
import { poll } from "../test/support/poll.ts";
import { NodeProcess } from "../test/support/processes.ts";
import { whole } from "./args.ts";
import { readCpuSeconds, readMemory } from "./procfs.ts";

export interface ApiLoadOptions {
  seconds: number;
  /** Total load clients, split evenly between h2load and wrk. */
  clients: number;
  nodes: number;
  podsPerNode: number;
  slowlorisConnections: number;
  rapidReset: boolean;
  /** Echo the sim's and the server's output. */
  verbose?: boolean;
}

export interface ToolResult {
  tool: "h2load" | "wrk";
  clients: number;
  requests: number;
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
  errorDetail: string;
  p50Ms: number;
  p99Ms: number;
  /** How long the tool ran. */
  seconds: number;
  requestsPerSecond: number;
}

export interface ApiLoadResult {
  options: ApiLoadOptions;
  tools: ToolResult[];
  slowloris?: AbuseStats;
  rapidReset?: AbuseStats;
  serverRssMiB: number;
  serverCpuSeconds: number;
  /** The server is still up and ready afterwards. */
  readyAfter: boolean;
}

export const DEFAULT_API_LOAD: ApiLoadOptions = {
  seconds: 60,
  clients: 500,
  nodes: 50,
  podsPerNode: 20,
  slowlorisConnections: 100,
  rapidReset: true,
};

const GROUP = "/apis/metrics.k8s.io/v1beta1";
// What 250 HTTP/2 clients got here (470-480 requests/s, 2 cores), so h2load runs about as long as wrk.
const H2LOAD_RATE_ESTIMATE = 450;

/** The request mix: one list-all each of pods and nodes per 8 selective lists and gets. */
function requestMix(truth: Awaited<ReturnType<typeof readTruth>>): string[] {
  const running = truth.pods.filter((p) => p.phase === "Running");
  const pod = (i: number) => running[(i * 37) % running.length];
  const paths = [
    `${GROUP}/pods`,
    `${GROUP}/nodes`,
    `${GROUP}/namespaces/default/pods?labelSelector=app%3Dapi`,
    `${GROUP}/namespaces/default/pods?labelSelector=tier%3Dbackend`,
    `${GROUP}/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-proxy`,
    `${GROUP}/namespaces/default/pods?labelSelector=app%20in%20(api,worker)`,
  ];
  for (let i = 0; i < 3; i++) {
    const p = pod(i);
    paths.push(`${GROUP}/namespaces/${p.namespace}/pods/${p.name}`);
    paths.push(`${GROUP}/nodes/${truth.nodes[(i * 7) % truth.nodes.length].name}`);
  }
  return paths;
}

/** Runs a load tool to its end; one that outlives timeoutMs is killed (and its output kept). */
function runTool(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
      killSignal: "SIGINT",
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("error", (err) => resolve({ code: -1, out: String(err) }));
    child.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function h2load(
  base: string,
  paths: string[],
  token: string,
  clients: number,
  seconds: number,
  dir: string,
) {
  const urls = join(dir, "h2load-urls.txt");
  const log = join(dir, "h2load.log");
  writeFileSync(urls, paths.map((p) => base + p).join("\n") + "\n");
  const { code, out } = await runTool(
    "h2load",
    [
      "-c",
      String(clients),
      "-t",
      "1",
      "-m",
      "1",
      // A request count, not -D: Debian's h2load (nghttp2 1.52) can hang or abort (a libev
      // assertion) when its duration ends with requests in flight. About H2LOAD_RATE_ESTIMATE
      // requests per second is what 250 clients get on a 2-core machine, so the run lasts roughly
      // `seconds`; the elapsed time and the rate reported are measured.
      "-n",
      String(Math.max(clients, Math.round(seconds * H2LOAD_RATE_ESTIMATE))),
      // A connection with nothing to read for this long counts its request as timed out (without it
      // h2load waits for an answer forever).
      "-N",
      "30",
      "-i",
      urls,
      "-H",
      `authorization: Bearer ${token}`,
      `--log-file=${log}`,
    ],
    (seconds * 6 + 120) * 1000,
  );
  const m =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const s = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (code !== 0 || !m || !s) throw new Error(`h2load failed (exit ${code}):\n${out}`);
  const lat = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"))
    .filter((c) => c[1] !== "-1")
    .map((c) => Number(c[2]) / 1000)
    .sort((a, b) => a - b);
  const elapsed = /finished in ([\d.]+)(ms|s),/.exec(out);
  const elapsedS = elapsed ? Number(elapsed[1]) / (elapsed[2] === "ms" ? 1000 : 1) : seconds;
  const done = Number(m[3]);
  const nonOk = Number(s[2]) + Number(s[3]) + Number(s[4]);
  const errors = Number(m[5]) + Number(m[6]) + Number(m[7]) + nonOk;
  return {
    tool: "h2load" as const,
    clients,
    requests: done,
    errors,
    errorDetail: `failed ${m[5]}, errored ${m[6]}, timeout ${m[7]}, 3xx/4xx/5xx ${s[2]}/${s[3]}/${s[4]}`,
    p50Ms: percentile(lat, 0.5),
    p99Ms: percentile(lat, 0.99),
    seconds: elapsedS,
    requestsPerSecond: done / elapsedS,
  };
}

async function wrk(
  base: string,
  paths: string[],
  token: string,
  clients: number,
  seconds: number,
  dir: string,
) {
  const script = join(dir, "mix.lua");
  writeFileSync(
    script,
    [
      `local paths = {${paths.map((p) => JSON.stringify(p)).join(", ")}}`,
      "local i = 0",
      "request = function()",
      "  i = i + 1",
      "  return wrk.format('GET', paths[(i % #paths) + 1])",
      "end",
      "done = function(summary, latency, requests)",
      "  local e = summary.errors",
      "  io.write(string.format('RESULT %d %d %d %d %d %d %d %d\\n', summary.requests, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))",
      "end",
    ].join("\n"),
  );
  const { code, out } = await runTool(
    "wrk",
    [
      "-t",
      "1",
      "-c",
      String(clients),
      "-d",
      `${seconds}s`,
      "--timeout",
      "30s",
      "-H",
      `Authorization: Bearer ${token}`,
      "-s",
      script,
      base + "/",
    ],
    (seconds * 6 + 120) * 1000,
  );
  const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out);
  if (code !== 0 || !m) throw new Error(`wrk failed (exit ${code}):\n${out}`);
  const [requests, connect, read, write, status, timeout, p50, p99] = m.slice(1).map(Number);
  return {
    tool: "wrk" as const,
    clients,
    requests,
    errors: connect + read + write + status + timeout,
    errorDetail: `connect ${connect}, read ${read}, write ${write}, non-2xx ${status}, timeout ${timeout}`,
    p50Ms: p50 / 1000,
    p99Ms: p99 / 1000,
    seconds,
    requestsPerSecond: requests / seconds,
  };
}

/** Which of h2load and wrk are missing, as Debian package names. */
export async function missingLoadTools(): Promise<string[]> {
  const missing: string[] = [];
  if ((await runTool("h2load", ["--version"])).code !== 0) missing.push("nghttp2-client (h2load)");
  if ((await runTool("wrk", ["--version"])).code === -1) missing.push("wrk");
  return missing;
}

export async function runApiLoad(o: ApiLoadOptions): Promise<ApiLoadResult> {
  const dir = mkdtempSync(join(os.tmpdir(), "ms-api-load-"));
  const ip = reserveIpBase();
  const procs: NodeProcess[] = [];
  try {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const sim = new NodeProcess(
      "sim",
      "sim/main.ts",
      [
        ...["--dir", dir, "--ip-base", ip.ipBase, "--port", String(port + 1)],
        ...["--nodes", String(o.nodes), "--pods-per-node", String(o.podsPerNode)],
      ],
      { echo: o.verbose, keep: 200 },
    );
    procs.push(sim);
    await sim.waitFor("sim ready", (l) => (l.includes("kube-sim ready:") ? true : undefined), 120_000);
    const kubeconfig = join(dir, "kubeconfig");
    const host = `${ip.ipBase}.0.2`;
    const server = new NodeProcess(
      "metrics-server",
      "src/cmd/metrics-server/main.ts",
      [
        `--kubeconfig=${kubeconfig}`,
        `--bind-address=${host}`,
        `--secure-port=${port}`,
        `--cert-dir=${join(dir, "certs")}`,
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-use-node-status-port",
        `--client-ca-file=${join(dir, "pki", "ca.crt")}`,
      ],
      { echo: o.verbose, keep: 500 },
    );
    procs.push(server);
    await server.waitFor("serving", (l) => (l.includes("Serving securely on") ? true : undefined), 120_000);
    const token = readFileSync(join(dir, "admin-token"), "utf8").trim();
    const truth = await readTruth(kubeconfig);
    const { cert, key } = readAdminCredentials(kubeconfig);
    const https = await import("node:https");
    const readyz = (): Promise<number> =>
      new Promise((resolve) => {
        https
          .get({ host, port, path: "/readyz", cert, key, rejectUnauthorized: false, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on("error", () => resolve(0));
      });
    await poll("/readyz", async () => ((await readyz()) === 200 ? true : undefined), 180_000);

    const base = `https://${host}:${port}`;
    const paths = requestMix(truth);
    const loris = o.slowlorisConnections > 0 ? slowloris(host, port, o.slowlorisConnections) : undefined;
    const reset = o.rapidReset ? rapidReset(host, port) : undefined;
    const cpuBefore = readCpuSeconds(server.pid);
    const h2Clients = Math.ceil(o.clients / 2);
    const tools = await Promise.all([
      h2load(base, paths, token, h2Clients, o.seconds, dir),
      wrk(base, paths, token, o.clients - h2Clients, o.seconds, dir),
    ]);
    const cpuAfter = readCpuSeconds(server.pid);
    const [lorisStats, resetStats] = await Promise.all([loris?.stop(), reset?.stop()]);
    const rss = readMemory(server.pid).rss / 1024;
    return {
      options: o,
      tools,
      slowloris: lorisStats,
      rapidReset: resetStats,
      serverRssMiB: rss,
      serverCpuSeconds: cpuAfter - cpuBefore,
      readyAfter: !server.exited && (await readyz()) === 200,
    };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    ip.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderApiLoad(r: ApiLoadResult): string {
  const o = r.options;
  const lines = [
    `API load: ${o.clients} clients for ${o.seconds} s, ${o.nodes} nodes × ${o.podsPerNode} pods, ` +
      `slowloris ${o.slowlorisConnections} connections, rapid reset ${o.rapidReset ? "on" : "off"}`,
    "",
    "| client | connections | seconds | requests | req/s | errors | p50 | p99 |",
    "| ------ | ----------- | ------- | -------- | ----- | ------ | --- | --- |",
    ...r.tools.map(
      (t) =>
        `| ${t.tool === "h2load" ? "h2load (HTTP/2)" : "wrk (HTTP/1.1)"} | ${t.clients} | ${t.seconds.toFixed(0)} | ${t.requests} | ` +
        `${t.requestsPerSecond.toFixed(0)} | ${t.errors} | ${t.p50Ms.toFixed(1)} ms | ${t.p99Ms.toFixed(1)} ms |`,
    ),
    "",
    ...r.tools.map((t) => `${t.tool} errors: ${t.errorDetail}`),
  ];
  if (r.slowloris)
    lines.push(
      `slowloris: ${r.slowloris.connections} connections opened, ${r.slowloris.closedByServer} closed by the server`,
    );
  if (r.rapidReset)
    lines.push(
      `rapid reset: ${r.rapidReset.connections} connections, ${r.rapidReset.streams} streams reset, GOAWAY codes ${JSON.stringify(r.rapidReset.goawayCodes)} (11 = ENHANCE_YOUR_CALM)`,
    );
  lines.push(
    `server: RSS ${r.serverRssMiB.toFixed(0)} MiB at the end, ${r.serverCpuSeconds.toFixed(1)} CPU s during the load; ready afterwards: ${r.readyAfter}`,
    `machine: ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  return lines.join("\n");
}

const USAGE = `Usage: npm run bench:api-load -- [flags]

The metrics-server under API load: half the clients on HTTP/2 (h2load), half on HTTP/1.1 (wrk),
while slowloris and HTTP/2 rapid-reset clients attack the same listener. Needs Debian's
nghttp2-client and wrk.

  --seconds N         how long the load runs (default ${DEFAULT_API_LOAD.seconds})
  --clients N         load clients in all, split between h2load and wrk (default ${DEFAULT_API_LOAD.clients})
  --nodes N           simulated nodes (default ${DEFAULT_API_LOAD.nodes})
  --pods-per-node P   pods per node (default ${DEFAULT_API_LOAD.podsPerNode})
  --verbose           echo the simulator's and the server's logs
  -h, --help          this help
`;

function parseApiLoadArgs(argv: readonly string[]): ApiLoadOptions | undefined {
  const values = parseFlags(argv, {
    seconds: { type: "string" },
    clients: { type: "string" },
    nodes: { type: "string" },
    "pods-per-node": { type: "string" },
    verbose: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return undefined;
  return {
    ...DEFAULT_API_LOAD,
    seconds: whole("seconds", values.seconds, DEFAULT_API_LOAD.seconds, 1, 3600),
    clients: whole("clients", values.clients, DEFAULT_API_LOAD.clients, 2, 10_000),
    nodes: whole("nodes", values.nodes, DEFAULT_API_LOAD.nodes, 1, 5000),
    podsPerNode: whole("pods-per-node", values["pods-per-node"], DEFAULT_API_LOAD.podsPerNode, 0, 1000),
    verbose: values.verbose ?? false,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let o: ApiLoadOptions | undefined;
  try {
    o = parseApiLoadArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench:api-load: ${err.message} (see --help)\n`);
    process.exit(1);
  }
  if (o === undefined) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const missing = await missingLoadTools();
  if (missing.length > 0) {
    process.stderr.write(`missing: ${missing.join(", ")} (apt-get install -y nghttp2-client wrk)\n`);
    process.exit(1);
  }
  process.stdout.write(renderApiLoad(await runApiLoad(o)) + "\n");
}
