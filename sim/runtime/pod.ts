// One pod the runtime runs: its directories (volumes, the service-account files, container layers),
// its containers, and the status the kubelet's status manager would write (phase, IPs, conditions,
// containerStatuses), written back through the Cluster whenever something changes.

import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Cluster } from "../state/index.ts";
import type { SimContainer, SimPod } from "../types.ts";
import { Container, type PodContext, rfc3339 } from "./container.ts";
import type { ImageStore } from "./image.ts";
import type { HostTools } from "./launch.ts";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export type IssueServiceAccountToken = (
  namespace: string,
  serviceAccount: string,
  pod: { name: string; uid: string },
) => string;

export interface PodDeps {
  cluster: Cluster;
  images: ImageStore;
  hostCommands: ReadonlyMap<string, string>;
  canUnpack: boolean;
  tools: HostTools;
  /** The simulator's directory; pods live under <dir>/pods/<ns>_<name>/. */
  dir: string;
  apiServer: () => { host: string; port: number };
  caCertPem: string;
  issueServiceAccountToken: IssueServiceAccountToken;
  groups: { add(pgid: number): void; delete(pgid: number): void };
  /** Set when containers cannot run here (not root): every container waits with this message. */
  unavailable: string | undefined;
  log: (line: string) => void;
}

export class PodWorker {
  readonly uid: string;
  readonly podIP: string;
  private readonly namespace: string;
  private readonly name: string;
  private readonly deps: PodDeps;
  private readonly hostIP: string;
  private readonly podDir: string;
  private readonly runDir: string;
  private containers: Container[] = [];
  private readonly startTimeMs = Date.now();
  private writeQueued = false;
  private stopped = false;
  private readonly transitions = new Map<string, { status: string; at: string }>();

  constructor(deps: PodDeps, pod: SimPod, podIP: string, hostIP: string) {
    this.deps = deps;
    this.uid = pod.uid;
    this.namespace = pod.namespace;
    this.name = pod.name;
    this.podIP = podIP;
    this.hostIP = hostIP;
    this.podDir = join(deps.dir, "pods", `${pod.namespace}_${pod.name}`);
    // Per uid: a pod deleted and posted again under its name must not share (or lose) these files.
    this.runDir = join(this.podDir, `run-${pod.uid}`);
  }

  private get ref(): string {
    return `${this.name}_${this.namespace}`;
  }

  async start(): Promise<void> {
    const pod = this.deps.cluster.pod(this.namespace, this.name);
    if (!pod?.api || pod.uid !== this.uid) return;
    const spec = pod.api.spec;
    await rm(this.runDir, { recursive: true, force: true });
    const volumes = new Map<string, string>();
    for (const v of Array.isArray(spec.volumes) ? spec.volumes.filter(isRecord) : []) {
      // emptyDir is the one volume type the runtime provides; others stay unmountable.
      if (!isRecord(v.emptyDir)) continue;
      const path = join(this.runDir, "volumes", String(v.name));
      await mkdir(path, { recursive: true, mode: 0o777 });
      volumes.set(String(v.name), path);
    }
    const serviceAccount = typeof spec.serviceAccountName === "string" ? spec.serviceAccountName : "default";
    let serviceAccountDir: string | undefined;
    let saError: string | undefined;
    if (spec.automountServiceAccountToken !== false) {
      serviceAccountDir = join(this.runDir, "serviceaccount");
      try {
        const token = this.deps.issueServiceAccountToken(this.namespace, serviceAccount, {
          name: this.name,
          uid: this.uid,
        });
        await mkdir(serviceAccountDir, { recursive: true, mode: 0o755 });
        await writeFile(join(serviceAccountDir, "token"), token, { mode: 0o644 });
        await writeFile(join(serviceAccountDir, "ca.crt"), this.deps.caCertPem, { mode: 0o644 });
        await writeFile(join(serviceAccountDir, "namespace"), this.namespace, { mode: 0o644 });
      } catch (err) {
        saError = `cannot issue a token for service account ${this.namespace}/${serviceAccount}: ${(err as Error).message}`;
      }
    }
    const context: PodContext = {
      ref: this.ref,
      uid: this.uid,
      spec,
      fields: {
        podName: this.name,
        namespace: this.namespace,
        podIP: this.podIP,
        hostIP: this.hostIP,
        nodeName: pod.nodeName,
        serviceAccountName: serviceAccount,
      },
      runDir: this.runDir,
      logDir: this.podDir,
      volumes,
      serviceAccountDir,
      images: this.deps.images,
      hostCommands: this.deps.hostCommands,
      canUnpack: this.deps.canUnpack,
      tools: this.deps.tools,
      apiServer: this.deps.apiServer,
      log: this.deps.log,
      changed: () => this.changed(),
      groups: this.deps.groups,
    };
    const specs = Array.isArray(spec.containers) ? spec.containers.filter(isRecord) : [];
    this.containers = specs.map((c) => new Container(context, c));
    const blocked = this.deps.unavailable ?? saError;
    if (blocked) {
      for (const c of this.containers)
        c.state = { waiting: { reason: "CreateContainerError", message: blocked } };
      this.deps.log(`${this.ref}: ${blocked}`);
      this.changed();
      return;
    }
    this.changed();
    await Promise.all(this.containers.map((c) => c.start()));
  }

  /** Stops every container (SIGTERM, SIGKILL after the grace period) and removes the pod's runtime files. */
  async stop(graceMs?: number): Promise<void> {
    this.stopped = true;
    await Promise.all(this.containers.map((c) => c.stop(graceMs)));
    await rm(this.runDir, { recursive: true, force: true }).catch(() => {});
  }

  private changed(): void {
    if (this.writeQueued || this.stopped) return;
    this.writeQueued = true;
    setImmediate(() => {
      this.writeQueued = false;
      if (!this.stopped) this.writeStatus();
    });
  }

  private condition(type: string, ok: boolean): Record<string, unknown> {
    const status = ok ? "True" : "False";
    const prev = this.transitions.get(type);
    const at = prev?.status === status ? prev.at : rfc3339(Date.now());
    this.transitions.set(type, { status, at });
    return { type, status, lastProbeTime: null, lastTransitionTime: at };
  }

  private writeStatus(): void {
    const pod = this.deps.cluster.pod(this.namespace, this.name);
    if (!pod?.api || pod.uid !== this.uid) return;
    const everStarted = this.containers.some((c) => c.started);
    const allReady = this.containers.length > 0 && this.containers.every((c) => c.ready);
    const phase = everStarted ? "Running" : "Pending";
    const status = {
      phase,
      conditions: [
        this.condition("PodReadyToStartContainers", true),
        this.condition("Initialized", true),
        this.condition("Ready", allReady),
        this.condition("ContainersReady", allReady),
        this.condition("PodScheduled", true),
      ],
      hostIP: this.hostIP,
      hostIPs: [{ ip: this.hostIP }],
      podIP: this.podIP,
      podIPs: [{ ip: this.podIP }],
      startTime: rfc3339(this.startTimeMs),
      containerStatuses: this.containers.map((c) => c.status()),
      qosClass: "Burstable",
    };
    const byName = new Map(this.containers.map((c) => [c.name, c]));
    const containers: SimContainer[] = pod.containers.map((sc) => {
      const c = byName.get(sc.name);
      if (!c?.started) return sc;
      return { ...sc, startTimeMs: c.startedAtMs, liveUsage: () => c.usage };
    });
    this.deps.cluster.addPod({ ...pod, phase, containers, api: { ...pod.api, status } });
  }
}
