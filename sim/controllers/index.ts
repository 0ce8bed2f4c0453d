export { DeploymentController } from "./deployment.ts";
export { EndpointsController } from "./endpoints.ts";
export { Scheduler } from "./scheduler.ts";

import type { Cluster } from "../state/index.ts";
import { DeploymentController } from "./deployment.ts";
import { EndpointsController } from "./endpoints.ts";
import { Scheduler } from "./scheduler.ts";
import { ServiceAccountController } from "./serviceaccounts.ts";

export interface ControlPlane {
  /** Resolves once every controller's queue is empty (tests). */
  idle(): Promise<void>;
  close(): void;
}

/** Starts kube-controller-manager's part the simulator needs (deployments, endpoints, service accounts) and the scheduler. */
export function startControllers(cluster: Cluster, log: (line: string) => void): ControlPlane {
  const parts = [
    new DeploymentController(cluster, log),
    new Scheduler(cluster, log),
    new EndpointsController(cluster, log),
    new ServiceAccountController(cluster, log),
  ];
  return {
    idle: async () => {
      for (let i = 0; i < 3; i++) await Promise.all(parts.map((p) => p.idle()));
    },
    close: () => {
      for (const p of parts) p.close();
    },
  };
}
