// The reasons of an explained 404's causes (docs/metrics-api.md), the strings advice.ts keys on.
// TODO(merge): re-export CauseReason from src/explain once that folder is on this branch.
export type CauseReason =
  | "PodUnknown"
  | "PodNotRunning"
  | "PodLookupFailed"
  | "NodeUnknown"
  | "NodeExcluded"
  | "NodeNotReady"
  | "NodeScrapeFailed"
  | "NodeNotScrapedYet"
  | "NodePointMissing"
  | "ValuesMissing"
  | "ValuesConflicting"
  | "ValuesRefused"
  | "NotInKubeletResponse"
  | "OnePointSoFar"
  | "ContainerRestarted"
  | "DuplicatePod";
