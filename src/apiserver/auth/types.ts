// The contract between the HTTPS listener (../serve.ts) and delegated authentication/authorization
// (delegated.ts): the listener hands over what it saw on the wire, the auth side answers allow or a
// ready-to-send Kubernetes Status. Neither knows how the other works.
import type { X509Certificate } from "node:crypto";

/** Who made a request (kube-apiserver's user.Info). */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** What the listener saw of one request. */
export interface AuthRequest {
  method: string;
  /** URL path, already percent-decoded by URL parsing (e.g. "/apis/metrics.k8s.io/v1beta1/nodes"). */
  path: string;
  query: URLSearchParams;
  /** Request headers, names lower-case (HTTP/1.1 and HTTP/2 alike). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * The client certificate chain as presented, leaf first (empty without a client certificate). The
   * listener does NOT verify it: the auth side verifies it against the CAs current at request time,
   * so CA rotation needs no new TLS context.
   */
  peerCertificates: readonly X509Certificate[];
}

export type AuthDecision =
  | { allowed: true; user: UserInfo }
  /**
   * `body` is a complete metav1.Status JSON document ending in "\n" (401 Unauthorized or 403
   * Forbidden), sent as application/json. A 500 is what kube-apiserver answers when it cannot ask the
   * API server (a failed SubjectAccessReview): its body is plain text, and `contentType` says so.
   * Send `contentType` when present, else application/json.
   */
  | { allowed: false; status: 401 | 403 | 500; body: string; contentType?: string };

/** The listener calls this for every request, health paths included (always-allow is the auth side's job). */
export interface RequestAuth {
  check(req: AuthRequest): Promise<AuthDecision>;
}
