// Delegated authentication and authorization calls to the API server: TokenReview
// (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1), plus the
// extension-apiserver-authentication ConfigMap an aggregated API server reads its client CAs from.

import type { KubeClient } from "./client.ts";
import { Reflector } from "./reflector.ts";
import type { ObjectMeta } from "./types.ts";

/** The user a TokenReview or the request-header/x509 authenticators name (authentication.k8s.io UserInfo). */
export interface ReviewUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface TokenReviewStatus {
  authenticated?: boolean;
  user?: ReviewUser;
  audiences?: string[];
  error?: string;
}

export interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

export interface NonResourceAttributes {
  path?: string;
  verb?: string;
}

/** SubjectAccessReviewSpec; field order is the order kube-apiserver's webhook authorizer writes. */
export interface SubjectAccessReviewSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: NonResourceAttributes;
  user?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  uid?: string;
}

export interface SubjectAccessReviewStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

// Reviews are small and answered at once; a hung API server must not hold a client request forever.
const REVIEW_TIMEOUT_MS = 10_000;

function statusOf<T>(answer: unknown, kind: string): T {
  if (!answer || typeof answer !== "object")
    throw new Error(`${kind}: the API server's answer is not an object`);
  const status = (answer as { status?: unknown }).status;
  if (status === undefined || status === null) return {} as T;
  if (typeof status !== "object") throw new Error(`${kind}: the API server's answer has a malformed status`);
  return status as T;
}

/**
 * Creates a TokenReview for `token` and returns its status. Transport and API errors throw (an API
 * error as ApiError with its code); `onStatus` hears the code of a successful answer.
 */
export async function createTokenReview(
  client: KubeClient,
  token: string,
  audiences: readonly string[] = [],
  signal?: AbortSignal,
  onStatus?: (statusCode: number) => void,
): Promise<TokenReviewStatus> {
  const spec: { token: string; audiences?: string[] } = { token };
  if (audiences.length > 0) spec.audiences = [...audiences];
  const answer = await client.postJSON<unknown>(
    "/apis/authentication.k8s.io/v1/tokenreviews",
    { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", metadata: {}, spec },
    { signal, timeoutMs: REVIEW_TIMEOUT_MS, onStatus },
  );
  return statusOf<TokenReviewStatus>(answer, "TokenReview");
}

/** Creates a SubjectAccessReview and returns its status; errors and `onStatus` as createTokenReview. */
export async function createSubjectAccessReview(
  client: KubeClient,
  spec: SubjectAccessReviewSpec,
  signal?: AbortSignal,
  onStatus?: (statusCode: number) => void,
): Promise<SubjectAccessReviewStatus> {
  const answer = await client.postJSON<unknown>(
    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", metadata: {}, spec },
    { signal, timeoutMs: REVIEW_TIMEOUT_MS, onStatus },
  );
  return statusOf<SubjectAccessReviewStatus>(answer, "SubjectAccessReview");
}

export interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

export const AUTHENTICATION_CONFIGMAP_NAMESPACE = "kube-system";
export const AUTHENTICATION_CONFIGMAP_NAME = "extension-apiserver-authentication";

/** GET one ConfigMap (API errors, 404 included, throw ApiError). */
export async function getConfigMap(
  client: KubeClient,
  namespace: string,
  name: string,
  signal?: AbortSignal,
): Promise<ConfigMap> {
  return client.getJSON<ConfigMap>(
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`,
    { signal },
  );
}

/**
 * A reflector over exactly one ConfigMap (list+watch with a metadata.name field selector, as
 * client-go's single-object informers do), so changes arrive without polling. Call start().
 */
export function newConfigMapReflector(
  client: KubeClient,
  namespace: string,
  name: string,
  onChange: () => void,
): Reflector<ConfigMap> {
  return new Reflector<ConfigMap>({
    client,
    name: `configmap ${namespace}/${name}`,
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
    fieldSelector: `metadata.name=${name}`,
    onChange,
  });
}
