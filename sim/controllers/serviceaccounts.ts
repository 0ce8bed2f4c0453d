// The ServiceAccount controller: every namespace has a ServiceAccount "default", recreated if deleted,
// as kube-controller-manager's does. Pods that name no service account run as it, and the runtime
// binds their projected token to it, so without it such a pod could not start.

import type { Cluster } from "../state/index.ts";
import { Controller } from "./queue.ts";

export const DEFAULT_SERVICE_ACCOUNT = "default";

export class ServiceAccountController extends Controller {
  private readonly cluster: Cluster;

  constructor(cluster: Cluster, log: (line: string) => void) {
    super("serviceaccount-controller", log);
    this.cluster = cluster;
    this.watch(
      cluster.subscribe("namespaces", (e) => {
        if (e.type !== "DELETED") this.queue.add(e.object.name);
      }),
      cluster.subscribe("serviceaccounts", (e) => {
        if (e.type === "DELETED" && e.object.name === DEFAULT_SERVICE_ACCOUNT)
          this.queue.add(e.object.namespace ?? "");
      }),
    );
    for (const ns of cluster.list("namespaces")) this.queue.add(ns.metadata.name);
  }

  protected async reconcile(namespace: string): Promise<void> {
    const ns = this.cluster.get("namespaces", undefined, namespace);
    // A Terminating namespace takes no new objects.
    if (!ns || ns.metadata.deletionTimestamp !== undefined) return;
    if (this.cluster.get("serviceaccounts", namespace, DEFAULT_SERVICE_ACCOUNT)) return;
    await this.cluster.create("serviceaccounts", namespace, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace },
    });
  }
}
