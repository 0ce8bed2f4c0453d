export type { IssueServiceAccountToken } from "./pod.ts";
export { ContainerRuntime, type RuntimeOptions } from "./runtime.ts";
