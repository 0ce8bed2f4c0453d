// A realistic kubelet /metrics/resource body for tests and measurements (as a 1.33 kubelet writes it):
// families sorted by name with HELP and TYPE lines, samples sorted by (container, namespace, pod), Go's
// 'g' float formatting, millisecond sample timestamps, pod_* and resource_scrape_error families that
// the decoder must skip. Used by the scraper's tests and bench/micro.

export interface FixtureOptions {
  /** Node number: makes pod names and values differ between nodes. */
  node: number;
  pods: number;
  containersPerPod: number;
  /** Tick number: advances CPU counters and timestamps as a live kubelet's would. */
  tick?: number;
  /** Adds node/container swap families (1.34+ with swap on). */
  swap?: boolean;
  /** Sample time of tick 0, Unix ms. */
  baseTimeMs?: number;
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64). */
export function formatGoFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  if (v === 0) return "0";
  const [mantissa, expText] = v.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 6)
    return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(v);
}

const NAMESPACES = ["default", "kube-system", "monitoring", "payments", "web"];
const CONTAINER_NAMES = ["app", "istio-proxy", "log-shipper", "metrics-exporter", "init-helper"];

interface Sample {
  container: string;
  namespace: string;
  pod: string;
  cpuSeconds: number;
  memoryBytes: number;
  startSeconds: number;
  timeMs: number;
  swapBytes: number;
}

/** Renders one node's body; deterministic for the same options. */
export function renderResourceBody(o: FixtureOptions): string {
  const tick = o.tick ?? 0;
  const base = (o.baseTimeMs ?? 1_732_741_800_000) + tick * 15_000;
  const samples: Sample[] = [];
  for (let p = 0; p < o.pods; p++) {
    const namespace = NAMESPACES[(o.node + p) % NAMESPACES.length];
    const pod = `workload-${(o.node * 7919 + p * 104729).toString(36)}-${p.toString(36).padStart(5, "x")}`;
    for (let c = 0; c < o.containersPerPod; c++) {
      const container =
        CONTAINER_NAMES[c % CONTAINER_NAMES.length] + (c >= CONTAINER_NAMES.length ? `-${c}` : "");
      const seed = o.node * 1000 + p * 10 + c;
      samples.push({
        container,
        namespace,
        pod,
        cpuSeconds: Math.round((10 + (seed % 997) * 0.731 + tick * 0.0873 * (1 + (seed % 5))) * 1e6) / 1e6,
        memoryBytes: 4096 * (2000 + ((seed * 31) % 90_000)),
        startSeconds: 1_732_734_047.11 + (seed % 1000) * 0.457,
        timeMs: base - 2000 + (seed % 1500),
        swapBytes: (seed % 3) * 4096,
      });
    }
  }
  samples.sort((a, b) => cmp(a.container, b.container) || cmp(a.namespace, b.namespace) || cmp(a.pod, b.pod));
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, level = "STABLE"): void => {
    lines.push(`# HELP ${name} [${level}] ${help}`, `# TYPE ${name} ${type}`);
  };
  const labels = (s: Sample): string =>
    `{container="${s.container}",namespace="${s.namespace}",pod="${s.pod}"}`;
  family(
    "container_cpu_usage_seconds_total",
    "counter",
    "Cumulative cpu time consumed by the container in core-seconds",
  );
  for (const s of samples)
    lines.push(`container_cpu_usage_seconds_total${labels(s)} ${formatGoFloat(s.cpuSeconds)} ${s.timeMs}`);
  family("container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes");
  for (const s of samples)
    lines.push(`container_memory_working_set_bytes${labels(s)} ${formatGoFloat(s.memoryBytes)} ${s.timeMs}`);
  family("container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds");
  for (const s of samples)
    lines.push(`container_start_time_seconds${labels(s)} ${formatGoFloat(s.startSeconds)}`);
  if (o.swap) {
    family(
      "container_swap_usage_bytes",
      "gauge",
      "Current amount of the container swap usage in bytes. Reported only on non-windows systems",
      "ALPHA",
    );
    for (const s of samples)
      lines.push(`container_swap_usage_bytes${labels(s)} ${formatGoFloat(s.swapBytes)} ${s.timeMs}`);
  }
  const nodeTimeMs = base + 1205;
  family(
    "node_cpu_usage_seconds_total",
    "counter",
    "Cumulative cpu time consumed by the node in core-seconds",
  );
  lines.push(
    `node_cpu_usage_seconds_total ${formatGoFloat(1457.392812 + o.node + tick * 1.25)} ${nodeTimeMs}`,
  );
  family("node_memory_working_set_bytes", "gauge", "Current working set of the node in bytes");
  lines.push(`node_memory_working_set_bytes ${formatGoFloat(1_113_243_648 + o.node * 4096)} ${nodeTimeMs}`);
  family(
    "node_swap_usage_bytes",
    "gauge",
    "Current swap usage of the node in bytes. Reported only on non-windows systems",
    "ALPHA",
  );
  lines.push(`node_swap_usage_bytes ${o.swap ? "8192" : "0"} ${nodeTimeMs}`);
  // Pod families: one line per pod, sorted by (namespace, pod).
  const pods = [...new Map(samples.map((s) => [`${s.namespace}/${s.pod}`, s])).values()].sort(
    (a, b) => cmp(a.namespace, b.namespace) || cmp(a.pod, b.pod),
  );
  const podLabels = (s: Sample): string => `{namespace="${s.namespace}",pod="${s.pod}"}`;
  family("pod_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the pod in core-seconds");
  for (const s of pods)
    lines.push(
      `pod_cpu_usage_seconds_total${podLabels(s)} ${formatGoFloat(s.cpuSeconds * 2.01)} ${s.timeMs + 11}`,
    );
  family("pod_memory_working_set_bytes", "gauge", "Current working set of the pod in bytes");
  for (const s of pods)
    lines.push(
      `pod_memory_working_set_bytes${podLabels(s)} ${formatGoFloat(s.memoryBytes * 2)} ${s.timeMs + 11}`,
    );
  family(
    "resource_scrape_error",
    "gauge",
    "1 if there was an error while getting container metrics, 0 otherwise",
  );
  lines.push("resource_scrape_error 0");
  return lines.join("\n") + "\n";
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
