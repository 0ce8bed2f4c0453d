// The simulated kubelets' container runtime: runs the pods bound to a node that the scheduler placed or
// that name an image loaded with --image (scenario pods, and posted pods with other images, stay
// synthetic). Gives each a pod IP from its own loopback block, and stops their containers when the pod
// is deleted or the simulator shuts down.

import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Cluster } from "../state/index.ts";
import type { SimPod } from "../types.ts";
import { ImageStore } from "./image.ts";
import type { HostTools } from "./launch.ts";
import { type IssueServiceAccountToken, PodWorker } from "./pod.ts";
import { Reaper } from "./reaper.ts";

export interface RuntimeOptions {
  cluster: Cluster;
  /** Image reference → OCI archive (the --image flags). */
  images: ReadonlyMap<string, string>;
  /**
   * Image reference → host executable (the --image-command flags): what runs when umoci is missing or
   * the image was not loaded, still in a private mount namespace with the volumes and service-account
   * files at their paths.
   */
  hostCommands?: ReadonlyMap<string, string>;
  /** The simulator's directory (--dir): images unpack under images/, pods live under pods/. */
  dir: string;
  /** Pod IPs are <podIPPrefix>.1 ... .254 (e.g. "127.R.250", disjoint from the node addresses). */
  podIPPrefix: string;
  apiServer: () => { host: string; port: number };
  caCertPem: string;
  issueServiceAccountToken: IssueServiceAccountToken;
  log: (line: string) => void;
}

function findTool(name: string): string {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Next directory.
    }
  }
  return name;
}

export class ContainerRuntime {
  private readonly workers = new Map<string, PodWorker>();
  private readonly usedIPs = new Set<string>();
  private readonly options: RuntimeOptions;
  private readonly images: ImageStore;
  private readonly unsubscribe: () => void;
  private readonly tools: HostTools;
  private readonly hostCommands: ReadonlyMap<string, string>;
  private readonly canUnpack: boolean;
  private closed = false;
  private readonly reaper: Reaper;

  constructor(options: RuntimeOptions) {
    this.options = options;
    this.images = new ImageStore(options.images, join(options.dir, "images"));
    this.hostCommands = options.hostCommands ?? new Map();
    this.reaper = new Reaper();
    this.canUnpack = findTool("umoci") !== "umoci";
    this.tools = {
      mount: findTool("mount"),
      mkdir: findTool("mkdir"),
      touch: findTool("touch"),
      unshare: findTool("unshare"),
    };
    this.unsubscribe = options.cluster.subscribe("pods", (e) => {
      // Read from the stored fields: parsing every pod event's JSON would cost big scenarios dearly.
      if (e.type === "DELETED") {
        if (this.workers.size === 0) return;
        const w = this.workers.get(e.object.object().metadata.uid);
        if (w) void this.remove(w);
        return;
      }
      const pod = options.cluster.pod(e.object.namespace ?? "", e.object.name);
      if (pod) this.consider(pod);
    });
    for (const pod of options.cluster.scenario().pods) this.consider(pod);
  }

  /** Whether the runtime runs `pod`: posted, bound, and placed by the scheduler or naming a loaded image. */
  private manages(pod: SimPod): boolean {
    if (!pod.api || pod.nodeName === "") return false;
    if (pod.phase === "Pending") return true;
    const containers = Array.isArray(pod.api.spec.containers) ? pod.api.spec.containers : [];
    return containers.some((c) => {
      const image = String((c as { image?: unknown }).image);
      return this.images.has(image) || this.hostCommands.has(image);
    });
  }

  private consider(pod: SimPod): void {
    if (this.closed || this.workers.has(pod.uid) || !this.manages(pod)) return;
    const node = this.options.cluster.node(pod.nodeName);
    const podIP = this.allocateIP();
    if (!node || !podIP) {
      this.options.log(
        `runtime: ${pod.namespace}/${pod.name}: ${node ? "no free pod IP" : `node ${pod.nodeName} not found`}`,
      );
      return;
    }
    const worker = new PodWorker(
      {
        cluster: this.options.cluster,
        images: this.images,
        hostCommands: this.hostCommands,
        canUnpack: this.canUnpack,
        tools: this.tools,
        groups: this.reaper,
        dir: this.options.dir,
        apiServer: this.options.apiServer,
        caCertPem: this.options.caCertPem,
        issueServiceAccountToken: this.options.issueServiceAccountToken,
        unavailable:
          process.getuid?.() === 0
            ? undefined
            : "the simulator's container runtime needs root (mount namespaces, overlay mounts, chroot); run kube-sim as root",
        log: (line) => this.options.log(`runtime: ${line}`),
      },
      pod,
      podIP,
      node.internalIP,
    );
    this.workers.set(pod.uid, worker);
    worker
      .start()
      .catch((err: Error) => this.options.log(`runtime: ${pod.namespace}/${pod.name}: ${err.message}`));
  }

  private allocateIP(): string | undefined {
    for (let i = 1; i <= 254; i++) {
      const ip = `${this.options.podIPPrefix}.${i}`;
      if (!this.usedIPs.has(ip)) {
        this.usedIPs.add(ip);
        return ip;
      }
    }
    return undefined;
  }

  private async remove(w: PodWorker, graceMs?: number): Promise<void> {
    this.workers.delete(w.uid);
    await w.stop(graceMs);
    this.usedIPs.delete(w.podIP);
  }

  /** Stops every container: SIGTERM, then SIGKILL after at most `graceMs` (default 5 s). */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await Promise.all([...this.workers.values()].map((w) => this.remove(w, graceMs)));
    this.reaper.close();
  }
}
