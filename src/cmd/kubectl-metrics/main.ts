// kubectl-metrics: the kubectl plugin (`kubectl metrics explain pod NAME`, `kubectl metrics status`);
// bin/kubectl-metrics runs this with the bundled Node. Exit codes: docs/cli.md.
import { runKubectlMetrics } from "./run.ts";

// Only as the entry point: importing the file (the image's compile-cache fill imports every
// source) must not run the command.
if (import.meta.main) {
  process.exitCode = await runKubectlMetrics(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    program: "kubectl metrics",
  });
}
