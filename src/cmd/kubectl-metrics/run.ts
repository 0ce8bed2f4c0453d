// The command: parse, connect as the user, find out, print (text or JSON), return the exit code.
// Shared by bin/kubectl-metrics (the kubectl plugin) and `metrics-server explain|status`.

import { type Command, parseCommand, USAGE, UsageError } from "./args.ts";
import { connect, type Session } from "./connect.ts";
import { explainNode, explainPod } from "./explain.ts";
import { formatReport } from "./format.ts";
import { EXIT, type ExitCode, type Report } from "./report.ts";
import { status } from "./status.ts";

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** The name usage errors are reported under ("kubectl metrics" or "metrics-server"). */
  program: string;
}

export async function runKubectlMetrics(argv: readonly string[], io: Io): Promise<ExitCode> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${io.program}: ${err.message}\nSee '${io.program} explain --help'.\n`);
    return EXIT.usage;
  }
  if (command.kind === "help") {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  let session: Session;
  try {
    session = connect(command.conn, io.env, "kubectl-metrics");
  } catch (err) {
    // A kubeconfig that cannot be read or has no such context: nothing could be asked.
    io.stderr(`${io.program}: ${(err as Error).message}\n`);
    return EXIT.unknown;
  }
  try {
    let report: Report;
    if (command.kind === "status") report = await status(session);
    else if (command.kind === "explain-node") report = await explainNode(session, command.name);
    else report = await explainPod(session, command.namespace ?? session.namespace, command.name);
    if (command.output === "json") io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    else io.stdout(formatReport(report, Date.now()));
    return report.exitCode;
  } catch (err) {
    // A failure of this program rather than of the cluster: still "could not find out".
    io.stderr(`${io.program}: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.unknown;
  } finally {
    await session.close();
  }
}
