// The HELP and TYPE lines of the /metrics/resource families, as kubelet 1.33 (and 1.34+ for swap)
// declares them (kubernetes/kubernetes pkg/kubelet/metrics/collectors/resource_metrics.go).

import { escapeHelp } from "./promtext.ts";

const STABLE = "[STABLE] ";
const ALPHA = "[ALPHA] ";

function familyHeader(name: string, help: string, type: "counter" | "gauge"): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

// The families' HELP and TYPE lines, written once; the families appear in name order.
export const FAMILY_HEADERS = {
  containerCpu: familyHeader(
    "container_cpu_usage_seconds_total",
    `${STABLE}Cumulative cpu time consumed by the container in core-seconds`,
    "counter",
  ),
  containerMemory: familyHeader(
    "container_memory_working_set_bytes",
    `${STABLE}Current working set of the container in bytes`,
    "gauge",
  ),
  containerStart: familyHeader(
    "container_start_time_seconds",
    `${STABLE}Start time of the container since unix epoch in seconds`,
    "gauge",
  ),
  containerSwap: familyHeader(
    "container_swap_usage_bytes",
    `${ALPHA}Current amount of the container swap usage in bytes. Reported only on non-windows systems`,
    "gauge",
  ),
  nodeCpu: familyHeader(
    "node_cpu_usage_seconds_total",
    `${STABLE}Cumulative cpu time consumed by the node in core-seconds`,
    "counter",
  ),
  nodeMemory: familyHeader(
    "node_memory_working_set_bytes",
    `${STABLE}Current working set of the node in bytes`,
    "gauge",
  ),
  nodeSwap: familyHeader(
    "node_swap_usage_bytes",
    `${ALPHA}Current swap usage of the node in bytes. Reported only on non-windows systems`,
    "gauge",
  ),
  podCpu: familyHeader(
    "pod_cpu_usage_seconds_total",
    `${STABLE}Cumulative cpu time consumed by the pod in core-seconds`,
    "counter",
  ),
  podMemory: familyHeader(
    "pod_memory_working_set_bytes",
    `${STABLE}Current working set of the pod in bytes`,
    "gauge",
  ),
  scrapeError: familyHeader(
    "resource_scrape_error",
    `${STABLE}1 if there was an error while getting container metrics, 0 otherwise`,
    "gauge",
  ),
};
