// Public face of src/kube: API-server access (kubeconfig, HTTP client, reflectors) and selectors.

export type {
  KubeClientOptions,
  RequestOptions,
  Status,
  WatchEvent,
  WatchEventType,
} from "./client.ts";
export { ApiError, apiErrorFromStatus, DEFAULT_USER_AGENT, KubeClient } from "./client.ts";
export type { ClientCertificate, CredentialsOptions } from "./credentials.ts";
export { Credentials, TOKEN_FILE_REFRESH_MS } from "./credentials.ts";
export type {
  ExecClusterInfo,
  ExecConfig,
  ExecCredentialResult,
  ExecEnvVar,
  ExecInteractiveMode,
  RunExecOptions,
} from "./exec.ts";
export { DEFAULT_EXEC_TIMEOUT_MS, execInfo, parseExecConfig, runExecPlugin } from "./exec.ts";
export type { InformerOptions } from "./informers.ts";
export { newNodeReflector, newRunningPodReflector, slimNode, slimPodMetadata } from "./informers.ts";
export type { RestConfig } from "./kubeconfig.ts";
export { IN_CLUSTER_ROOT, loadInClusterConfig, loadKubeconfig, loadRestConfig } from "./kubeconfig.ts";
export type { LabelMap, LabelPredicate } from "./label-index.ts";
export { LabelIndex } from "./label-index.ts";
export type { BackoffOptions, ReflectorOptions } from "./reflector.ts";
export {
  jitteredBackoff,
  LIST_ACCEPT_METADATA,
  objectKey,
  Reflector,
  WATCH_ACCEPT_METADATA,
} from "./reflector.ts";
export type {
  ConfigMap,
  NonResourceAttributes,
  ResourceAttributes,
  ReviewUser,
  SubjectAccessReviewSpec,
  SubjectAccessReviewStatus,
  TokenReviewStatus,
} from "./reviews.ts";
export {
  AUTHENTICATION_CONFIGMAP_NAME,
  AUTHENTICATION_CONFIGMAP_NAMESPACE,
  createSubjectAccessReview,
  createTokenReview,
  getConfigMap,
  newConfigMapReflector,
} from "./reviews.ts";
export type { FieldRequirement, LabelOperator, LabelRequirement, LabelSelector } from "./selector.ts";
export {
  escapeFieldValue,
  everything,
  labelRequirements,
  parseFieldSelector,
  parseLabelSelector,
  validateLabelKey,
  validateLabelValue,
} from "./selector.ts";
export type * from "./types.ts";
