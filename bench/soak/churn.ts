// Node and pod churn through the simulator's API, as a cluster's users and autoscalers cause it: pods
// created on random nodes and deleted after a while, nodes added (with a few pods) and removed.
import { type AdminCredentials, apiRequest } from "../../scripts/cluster.ts";

export const CHURN_NAMESPACE = "soak";
const POD_LIFETIME_MS = 120_000;
const NODE_LIFETIME_MS = 180_000;
const PODS_PER_NEW_NODE = 3;

interface Alive {
  name: string;
  bornMs: number;
}

export interface ChurnCounts {
  podsCreated: number;
  podsDeleted: number;
  nodesCreated: number;
  nodesDeleted: number;
  errors: number;
  /** The first few errors, for the report. */
  errorSamples: string[];
}

/** The body of a pod bound to `node` with 1-2 containers of random configured usage. */
export function podBody(name: string, node: string, random: () => number): unknown {
  const containers = Array.from({ length: 1 + Math.floor(random() * 2) }, (_, i) => ({
    name: `c${i}`,
    image: "soak",
    resources: {
      requests: {
        cpu: `${10 + Math.floor(random() * 490)}m`,
        memory: `${16 + Math.floor(random() * 240)}Mi`,
      },
    },
  }));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: CHURN_NAMESPACE, labels: { app: "soak-churn" } },
    spec: { nodeName: node, containers },
  };
}

/** A Ready node with the capacity of a mid-size VM; the simulator gives it an address and a kubelet. */
export function nodeBody(name: string): unknown {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "soak.churn": "true" } },
    status: {
      capacity: { cpu: "8", memory: "32Gi" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

export class Churn {
  readonly counts: ChurnCounts = {
    podsCreated: 0,
    podsDeleted: 0,
    nodesCreated: 0,
    nodesDeleted: 0,
    errors: 0,
    errorSamples: [],
  };
  readonly #creds: AdminCredentials;
  readonly #hosts: readonly string[];
  readonly #random: () => number;
  readonly #podsPerMinute: number;
  readonly #nodesPerMinute: number;
  readonly #pods: Alive[] = [];
  readonly #nodes: (Alive & { pods: string[] })[] = [];
  #seq = 0;
  #podCredit = 0;
  #nodeCredit = 0;

  /** `hosts`: the nodes new pods go to. */
  constructor(
    creds: AdminCredentials,
    hosts: readonly string[],
    random: () => number,
    podsPerMinute: number,
    nodesPerMinute: number,
  ) {
    this.#creds = creds;
    this.#hosts = hosts;
    this.#random = random;
    this.#podsPerMinute = podsPerMinute;
    this.#nodesPerMinute = nodesPerMinute;
  }

  async createNamespace(): Promise<void> {
    const res = await apiRequest(this.#creds, "POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: CHURN_NAMESPACE },
    });
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`POST namespace ${CHURN_NAMESPACE}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    }
  }

  /**
   * One step of `stepMs`: deletes the expired pods and nodes, calls `between`, then creates this
   * step's share of pods and nodes. Deleting and creating in separate batches keeps each node's
   * usage moving one way at a time (between the caller's truth snapshots).
   */
  async step(nowMs: number, stepMs: number, between: () => Promise<void>): Promise<void> {
    const deletions: Promise<void>[] = [];
    while (this.#pods.length > 0 && nowMs - this.#pods[0]!.bornMs >= POD_LIFETIME_MS) {
      const pod = this.#pods.shift()!;
      deletions.push(this.#deletePod(pod.name));
    }
    while (this.#nodes.length > 0 && nowMs - this.#nodes[0]!.bornMs >= NODE_LIFETIME_MS) {
      const node = this.#nodes.shift()!;
      deletions.push(this.#removeNode(node.name, node.pods));
    }
    await Promise.all(deletions);
    await between();
    this.#podCredit += (this.#podsPerMinute * stepMs) / 60_000;
    this.#nodeCredit += (this.#nodesPerMinute * stepMs) / 60_000;
    const creations: Promise<void>[] = [];
    while (this.#podCredit >= 1 && this.#hosts.length > 0) {
      this.#podCredit--;
      const host = this.#hosts[Math.floor(this.#random() * this.#hosts.length)]!;
      const name = `soak-pod-${++this.#seq}`;
      creations.push(
        this.#createPod(name, host).then((ok) => void (ok && this.#pods.push({ name, bornMs: nowMs }))),
      );
    }
    while (this.#nodeCredit >= 1) {
      this.#nodeCredit--;
      creations.push(this.#addNode(nowMs));
    }
    await Promise.all(creations);
  }

  async #addNode(nowMs: number): Promise<void> {
    const name = `soak-node-${++this.#seq}`;
    if (!(await this.#call("POST", "/api/v1/nodes", nodeBody(name)))) return;
    this.counts.nodesCreated++;
    const pods: string[] = [];
    for (let i = 0; i < PODS_PER_NEW_NODE; i++) {
      const pod = `${name}-pod-${i}`;
      if (await this.#createPod(pod, name)) pods.push(pod);
    }
    this.#nodes.push({ name, bornMs: nowMs, pods });
  }

  async #removeNode(name: string, pods: readonly string[]): Promise<void> {
    await Promise.all(pods.map((p) => this.#deletePod(p)));
    if (await this.#call("DELETE", `/api/v1/nodes/${name}`)) this.counts.nodesDeleted++;
  }

  async #createPod(name: string, node: string): Promise<boolean> {
    const path = `/api/v1/namespaces/${CHURN_NAMESPACE}/pods`;
    const ok = await this.#call("POST", path, podBody(name, node, this.#random));
    if (ok) this.counts.podsCreated++;
    return ok;
  }

  async #deletePod(name: string): Promise<void> {
    if (await this.#call("DELETE", `/api/v1/namespaces/${CHURN_NAMESPACE}/pods/${name}`)) {
      this.counts.podsDeleted++;
    }
  }

  async #call(method: string, path: string, body?: unknown): Promise<boolean> {
    let why: string;
    try {
      const res = await apiRequest(this.#creds, method, path, body);
      if (res.status >= 200 && res.status < 300) return true;
      why = `HTTP ${res.status}: ${res.body.slice(0, 200)}`;
    } catch (err) {
      why = (err as Error).message;
    }
    this.counts.errors++;
    if (this.counts.errorSamples.length < 5) this.counts.errorSamples.push(`${method} ${path}: ${why}`);
    return false;
  }
}
