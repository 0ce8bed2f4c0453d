// How fresh the served node points are, with and without broken kubelets. Starts the simulator (with
// the given --fault flags) and the metrics-server as `npm run bench` does, waits for every healthy
// node's metrics, then lists node metrics every --poll-ms for --seconds and reports the age of the
// points served (now − timestamp) as the server's own metrics_server_api_metric_freshness_seconds
// histogram measured them over the window: its mean is exact (the API's timestamps are whole
// seconds, the histogram's are not), quantiles are bucket bounds. Faulty nodes are never served, so
// every observation is a healthy node's.
//
//   node bench/freshness.ts [--nodes 100] [--pods-per-node 10] [--resolution 15s] [--seconds 90]
//                           [--poll-ms 250] [--fault NODE=KIND]... [--verbose]
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readAdminCredentials, registerMetricsApi } from "../scripts/cluster.ts";
import { parseFlags, UsageError } from "../scripts/flags.ts";
import { parseGoDuration } from "../src/go/index.ts";
import { reserveIpBase } from "../test/support/loopback.ts";
import { poll } from "../test/support/poll.ts";
import { NodeProcess } from "../test/support/processes.ts";
import { resolutionMs as checkResolution, whole } from "./args.ts";
import { connect, h2Get } from "./load.ts";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const FRESHNESS = "metrics_server_api_metric_freshness_seconds";

interface Histogram {
  buckets: [number, number][];
  sum: number;
  count: number;
}

