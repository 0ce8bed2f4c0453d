// `npm run soak`: the metrics-server under faults, churn and API load for a long time, every served
// value checked against the simulator's truth. See USAGE in soak/args.ts and docs/soak.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readAdminCredentials, readTruth, registerMetricsApi } from "../scripts/cluster.ts";
import { setFault } from "../test/support/faults.ts";
import { reserveIpBase } from "../test/support/loopback.ts";
import { poll } from "../test/support/poll.ts";
import type { NodeProcess } from "../test/support/processes.ts";
import { findHpaTarget, simHpaArgs } from "./hpa.ts";
import { connect, h2Get } from "./load.ts";
import { LoadWorkers } from "./load-threads.ts";
import { root, startMetricsServer, startSimulator } from "./processes.ts";
import { readMemory } from "./procfs.ts";
import { machineInfo } from "./run.ts";
import { parseSoakArgs, type SoakArgs, USAGE, UsageError } from "./soak/args.ts";
import { Churn } from "./soak/churn.ts";
import { drawFaults, FaultLog, faultChanges, seededRandom } from "./soak/faults.ts";
import {
  failures,
  type LoadRow,
  logMessage,
  logSeverity,
  Minutes,
  type Restart,
  renderSummary,
  type Severity,
  type SoakReport,
  type Spread,
} from "./soak/report.ts";
import { type ServedItem, TruthHistory, type WrongValue } from "./soak/truth.ts";
import { percentile, summarize } from "./stats.ts";
import { loadTargets } from "./targets.ts";

const CHURN_STEP_MS = 10_000;
const RSS_SAMPLE_MS = 5_000;
const WRONG_SAMPLES = 50;

