// Public face of src/explain: why a node or pod has no metrics, from the facts the API gathers
// (pure: no I/O, no clock of its own).

export { livePod } from "./live-pod.ts";
export { explainNode } from "./node.ts";
export { explainPod } from "./pod.ts";
export type {
  Cause,
  CauseReason,
  ExplainClock,
  LivePod,
  NodeFacts,
  PodFacts,
  PodLookup,
} from "./types.ts";
