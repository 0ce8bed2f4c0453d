// Which pods the bench's "HPA call" asks for. A real HPA reads the metrics of one Deployment — a few
// to a few dozen pods — whatever the cluster's size. The simulator's `--hpa-replicas N` makes such a
// Deployment: N Running pods in namespace `default` labelled `app=hpa-target`. With N = 0 the bench
// falls back to a label of the generated workload, which matches a share of ALL pods (so that call
// grows with the cluster and is not HPA-sized).
import { apiRequest, readAdminCredentials } from "../scripts/cluster.ts";

export const HPA_NAMESPACE = "default";
export const HPA_LABEL_KEY = "app";
export const HPA_LABEL_VALUE = "hpa-target";

export interface PodMeta {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
}

export interface HpaTarget {
  namespace: string;
  /** A label selector ("key=value"), or "" for none. */
  selector: string;
  /** One pod the selector matches: the "get one pod" call reads it. */
  pod: string;
  /** Pods the selector matched in the simulator's API (the fixed-size Deployment only; else 0). */
  matchedPods: number;
}

/** The simulator flags for a fixed-size HPA target ([] when there is none). */
export function simHpaArgs(replicas: number): string[] {
  return replicas > 0 ? ["--hpa-replicas", String(replicas)] : [];
}

/** The Kubernetes API path the bench lists pods from to choose its target. */
export function hpaPodListPath(replicas: number): string {
  if (replicas > 0) {
    const selector = encodeURIComponent(`${HPA_LABEL_KEY}=${HPA_LABEL_VALUE}`);
    return `/api/v1/namespaces/${HPA_NAMESPACE}/pods?labelSelector=${selector}`;
  }
  return "/api/v1/pods?limit=500";
}

/**
 * Chooses the HPA call's namespace, selector and a pod from a pod list (the answer to
 * hpaPodListPath). Throws, with what to do, when the list cannot give one.
 */
export function chooseHpaTarget(replicas: number, items: readonly PodMeta[]): HpaTarget {
  if (replicas > 0) {
    const matching = items
      .filter(
        (p) =>
          p.metadata.namespace === HPA_NAMESPACE && p.metadata.labels?.[HPA_LABEL_KEY] === HPA_LABEL_VALUE,
      )
      .map((p) => p.metadata.name)
      .sort();
    if (matching.length === 0) {
      throw new Error(
        `the simulator has no pods labelled ${HPA_LABEL_KEY}=${HPA_LABEL_VALUE} in namespace ${HPA_NAMESPACE} ` +
          `although it was started with --hpa-replicas ${replicas}; use --hpa-replicas 0 for a generated workload's label`,
      );
    }
    return {
      namespace: HPA_NAMESPACE,
      selector: `${HPA_LABEL_KEY}=${HPA_LABEL_VALUE}`,
      pod: matching[0]!,
      matchedPods: matching.length,
    };
  }
  if (items.length === 0) throw new Error("the simulated cluster has no pods: use --pods-per-node ≥ 1");
  const workload = items.find((p) => p.metadata.labels?.[HPA_LABEL_KEY] !== undefined) ?? items[0]!;
  const labels = workload.metadata.labels ?? {};
  const appValue = labels[HPA_LABEL_KEY];
  const [key, value] =
    appValue !== undefined ? [HPA_LABEL_KEY, appValue] : (Object.entries(labels)[0] ?? ["", ""]);
  return {
    namespace: workload.metadata.namespace,
    selector: key === "" ? "" : `${key}=${value}`,
    pod: workload.metadata.name,
    matchedPods: 0,
  };
}

/** Lists pods from the simulator (admin credentials of `kubeconfig`) and chooses the target. */
export async function findHpaTarget(kubeconfig: string, replicas: number): Promise<HpaTarget> {
  const path = hpaPodListPath(replicas);
  const res = await apiRequest(readAdminCredentials(kubeconfig), "GET", path);
  if (res.status !== 200) {
    throw new Error(`GET ${path} from the simulator: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
  }
  let items: unknown;
  try {
    items = (JSON.parse(res.body) as { items?: unknown }).items;
  } catch (err) {
    throw new Error(`GET ${path} from the simulator: not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(items)) throw new Error(`GET ${path} from the simulator: the answer has no items list`);
  const pods = items.filter(
    (p): p is PodMeta => typeof p?.metadata?.name === "string" && typeof p?.metadata?.namespace === "string",
  );
  return chooseHpaTarget(replicas, pods);
}