const status = (msg: string): void => {
  process.stderr.write(`soak: ${new Date().toISOString().slice(11, 19)} ${msg}\n`);
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function spread(values: readonly number[]): Spread {
  return {
    min: values.length === 0 ? Number.NaN : Math.min(...values),
    p50: percentile(values, 50),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
  };
}

/** Runs `fn` every periodMs until `until` (its runs never overlap); resolves after the last one. */
async function every(periodMs: number, untilMs: number, fn: () => Promise<void>): Promise<void> {
  for (let next = Date.now(); next < untilMs; next += periodMs) {
    await sleep(Math.max(0, next - Date.now()));
    if (Date.now() >= untilMs) return;
    await fn();
  }
}

export async function runSoak(args: SoakArgs): Promise<SoakReport> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const reservation = reserveIpBase();
  const dir = mkdtempSync(join(os.tmpdir(), "ms-soak-"));
  const procs: NodeProcess[] = [];
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    status(`${sig}: stopping`);
    stopping = true;
    void Promise.all(procs.map((p) => p.stop(1000))).finally(() => {
      reservation.release();
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const random = seededRandom(args.seed);
  try {
    const ipBase = reservation.ipBase;
    const serverIP = `${ipBase}.0.2`;
    const port = 20000 + Math.floor(Math.random() * 40000);
    const authority = `${serverIP}:${port}`;
    const startTimeoutMs = 120_000 + args.nodes * args.podsPerNode * 2;

    status(`starting the simulator: ${args.nodes} nodes × ${args.podsPerNode} pods on ${ipBase}.0.0/16`);
    const { sim, pods } = await startSimulator({
      dir,
      ipBase,
      nodes: args.nodes,
      podsPerNode: args.podsPerNode,
      containersPerPod: args.containersPerPod,
      extraArgs: simHpaArgs(args.hpaReplicas),
      echo: args.verbose,
      timeoutMs: startTimeoutMs,
    });
    procs.push(sim);
    const kubeconfig = join(dir, "kubeconfig");
    const admin = readAdminCredentials(kubeconfig);
    await registerMetricsApi(kubeconfig, serverIP, port);
    const hpa = await findHpaTarget(kubeconfig, args.hpaReplicas);
    const firstTruth = await readTruth(kubeconfig);
    // The node of the load's get-one-pod target stays healthy: a pod of a faulty node is rightly
    // absent, and the load would count that 404 as an error of the server.
    const getPodNode = firstTruth.pods.find((p) => p.namespace === hpa.namespace && p.name === hpa.pod)?.node;
    const scenarioNodes = firstTruth.nodes.map((n) => n.name);
    const faultCandidates = scenarioNodes.filter((n) => n !== getPodNode);

    // The server, started again should it exit: every exit is a restart, reported.
    // Lines before the soak's start are the start-up's; from its start on they count by minute.
    let soakMinutes: Minutes | undefined;
    const restarts: Restart[] = [];
    const messages = new Map<string, { severity: Severity; message: string; count: number }>();
    const onLine = (line: string): void => {
      if (!soakMinutes) return;
      soakMinutes.log(Date.now(), line);
      const severity = logSeverity(line);
      if (severity !== "W" && severity !== "E" && severity !== "F") return;
      const message = logMessage(line) ?? line.slice(0, 120);
      const k = `${severity} ${message}`;
      const m = messages.get(k) ?? { severity, message, count: 0 };
      m.count++;
      messages.set(k, m);
    };
    let server!: NodeProcess;
    const launch = (): void => {
      status(`starting the metrics-server on ${authority} (resolution ${args.resolution})`);
      server = startMetricsServer({ dir, serverIP, port, resolution: args.resolution, echo: args.verbose });
      procs.push(server);
      server.onLine(onLine);
      const me = server;
      me.child.on("exit", (code, signal) => {
        if (stopping) return;
        restarts.push({
          atMinute: Math.max(0, (soakMinutes?.rows.length ?? 0) - 1),
          code,
          signal,
          tail: me.tail(40),
        });
        status(`the metrics-server exited (code ${code}, signal ${signal}): restart ${restarts.length}`);
        launch();
      });
    };
    launch();
    const get = async (path: string, timeoutMs = 60_000) => {
      const session = connect(authority, admin.cert, admin.key);
      try {
        return await h2Get(session, path, timeoutMs);
      } finally {
        session.destroy();
      }
    };
    await poll(
      "metrics for every node",
      async () => {
        const r = await get("/apis/metrics.k8s.io/v1beta1/nodes");
        if (r.status !== 200) return undefined;
        const items = (JSON.parse(r.body.toString("utf8")) as { items?: unknown[] }).items ?? [];
        return items.length >= args.nodes ? true : undefined;
      },
      startTimeoutMs,
      1000,
    );

    const churn = new Churn(admin, scenarioNodes, random, args.podChurn, args.nodeChurn);
    await churn.createNamespace();
    const history = new TruthHistory();
    history.add(Date.now(), firstTruth);
    // Truth snapshots, one read at a time so that they are added in order.
    let truthReads: Promise<unknown> = Promise.resolve();
    const snapshot = (): Promise<void> => {
      const read = truthReads.then(async () => {
        const sentMs = Date.now();
        const truth = await readTruth(kubeconfig);
        history.add(Date.now(), truth, sentMs);
      });
      truthReads = read.catch(() => {});
      return read;
    };

    const startMs = Date.now();
    const endMs = startMs + args.minutes * 60_000;
    const minutes = new Minutes(startMs);
    soakMinutes = minutes;
    status(`soaking for ${args.minutes} min (seed ${args.seed})`);

    const workers = await LoadWorkers.start(loadTargets(hpa, args), {
      authority,
      cert: admin.cert,
      key: admin.key,
      concurrency: args.concurrency,
      durationMs: args.minutes * 60_000,
    });
    const load = workers.run();

    const rss = every(RSS_SAMPLE_MS, endMs, async () => {
      try {
        minutes.rss(Date.now(), readMemory(server.pid).rss);
      } catch {
        // between a restart's exit and the new process
      }
    });

    let faults = new Map<string, string>();
    const faultLog = new FaultLog();
    const bySpec: Record<string, number> = {};
    let draws = 0;
    const faultLoop = every(args.faultPeriodMs, endMs, async () => {
      const next = drawFaults(faultCandidates, args.faultFraction, args.faults, random);
      const changes = faultChanges(faults, next);
      const sentMs = Date.now();
      const dones = changes.map((c) => faultLog.change(c.node, c.fault, sentMs));
      await Promise.all(changes.map((c) => setFault({ kubeconfig }, c.node, c.fault)));
      const doneMs = Date.now();
      for (const done of dones) done(doneMs);
      faults = next;
      draws++;
      for (const spec of next.values()) bySpec[spec] = (bySpec[spec] ?? 0) + 1;
      minutes.row(Date.now()).faultedNodes = next.size;
    });

    const nodesServed: number[] = [];
    const missingHealthy: number[] = [];
    const missingHealthySamples: string[] = [];
    const podsServed: number[] = [];
    const wrongSamples: WrongValue[] = [];
    const failedReadSamples: string[] = [];
    let rounds = 0;
    let failedReads = 0;
    let checkedValues = 0;
    let wrongValues = 0;
    let partialPods = 0;
    const failedTruthRead = (err: unknown): void => {
      failedReads++;
      if (failedReadSamples.length < 10) failedReadSamples.push(`/sim/truth: ${(err as Error).message}`);
    };
    let churnBefore = { ...churn.counts };
    const churnLoop = every(CHURN_STEP_MS, endMs, async () => {
      await churn.step(Date.now(), CHURN_STEP_MS, () => snapshot().catch(failedTruthRead));
      await snapshot().catch(failedTruthRead);
      const row = minutes.row(Date.now());
      const c = churn.counts;
      row.podsCreated += c.podsCreated - churnBefore.podsCreated;
      row.podsDeleted += c.podsDeleted - churnBefore.podsDeleted;
      row.nodesCreated += c.nodesCreated - churnBefore.nodesCreated;
      row.nodesDeleted += c.nodesDeleted - churnBefore.nodesDeleted;
      churnBefore = { ...c };
    });

    const readList = async (path: string): Promise<ServedItem[] | undefined> => {
      const r = await get(`/apis/metrics.k8s.io/v1beta1/${path}`);
      if (r.status === 200) return (JSON.parse(r.body.toString("utf8")) as { items: ServedItem[] }).items;
      failedReads++;
      const why = `${path}: ${r.status === 0 ? r.error : `HTTP ${r.status}: ${r.body.toString("utf8", 0, 200)}`}`;
      if (failedReadSamples.length < 10) failedReadSamples.push(why);
      return undefined;
    };
    const checkLoop = every(args.checkPeriodMs, endMs, async () => {
      const nodes = await readList("nodes");
      const podList = await readList("pods");
      const fetchedAtMs = Date.now();
      try {
        await snapshot();
      } catch (err) {
        failedTruthRead(err);
        return;
      }
      history.prune(Date.now() - 30 * 60_000);
      if (!nodes || !podList) return;
      rounds++;
      nodesServed.push(nodes.length);
      podsServed.push(podList.length);
      const row = minutes.row(fetchedAtMs);
      // A node without a fault for three resolutions should be served: one to come back, one for
      // its second point, and one for the tick and the check's own timing.
      const missing = history.missingHealthyNodes(
        nodes,
        fetchedAtMs - 3 * args.resolutionMs,
        faultLog.faultedAt,
      );
      missingHealthy.push(missing.length);
      for (const name of missing) {
        if (missingHealthySamples.length < WRONG_SAMPLES) {
          missingHealthySamples.push(`${name} (minute ${Math.floor((fetchedAtMs - startMs) / 60_000)})`);
        }
      }
      const approximate = faultLog.approximateAt;
      for (const result of [
        history.checkNodes(nodes, fetchedAtMs, approximate),
        history.checkPods(podList, fetchedAtMs, approximate),
      ]) {
        checkedValues += result.values;
        wrongValues += result.wrong.length;
        partialPods += result.partialPods;
        row.checkedValues += result.values;
        row.wrongValues += result.wrong.length;
        for (const w of result.wrong) {
          // Which faults its node had over the sample's span (with the slack the check allows).
          if (w.node !== undefined && w.span !== undefined) {
            w.faults = faultLog.specsAt(w.node, w.span.fromMs - 2000, w.span.toMs + 3000);
          }
          if (wrongSamples.length < WRONG_SAMPLES) wrongSamples.push(w);
        }
        if (result.wrong.length > 0)
          status(`${result.wrong.length} wrong value(s), e.g. ${JSON.stringify(result.wrong[0])}`);
      }
      status(
        `minute ${Math.floor((fetchedAtMs - startMs) / 60_000)}: ${nodes.length} nodes, ${podList.length} pods served; ` +
          `${checkedValues} values checked, ${wrongValues} wrong; ${missing.length} healthy nodes missing; ` +
          `${restarts.length} restarts`,
      );
    });

    await Promise.all([rss, faultLoop, churnLoop, checkLoop]);
    status("the soak's time is up: waiting for the load's last requests");
    const results = await load;
    const loadRows: Record<string, LoadRow> = {};
    for (const { result: r } of results) {
      loadRows[r.name] = {
        path: r.path,
        ratePerSecond: r.ratePerSecond,
        scheduled: r.scheduled,
        completed: r.completed,
        errors: r.errors,
        unfinished: r.unfinished,
        statuses: r.statuses,
        latencyMs: summarize(r.latenciesMs),
        errorSamples: r.errorSamples,
      };
    }
    stopping = true;
    return {
      schema: "metrics-server-ts/soak/v1",
      startedAt,
      params: {
        minutes: args.minutes,
        nodes: args.nodes,
        podsPerNode: args.podsPerNode,
        containersPerPod: args.containersPerPod,
        resolution: args.resolution,
        resolutionMs: args.resolutionMs,
        faultFraction: args.faultFraction,
        faultPeriodMs: args.faultPeriodMs,
        faults: args.faults,
        podChurn: args.podChurn,
        nodeChurn: args.nodeChurn,
        checkPeriodMs: args.checkPeriodMs,
        rate: args.rate,
        listRate: args.listRate,
        getRate: args.getRate,
        concurrency: args.concurrency,
        hpaReplicas: args.hpaReplicas,
        seed: args.seed,
      },
      machine: {
        cpuModel: machine.cpuModel,
        cores: machine.cores,
        nodeVersion: machine.nodeVersion,
        gitCommit: machine.gitCommit,
      },
      cluster: { nodes: args.nodes, pods, faultCandidates: faultCandidates.length },
      restarts,
      checks: {
        rounds,
        failedReads,
        failedReadSamples,
        nodesServed: spread(nodesServed),
        podsServed: spread(podsServed),
        checkedValues,
        wrongValues,
        wrongSamples,
        partialPods,
        missingHealthyNodes: spread(missingHealthy),
        missingHealthySamples,
      },
      faults: { draws, bySpec },
      churn: churn.counts,
      topMessages: [...messages.values()].sort((a, b) => b.count - a.count).slice(0, 20),
      // Lines logged while the load drained belong to no minute of the soak.
      minutes: minutes.rows.slice(0, args.minutes),
      load: loadRows,
    };
  } finally {
    stopping = true;
    await Promise.all(procs.map((p) => p.stop()));
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    reservation.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  let args: SoakArgs;
  try {
    args = parseSoakArgs(process.argv.slice(2), join(root, "bench", "results"));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`soak: ${err.message}\n\n${USAGE}`);
      process.exit(1);
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const report = await runSoak(args);
  mkdirSync(args.outDir, { recursive: true });
  const jsonPath = join(args.outDir, `soak-${report.startedAt.replace(/[:.]/g, "-")}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${renderSummary(report)}\nwrote ${jsonPath}\n`);
  if (failures(report).length > 0) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
