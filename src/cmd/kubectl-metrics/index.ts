// Public face of src/cmd/kubectl-metrics: the command, for `metrics-server explain|status`.
export { type Io, runKubectlMetrics } from "./run.ts";
