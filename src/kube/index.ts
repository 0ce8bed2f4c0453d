// Public face of src/kube: API-server access (kubeconfig, credentials, HTTP client, reflectors and
// the caches built on them, reviews) and Kubernetes label and field selectors.

export { ApiError, KubeClient } from "./client.ts";
export { Credentials } from "./credentials.ts";
export type { ExecConfig } from "./exec.ts";
export { type FieldRequirement, parseFieldSelector } from "./field-selector.ts";
export { newNodeReflector, newRunningPodReflector } from "./informers.ts";
export { loadKubeconfig, loadRestConfig, type RestConfig } from "./kubeconfig.ts";
export { LabelIndex, type LabelPredicate } from "./label-index.ts";
export { type LabelSelector, parseLabelSelector } from "./label-selector.ts";
export { getPod } from "./pods.ts";
export { Reflector } from "./reflector.ts";
export {
  AUTHENTICATION_CONFIGMAP_NAME,
  AUTHENTICATION_CONFIGMAP_NAMESPACE,
  type ConfigMap,
  createSubjectAccessReview,
  createTokenReview,
  getConfigMap,
  newConfigMapReflector,
  type SubjectAccessReviewSpec,
} from "./reviews.ts";
export type { Node, ObjectStore, PartialObjectMetadata } from "./types.ts";
