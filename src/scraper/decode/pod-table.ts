// The pods and containers of the body being decoded, found by name, with their accumulators reused
// from body to body: none outlives a decode (buildScrape copies the numbers out), and made afresh they
// were most of the garbage a body left.
import {
  addContainer,
  type ContainerAccumulator,
  EmptyContainer,
  findContainer,
  newPod,
  type PodAccumulator,
  resetContainer,
} from "./accumulators.ts";

/** Pooled accumulators kept between bodies, at most (a node has up to ~110 pods). */
const POOL_KEPT = 4096;

export class PodTable {
  /** Pods by namespace, then name; pods whose key has a slash by key (see containerOf). */
  #pods: Map<string, Map<string, PodAccumulator>> | undefined;
  #podsBySlashKey: Map<string, PodAccumulator> | undefined;
  /** This body's pods, in order of first sight. */
  readonly list: PodAccumulator[] = [];
  readonly #podPool: PodAccumulator[] = [];
  #podsUsed = 0;
  readonly #containerPool: ContainerAccumulator[] = [];
  #containersUsed = 0;

  begin(): void {
    this.list.length = 0;
    this.#podsUsed = 0;
    this.#containersUsed = 0;
    // One odd body must not make the table hold its size for good.
    if (this.#podPool.length > POOL_KEPT) this.#podPool.length = POOL_KEPT;
    if (this.#containerPool.length > POOL_KEPT) this.#containerPool.length = POOL_KEPT;
  }

  /** Lets go of the body's names. */
  end(): void {
    this.#pods = undefined;
    this.#podsBySlashKey = undefined;
    this.list.length = 0;
  }

  /**
   * The container named so, created empty on first sight (containerFor's, without a key string). Pods
   * are keyed as containerFor keys them, by `namespace + "/" + pod`: without a slash in either name
   * that key is one-to-one with the pair, so a map per namespace serves without building the key;
   * with a slash, two pairs can share a key (and so a pod), which the keyed map reproduces.
   */
  containerOf(namespace: string, podName: string, containerName: string): ContainerAccumulator {
    let pod: PodAccumulator | undefined;
    if (namespace.includes("/") || podName.includes("/")) {
      const key = namespace + "/" + podName;
      this.#podsBySlashKey ??= new Map();
      pod = this.#podsBySlashKey.get(key);
      if (pod === undefined) {
        pod = this.#newPod(namespace, podName);
        this.#podsBySlashKey.set(key, pod);
      }
    } else {
      this.#pods ??= new Map();
      let byName = this.#pods.get(namespace);
      if (byName === undefined) {
        byName = new Map();
        this.#pods.set(namespace, byName);
      }
      pod = byName.get(podName);
      if (pod === undefined) {
        pod = this.#newPod(namespace, podName);
        byName.set(podName, pod);
      }
    }
    let c = findContainer(pod, containerName);
    if (c === undefined) {
      if (this.#containersUsed < this.#containerPool.length) {
        c = this.#containerPool[this.#containersUsed];
        resetContainer(c, containerName);
      } else {
        c = new EmptyContainer(containerName);
        this.#containerPool.push(c);
      }
      this.#containersUsed++;
      addContainer(pod, c);
    }
    return c;
  }

  #newPod(namespace: string, name: string): PodAccumulator {
    let pod: PodAccumulator;
    if (this.#podsUsed < this.#podPool.length) {
      pod = this.#podPool[this.#podsUsed];
      pod.namespace = namespace;
      pod.name = name;
      pod.containers.length = 0;
      pod.byName = undefined;
    } else {
      pod = newPod(namespace, name);
      this.#podPool.push(pod);
    }
    this.#podsUsed++;
    this.list.push(pod);
    return pod;
  }
}
