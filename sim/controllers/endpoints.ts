// The Endpoints controller: every Service with a selector gets an Endpoints object of the same name
// listing its pods' IPs, ready pods in `addresses` and the others in `notReadyAddresses`, with the
// Service's ports resolved against each pod (targetPort as a number or a container port's name).
// Only pods created through the API count (scenario pods have no real address), and an Endpoints
// object the controller did not write is left alone, so a hand-made one (a metrics-server run on the
// host, as scripts/cluster.ts registers it) keeps working.

import type { Cluster, KubeObject } from "../state/index.ts";
import { isRecord, mapSelectorMatches, podIP, podReady, records, stringMap } from "./labels.ts";
import { Controller } from "./queue.ts";

/** The annotation kube's endpoints controller stamps on what it writes; here it also marks ownership. */
export const TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";

interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
}

/** A Service port's targetPort resolved against one pod; undefined when the pod has no such named port. */
export function resolveTargetPort(servicePort: Record<string, unknown>, pod: KubeObject): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === "number") return target;
  if (typeof target === "string" && /^\d+$/.test(target)) return Number(target);
  const spec = isRecord(pod.spec) ? pod.spec : {};
  for (const c of records(spec.containers)) {
    for (const p of records(c.ports)) {
      if (p.name === target && typeof p.containerPort === "number") return p.containerPort;
    }
  }
  return undefined;
}

/** The subsets of a Service's Endpoints: pods grouped by their resolved port lists, addresses sorted by IP. */
export function endpointSubsets(service: KubeObject, pods: readonly KubeObject[]): Record<string, unknown>[] {
  const spec = isRecord(service.spec) ? service.spec : {};
  const ports = records(spec.ports);
  const groups = new Map<string, { ports: EndpointPort[]; ready: unknown[]; notReady: unknown[] }>();
  for (const pod of pods) {
    const ip = podIP(pod);
    if (!ip) continue;
    const resolved: EndpointPort[] = [];
    for (const sp of ports) {
      const port = resolveTargetPort(sp, pod);
      if (port === undefined) continue;
      resolved.push({
        ...(typeof sp.name === "string" && sp.name !== "" ? { name: sp.name } : {}),
        port,
        protocol: typeof sp.protocol === "string" ? sp.protocol : "TCP",
      });
    }
    if (ports.length > 0 && resolved.length === 0) continue;
    const key = JSON.stringify(resolved);
    let g = groups.get(key);
    if (!g) {
      g = { ports: resolved, ready: [], notReady: [] };
      groups.set(key, g);
    }
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const address = {
      ip,
      ...(typeof spec.nodeName === "string" ? { nodeName: spec.nodeName } : {}),
      targetRef: {
        kind: "Pod",
        namespace: pod.metadata.namespace,
        name: pod.metadata.name,
        uid: pod.metadata.uid,
      },
    };
    (podReady(pod) ? g.ready : g.notReady).push(address);
  }
  const byIP = (a: unknown, b: unknown) => ((a as { ip: string }).ip < (b as { ip: string }).ip ? -1 : 1);
  return [...groups.values()].map((g) => ({
    ...(g.ready.length > 0 ? { addresses: g.ready.sort(byIP) } : {}),
    ...(g.notReady.length > 0 ? { notReadyAddresses: g.notReady.sort(byIP) } : {}),
    ...(g.ports.length > 0 ? { ports: g.ports } : {}),
  }));
}

export class EndpointsController extends Controller {
  private readonly cluster: Cluster;
  constructor(cluster: Cluster, log: (line: string) => void) {
    super("endpoints-controller", log);
    this.cluster = cluster;
    this.watch(
      cluster.subscribe("services", (e) => {
        const s = e.object.object();
        this.queue.add(`${s.metadata.namespace}/${s.metadata.name}`);
      }),
      cluster.subscribe("pods", (e) => {
        const ns = e.object.namespace ?? "";
        if (e.type !== "DELETED" && !cluster.pod(ns, e.object.name)?.api) return;
        for (const s of cluster.listStored("services", ns)) this.queue.add(`${ns}/${s.name}`);
      }),
    );
    for (const s of cluster.list("services")) this.queue.add(`${s.metadata.namespace}/${s.metadata.name}`);
  }

  protected async reconcile(key: string): Promise<void> {
    const [ns, name] = key.split("/");
    const service = this.cluster.get("services", ns, name);
    const existing = this.cluster.get("endpoints", ns, name);
    const ours = existing?.metadata.annotations?.[TRIGGER_TIME_ANNOTATION] !== undefined;
    const selector = stringMap(isRecord(service?.spec) ? service.spec.selector : undefined);
    if (!service || Object.keys(selector).length === 0) {
      if (existing && ours) await this.cluster.delete("endpoints", ns, name).catch(() => {});
      return;
    }
    if (existing && !ours) return;
    const pods = this.cluster
      .list("pods", ns)
      .filter(
        (p) =>
          this.cluster.pod(ns, p.metadata.name)?.api && mapSelectorMatches(selector, p.metadata.labels ?? {}),
      );
    if (!existing && pods.length === 0) return;
    const subsets = endpointSubsets(service, pods);
    if (existing && JSON.stringify(existing.subsets ?? []) === JSON.stringify(subsets)) return;
    const body = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: {
        name,
        namespace: ns,
        ...(service.metadata.labels ? { labels: service.metadata.labels } : {}),
        annotations: { [TRIGGER_TIME_ANNOTATION]: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") },
      },
      ...(subsets.length > 0 ? { subsets } : {}),
    };
    if (existing) this.cluster.update("endpoints", ns, name, body);
    else await this.cluster.create("endpoints", ns, body);
  }
}
