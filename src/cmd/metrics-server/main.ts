// metrics-server: the process. Parses upstream's flags (a bad flag exits 1 with pflag's message before
// anything starts), answers --help and --version, then runs the server until SIGTERM or SIGINT and
// shuts it down gracefully.
import * as log from "../../log/index.ts";
import { SHUTDOWN_DRAIN_MS } from "../../server/index.ts";
import { type Running, run } from "./config.ts";
import { type Options, parseOptions } from "./options/index.ts";

/** Beyond the shutdown delay and the drain: time to close watches, kubelet connections and clients. */
const CLOSE_GRACE_MS = 5000;

/**
 * Runs until SIGTERM or SIGINT, then shuts down gracefully (MetricsServer.stop) and exits 0. A second
 * signal exits 1 at once, as k8s.io/apiserver's signal handler does. Before the listener is up
 * there is nothing to drain: a signal exits 0 at once.
 */
async function serve(o: Options): Promise<void> {
  let running: Running | undefined;
  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) {
      log.info("Second signal, exiting at once", { signal });
      process.exit(1);
    }
    shuttingDown = true;
    log.info("Shutting down", { signal });
    if (!running) process.exit(0);
    const budgetMs = o.shutdownDelayDurationMs + SHUTDOWN_DRAIN_MS + CLOSE_GRACE_MS;
    const hardStop = setTimeout(() => {
      const active = process.getActiveResourcesInfo().join(",");
      log.warning(`Shutdown did not finish within ${budgetMs} ms, exiting`, { active });
      process.exit(0);
    }, budgetMs);
    hardStop.unref();
    await running.server.stop(o.shutdownDelayDurationMs);
    await running.close();
    // No process.exit: the process ends by itself once every connection, watch, thread and timer is
    // closed, which is the proof that nothing leaked; the hard stop above says what did otherwise.
    log.info("Shut down");
    process.exitCode = 0;
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  running = await run(o);
}

function main(): void {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (parsed.kind !== "run") {
    process.stdout.write(parsed.text);
    process.exit(0);
  }
  log.setVerbosity(parsed.options.verbosity);
  for (const w of parsed.warnings) log.warning(w);
  serve(parsed.options).catch((err: unknown) => {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exit(1);
  });
}

/** `metrics-server explain|status`: the kubectl-metrics command, loaded only then (docs/cli.md). */
async function cli(argv: string[]): Promise<void> {
  const { runKubectlMetrics } = await import("../kubectl-metrics/index.ts");
  process.exitCode = await runKubectlMetrics(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    program: "metrics-server",
  });
}

const first = process.argv[2];
if (first === "explain" || first === "status") await cli(process.argv.slice(2));
else main();