function histogram(metrics: string): Histogram {
  const buckets: [number, number][] = [];
  let sum = 0;
  let count = 0;
  for (const line of metrics.split("\n")) {
    const b = new RegExp(`^${FRESHNESS}_bucket\\{le="([^"]+)"\\} (\\S+)`).exec(line);
    if (b) buckets.push([b[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(b[1]), Number(b[2])]);
    else if (line.startsWith(`${FRESHNESS}_sum `)) sum = Number(line.split(" ")[1]);
    else if (line.startsWith(`${FRESHNESS}_count `)) count = Number(line.split(" ")[1]);
  }
  return { buckets, sum, count };
}

/** The bucket bound at or under which fraction q of the window's observations lie. */
function quantile(before: Histogram, after: Histogram, q: number): number {
  const count = after.count - before.count;
  for (let i = 0; i < after.buckets.length; i++) {
    if (after.buckets[i][1] - (before.buckets[i]?.[1] ?? 0) >= q * count) return after.buckets[i][0];
  }
  return Number.NaN;
}

const USAGE = `Usage: node bench/freshness.ts [flags]

How old the served node points are, with and without broken kubelets (see the top of this file).

  --nodes N           simulated nodes (default 100)
  --pods-per-node P   pods per node (default 10)
  --resolution DUR    metrics-server --metric-resolution (default 15s)
  --seconds N         how long node metrics are listed (default 90)
  --poll-ms N         how often (default 250)
  --fault NODE=SPEC   a kube-sim kubelet fault (repeatable)
  --verbose           echo the simulator's and the server's logs
  -h, --help          this help
`;

function parseFreshnessArgs(argv: readonly string[]) {
  const values = parseFlags(argv, {
    nodes: { type: "string" },
    "pods-per-node": { type: "string" },
    resolution: { type: "string" },
    seconds: { type: "string" },
    "poll-ms": { type: "string" },
    fault: { type: "string", multiple: true },
    verbose: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const fault = values.fault ?? [];
  for (const f of fault) {
    if (!/^[^=]+=.+$/.test(f)) throw new UsageError(`invalid --fault ${JSON.stringify(f)}: want NODE=SPEC`);
  }
  const resolution = values.resolution ?? "15s";
  checkResolution(resolution);
  return {
    help: values.help === true,
    nodes: String(whole("nodes", values.nodes, 100, 1, 5000)),
    "pods-per-node": String(whole("pods-per-node", values["pods-per-node"], 10, 0, 1000)),
    resolution,
    seconds: String(whole("seconds", values.seconds, 90, 1, 3600)),
    "poll-ms": String(whole("poll-ms", values["poll-ms"], 250, 10, 60_000)),
    fault,
    verbose: values.verbose === true,
  };
}

async function main(): Promise<void> {
  let values: ReturnType<typeof parseFreshnessArgs>;
  try {
    values = parseFreshnessArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`freshness: ${err.message} (see --help)\n`);
    process.exit(1);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const nodes = Number(values.nodes);
  const resolutionMs = parseGoDuration(values.resolution);
  const faulty = new Set(values.fault.map((f) => f.split("=")[0]));
  const reservation = reserveIpBase();
  const dir = mkdtempSync(join(os.tmpdir(), "ms-freshness-"));
  const procs: NodeProcess[] = [];
  try {
    const ipBase = reservation.ipBase;
    const serverIP = `${ipBase}.0.2`;
    const port = 20000 + Math.floor(Math.random() * 40000);
    const sim = new NodeProcess(
      "kube-sim",
      "sim/main.ts",
      [
        ...["--dir", dir, "--ip-base", ipBase, "--port", "0", "--nodes", String(nodes)],
        ...["--pods-per-node", values["pods-per-node"], "--hpa-replicas", "0"],
        ...values.fault.flatMap((f) => ["--fault", f]),
      ],
      { cwd: root, echo: values.verbose, keep: 200 },
    );
    procs.push(sim);
    await sim.waitFor("ready line", (l) => (l.startsWith("kube-sim ready:") ? true : undefined), 300_000);
    const kubeconfig = join(dir, "kubeconfig");
    await registerMetricsApi(kubeconfig, serverIP, port);
    const admin = readAdminCredentials(kubeconfig);
    const server = new NodeProcess(
      "metrics-server",
      "bin/metrics-server",
      [
        `--kubeconfig=${join(dir, "metrics-server.kubeconfig")}`,
        `--bind-address=${serverIP}`,
        `--secure-port=${port}`,
        `--cert-dir=${join(dir, "certs")}`,
        `--metric-resolution=${values.resolution}`,
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--kubelet-use-node-status-port",
        "--v=1",
      ],
      { cwd: root, echo: values.verbose, keep: 2000 },
    );
    procs.push(server);
    await server.waitFor("serving", (l) => (l.includes("Serving securely on") ? true : undefined), 300_000);
    const authority = `${serverIP}:${port}`;
    const session = connect(authority, admin.cert, admin.key);
    const nodeList = "/apis/metrics.k8s.io/v1beta1/nodes";
    await poll(
      "metrics for every healthy node",
      async () => {
        const r = await h2Get(session, nodeList, 30_000);
        if (r.status !== 200) return undefined;
        const items = (JSON.parse(r.body.toString("utf8")) as { items?: unknown[] }).items ?? [];
        return items.length >= nodes - faulty.size ? true : undefined;
      },
      300_000,
      1000,
    );
    const metrics = async (): Promise<Histogram> => {
      const own = connect(authority, admin.cert, admin.key);
      try {
        return histogram((await h2Get(own, "/metrics", 30_000)).body.toString("utf8"));
      } finally {
        own.destroy();
      }
    };
    const ticksBefore = server.lines().filter((l) => l.includes('"Tick finished"')).length;
    const before = await metrics();
    const end = Date.now() + Number(values.seconds) * 1000;
    let requests = 0;
    while (Date.now() < end) {
      const r = await h2Get(session, nodeList, 30_000);
      if (r.status === 200) requests++;
      await new Promise((r) => setTimeout(r, Number(values["poll-ms"])));
    }
    const after = await metrics();
    session.destroy();
    const ticks = server.lines().filter((l) => l.includes('"Tick finished"'));
    const parts = ticks.slice(ticksBefore).map((l) => Number(/ parts=(\d+)/.exec(l)?.[1] ?? 0));
    const count = after.count - before.count;
    const result = {
      nodes,
      podsPerNode: Number(values["pods-per-node"]),
      resolutionMs,
      faults: values.fault,
      requests,
      observations: count,
      meanAgeSeconds: (after.sum - before.sum) / count,
      p50AgeAtMostSeconds: quantile(before, after, 0.5),
      p99AgeAtMostSeconds: quantile(before, after, 0.99),
      ticks: parts.length,
      partsPerTick: parts,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await Promise.all(procs.map((p) => p.stop(2000)));
    reservation.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
