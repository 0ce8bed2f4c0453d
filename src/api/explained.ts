// The 404s of a GET of one node or pod, explained: upstream's Status with the causes from
// src/explain added (docs/metrics-api.md "Why a metric is missing"). Without the facts (no scrape
// status, store describer or pod lookup wired) they stay upstream's, byte for byte. An explanation
// that fails is logged and the 404 goes out plain: explaining never turns a 404 into a 500.

import type { ApiResponse, StatusCause, TextResponse } from "../apiserver/index.ts";
import {
  type Cause,
  type ExplainClock,
  explainNode,
  explainPod,
  type NodeFacts,
  type PodLookup,
} from "../explain/index.ts";
import * as log from "../log/index.ts";
import type { MetricsApiDeps } from "./deps.ts";
import { nodeMetricsNotFound, nodeNotFound, podMetricsNotFound, podNotFound } from "./errors.ts";
import { errorText } from "./responses.ts";

const DEFAULT_RESOLUTION_MS = 60_000;

function explains(deps: MetricsApiDeps): boolean {
  return deps.scrapeStatus !== undefined || deps.describer !== undefined || deps.lookupPod !== undefined;
}

function clockOf(deps: MetricsApiDeps, clock: () => number): ExplainClock {
  return {
    nowMs: clock(),
    resolutionMs: deps.resolutionMs ?? DEFAULT_RESOLUTION_MS,
    startedAtMs: deps.startedAtMs,
  };
}

function nodeFacts(deps: MetricsApiDeps, name: string): NodeFacts {
  const node = deps.nodes.get(name);
  const selector = deps.nodeSelector?.empty ? undefined : deps.nodeSelector;
  return {
    name,
    node,
    selected: selector === undefined || selector.matches(node?.metadata.labels),
    nodeSelectorText: selector?.toString(),
    scrape: deps.scrapeStatus?.status(name),
    stored: deps.describer?.describeNode(name),
    known: { scrape: deps.scrapeStatus !== undefined, store: deps.describer !== undefined },
  };
}

/** The causes, or undefined (logged) when explaining failed. */
function safely(what: string, explain: () => Cause[]): StatusCause[] | undefined {
  try {
    return explain();
  } catch (err) {
    log.error(err, "Failed to explain a missing metric", { object: what });
    return undefined;
  }
}

/** GET of a node that has no NodeMetrics (inCache: the node cache has it). */
export function nodeNotFoundExplained(
  deps: MetricsApiDeps,
  clock: () => number,
  name: string,
  inCache: boolean,
): TextResponse {
  const causes = explains(deps)
    ? safely(name, () => explainNode(nodeFacts(deps, name), clockOf(deps, clock)))
    : undefined;
  return inCache ? nodeMetricsNotFound(name, causes) : nodeNotFound(name, causes);
}

function podCauses(
  deps: MetricsApiDeps,
  clock: () => number,
  namespace: string,
  name: string,
  inRunningCache: boolean,
  lookup: PodLookup,
): StatusCause[] | undefined {
  return safely(`${namespace}/${name}`, () => {
    const stored = deps.describer?.describePod(namespace, name);
    const nodeName = (lookup.kind === "found" && lookup.pod.nodeName) || stored?.node;
    return explainPod(
      {
        namespace,
        name,
        inRunningCache,
        lookup,
        stored,
        node: nodeName ? nodeFacts(deps, nodeName) : undefined,
      },
      clockOf(deps, clock),
    );
  });
}

/**
 * GET of a pod that has no PodMetrics (inRunningCache: the Running-pod cache has it). Explained
 * from the caches at once; with a pod lookup, `refine` explains again with the pod as the API
 * server has it.
 */
export function podNotFoundExplained(
  deps: MetricsApiDeps,
  clock: () => number,
  namespace: string,
  name: string,
  inRunningCache: boolean,
): ApiResponse {
  const respond = (causes: StatusCause[] | undefined): TextResponse =>
    inRunningCache ? podMetricsNotFound(namespace, name, causes) : podNotFound(name, causes);
  if (!explains(deps)) return respond(undefined);
  const fromCaches = respond(podCauses(deps, clock, namespace, name, inRunningCache, { kind: "skipped" }));
  const { lookupPod } = deps;
  if (lookupPod === undefined) return fromCaches;
  const refine = async (): Promise<ApiResponse> => {
    const lookup = await lookupPod(namespace, name).catch(
      (err: unknown): PodLookup => ({ kind: "failed", message: errorText(err) }),
    );
    return respond(podCauses(deps, clock, namespace, name, inRunningCache, lookup));
  };
  return { ...fromCaches, refine };
}
