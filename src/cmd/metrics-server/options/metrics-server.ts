// Metrics server flags: what upstream's own Options adds to the generic apiserver's.
//
// Deliberate difference from upstream: upstream refuses `--metric-resolution` below 10s. Here a
// shorter resolution is accepted with a warning (useful for demos and tests against fast fake
// kubelets). And when `--kubelet-request-timeout` is not given and 90% of the resolution is below its
// 10s default (resolutions under ~11.1s, where upstream would reject its own default), the timeout
// defaults to 90% of the resolution instead. An explicit timeout larger than 90% of the resolution
// still fails with upstream's message.
import { specs as flag, formatGoDuration, msToNs, nsToMs } from "../../../go/index.ts";
import { inSection, type OptionsOf } from "./group.ts";
import { type KubeletClientOptions, kubeletClientFlags } from "./kubelet-client.ts";

export const metricsServerFlags = inSection("Metrics server", {
  kubeconfig: flag.string(
    "kubeconfig",
    "",
    "Path to the kubeconfig used to reach the Kubernetes API server and the Kubelets (in-cluster config when empty)",
  ),
  manageApiserviceCaBundle: flag.bool(
    "manage-apiservice-ca-bundle",
    false,
    "Serve with a certificate signed by a CA generated in --cert-dir and write that CA into the caBundle of " +
      "the APIServices v1beta1.metrics.k8s.io and v1alpha1.diagnostics.metrics-server.x-k8s.io (clearing " +
      "insecureSkipTLSVerify), so kube-apiserver verifies this " +
      "server. Needs get and update on apiservices. Not in upstream.",
  ),
  swapUsage: flag.bool(
    "swap-usage",
    false,
    "Add the kubelet-reported swap usage as 'swap' to NodeMetrics and PodMetrics usage (read by kubectl top " +
      "--show-swap; the HPA ignores it). Not in upstream.",
  ),
  metricResolutionMs: flag.duration(
    "metric-resolution",
    60_000,
    "How often metrics are scraped and the resolution metrics-server keeps; upstream requires at least 10s.",
  ),
});

export type MetricsServerOptions = OptionsOf<typeof metricsServerFlags>;

/** Below this upstream refuses --metric-resolution; we only warn. */
const MIN_UPSTREAM_RESOLUTION_MS = 10_000;

type ResolutionOptions = MetricsServerOptions & Pick<KubeletClientOptions, "kubeletRequestTimeoutMs">;

/**
 * Our own check, reported before all others: a non-positive resolution makes the checks that compare
 * durations with it meaningless.
 */
export function validateResolution(o: MetricsServerOptions): string[] {
  if (o.metricResolutionMs > 0) return [];
  return [
    `metric-resolution should be a positive time duration, but value ${formatGoDuration(o.metricResolutionMs)} provided`,
  ];
}

/**
 * As upstream's Options.validate (the 10s minimum is a warning here, see top). Integer nanosecond
 * arithmetic like Go's `resolution*9/10 < timeout`.
 */
export function validateResolutionAgainstTimeout(o: ResolutionOptions): string[] {
  if (
    o.metricResolutionMs > 0 &&
    (msToNs(o.metricResolutionMs) * 9n) / 10n < msToNs(o.kubeletRequestTimeoutMs)
  ) {
    return [
      "metric-resolution should be larger than kubelet-request-timeout, but metric-resolution value " +
        `${formatGoDuration(o.metricResolutionMs)} kubelet-request-timeout value ` +
        `${formatGoDuration(o.kubeletRequestTimeoutMs)} provided`,
    ];
  }
  return [];
}

/**
 * The short-resolution allowances (see top): warnings for a resolution under upstream's minimum, and
 * the kubelet request timeout lowered to 90% of the resolution when it was not given.
 */
export function applyShortResolution(o: ResolutionOptions, timeoutGiven: boolean): string[] {
  const warnings: string[] = [];
  const resolution = o.metricResolutionMs;
  if (resolution > 0 && resolution < MIN_UPSTREAM_RESOLUTION_MS) {
    warnings.push(
      `metric-resolution ${formatGoDuration(resolution)} is below the 10s minimum upstream metrics-server ` +
        "enforces; accepting it, but kubelets may not refresh resource metrics that often",
    );
  }
  // Applies from 10s to ~11.1s too, where upstream's own default timeout would fail its check.
  const defaultTimeoutMs = kubeletClientFlags.kubeletRequestTimeoutMs.default;
  const ninetyPercentNs = (msToNs(resolution) * 9n) / 10n;
  if (resolution > 0 && !timeoutGiven && ninetyPercentNs < msToNs(defaultTimeoutMs)) {
    o.kubeletRequestTimeoutMs = nsToMs(ninetyPercentNs);
    warnings.push(
      `kubelet-request-timeout not set; using ${formatGoDuration(o.kubeletRequestTimeoutMs)} ` +
        `(90% of metric-resolution) instead of ${formatGoDuration(defaultTimeoutMs)}`,
    );
  }
  return warnings;
}
