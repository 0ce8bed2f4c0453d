// The bench's API load mix: what kubectl top and an HPA ask the metrics API, at given rates.
import type { HpaTarget } from "./hpa.ts";
import type { LoadTarget } from "./load.ts";

export interface LoadRates {
  /** HPA-style calls per second: one namespace, label selector. */
  rate: number;
  /** list-all-nodes calls per second, and list-all-pods calls per second (JSON and protobuf). */
  listRate: number;
  /** get-one-pod calls per second. */
  getRate: number;
}

/** The call kinds with a rate above 0 (all 0: an idle API). */
export function loadTargets(hpa: HpaTarget, rates: LoadRates): LoadTarget[] {
  const base = "/apis/metrics.k8s.io/v1beta1";
  const ns = encodeURIComponent(hpa.namespace);
  const targets: LoadTarget[] = [
    // One full pod list per 1 / listRate seconds, alternating JSON and protobuf (kubectl top pod
    // -A asks for protobuf first), so adding the protobuf call did not double the list load.
    { name: "listPods", path: `${base}/pods`, ratePerSecond: rates.listRate / 2 },
    {
      name: "listPodsProtobuf",
      path: `${base}/pods`,
      ratePerSecond: rates.listRate / 2,
      phase: 0.5,
      accept: "application/vnd.kubernetes.protobuf,application/json",
    },
    { name: "listNodes", path: `${base}/nodes`, ratePerSecond: rates.listRate },
    {
      name: "hpaNamespaceSelector",
      path: `${base}/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(hpa.selector)}`,
      ratePerSecond: rates.rate,
    },
    {
      name: "getPod",
      path: `${base}/namespaces/${ns}/pods/${encodeURIComponent(hpa.pod)}`,
      ratePerSecond: rates.getRate,
    },
  ];
  return targets.filter((t) => t.ratePerSecond > 0);
}
