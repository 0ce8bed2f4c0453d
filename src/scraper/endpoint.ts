// Which kubelet endpoint each node is scraped from (--kubelet-endpoint). In "auto", a node is scraped
// from /metrics/resource until its kubelet answers 404 there (an old kubelet, or one that does not
// serve the resource metrics), then from the Summary API; every retry period it tries the resource
// endpoint again and returns to it as soon as that works.
import * as log from "../log/index.ts";
import { KubeletHttpError } from "./kubelet/index.ts";

export type KubeletEndpointMode = "auto" | "resource" | "summary";
export type ScrapeEndpoint = "resource" | "summary";

export const ENDPOINT_MODES: readonly KubeletEndpointMode[] = ["auto", "resource", "summary"];
export const DEFAULT_RESOURCE_RETRY_MS = 10 * 60_000;

interface NodeEndpointState {
  endpoint: ScrapeEndpoint;
  /** When a node on the Summary API last found the resource endpoint missing (monotonic ms). */
  summarySinceMs: number;
}

export class EndpointSelector {
  readonly #mode: KubeletEndpointMode;
  readonly #retryMs: number;
  readonly #now: () => number;
  readonly #nodes = new Map<string, NodeEndpointState>();

  constructor(mode: KubeletEndpointMode, retryMs: number, now: () => number) {
    if (!ENDPOINT_MODES.includes(mode)) {
      throw new Error(`kubelet endpoint must be one of ${ENDPOINT_MODES.join(", ")}, got ${String(mode)}`);
    }
    if (!(Number.isFinite(retryMs) && retryMs >= 0)) {
      throw new Error(`resourceRetryMs must be a non-negative number, got ${retryMs}`);
    }
    this.#mode = mode;
    this.#retryMs = retryMs;
    this.#now = now;
  }

  /** The endpoint to request first for this node this tick. */
  first(node: string): ScrapeEndpoint {
    if (this.#mode !== "auto") {
      this.#nodes.set(node, { endpoint: this.#mode, summarySinceMs: 0 });
      return this.#mode;
    }
    const state = this.#nodes.get(node);
    if (state === undefined) {
      this.#nodes.set(node, { endpoint: "resource", summarySinceMs: 0 });
      return "resource";
    }
    if (state.endpoint === "summary" && this.#now() - state.summarySinceMs < this.#retryMs) return "summary";
    return "resource";
  }

  /** The resource request succeeded: a node on the Summary API goes back to resource metrics. */
  resourceWorked(node: string): void {
    const state = this.#nodes.get(node);
    if (state?.endpoint !== "summary") return;
    state.endpoint = "resource";
    log.info("Kubelet serves resource metrics again", { node });
  }

  /**
   * The resource request failed with `err`. Returns true when the node should be scraped from the
   * Summary API right away (same tick): in auto mode, on a 404, and on any failure of the periodic
   * retry of a node already on the Summary API (that retry is speculative and must not cost a point).
   */
  resourceFailed(node: string, path: string, err: unknown): boolean {
    if (this.#mode !== "auto") return false;
    const state = this.#nodes.get(node) ?? { endpoint: "resource", summarySinceMs: 0 };
    this.#nodes.set(node, state);
    const notFound = err instanceof KubeletHttpError && err.status === 404;
    if (state.endpoint === "summary") {
      state.summarySinceMs = this.#now();
      return true;
    }
    if (!notFound) return false;
    state.endpoint = "summary";
    state.summarySinceMs = this.#now();
    log.info("Kubelet does not serve resource metrics; using the Summary API", { node, path });
    return true;
  }

  /** The endpoint the node was last scraped from (undefined for a node not scraped yet). */
  endpointOf(node: string): ScrapeEndpoint | undefined {
    return this.#nodes.get(node)?.endpoint;
  }

  /** Forgets nodes that are gone, so node churn does not grow the table. */
  retain(nodes: ReadonlySet<string>): void {
    for (const name of this.#nodes.keys()) if (!nodes.has(name)) this.#nodes.delete(name);
  }
}
