// --manage-apiservice-ca-bundle: the serving CA goes into the APIServices, so kube-apiserver verifies
// this server instead of skipping verification.
import { ApiError, type KubeClient } from "../kube/index.ts";
import * as log from "../log/index.ts";

const APISERVICES_PATH = "/apis/apiregistration.k8s.io/v1/apiservices";
/** The metrics API's APIService: it must exist, so failures are retried until it does. */
export const METRICS_APISERVICE = "v1beta1.metrics.k8s.io";
/** The diagnostics group's: optional (the chart may leave it out, older RBAC may not name it). */
export const DIAGNOSTICS_APISERVICE = "v1alpha1.diagnostics.metrics-server.x-k8s.io";

/** Names the serving cert covers: the bind address (unless a wildcard), localhost, and the service's DNS names. */
export function servingHosts(bindAddress: string): string[] {
  const hosts = ["localhost", "127.0.0.1", "metrics-server.kube-system.svc", "metrics-server.kube-system"];
  if (bindAddress !== "0.0.0.0" && bindAddress !== "::") hosts.unshift(bindAddress);
  return hosts;
}

/**
 * Writes our CA into the APIService (spec.caBundle, insecureSkipTLSVerify false), retrying until it
 * sticks: the APIService may not exist yet when we start. An `optional` one that is not there
 * (404) or that we may not read (403) is left alone after a few tries, with one line saying so.
 */
export async function publishCABundle(
  kube: KubeClient,
  caPem: string,
  apiservice = METRICS_APISERVICE,
  optional = false,
): Promise<void> {
  const path = `${APISERVICES_PATH}/${apiservice}`;
  const caBundle = Buffer.from(caPem).toString("base64");
  for (let attempt = 1, delayMs = 1000; ; attempt++, delayMs = Math.min(delayMs * 2, 60_000)) {
    try {
      const current = await kube.getJSON<{ spec?: Record<string, unknown> }>(path);
      if (current.spec?.caBundle === caBundle && current.spec?.insecureSkipTLSVerify !== true) return;
      const spec = { ...current.spec, caBundle, insecureSkipTLSVerify: false };
      await kube.putJSON(path, { ...current, spec });
      log.info("Wrote the serving CA into the APIService caBundle", { apiservice });
      return;
    } catch (err) {
      const absent = err instanceof ApiError && (err.status === 404 || err.status === 403);
      if (optional && absent) {
        // Registered a little after us, as an install applies its objects: give it a minute.
        if (attempt >= 6) {
          log.info("Not managing the caBundle of an APIService that is absent or not permitted", {
            apiservice,
            status: (err as ApiError).status,
          });
          return;
        }
      } else {
        log.error(err, "Failed to write the serving CA into the APIService; retrying", {
          apiservice,
          retryIn: `${delayMs}ms`,
        });
      }
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
}
