// --manage-apiservice-ca-bundle: the serving CA goes into the APIService, so kube-apiserver verifies
// this server instead of skipping verification.
import type { KubeClient } from "../kube/index.ts";
import * as log from "../log/index.ts";

const APISERVICE_PATH = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io";

/** Names the serving cert covers: the bind address (unless a wildcard), localhost, and the service's DNS names. */
export function servingHosts(bindAddress: string): string[] {
  const hosts = ["localhost", "127.0.0.1", "metrics-server.kube-system.svc", "metrics-server.kube-system"];
  if (bindAddress !== "0.0.0.0" && bindAddress !== "::") hosts.unshift(bindAddress);
  return hosts;
}

/**
 * Writes our CA into the APIService (spec.caBundle, insecureSkipTLSVerify false), retrying until it
 * sticks: the APIService may not exist yet when we start.
 */
export async function publishCABundle(kube: KubeClient, caPem: string): Promise<void> {
  const caBundle = Buffer.from(caPem).toString("base64");
  for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 60_000)) {
    try {
      const current = await kube.getJSON<{ spec?: Record<string, unknown> }>(APISERVICE_PATH);
      if (current.spec?.caBundle === caBundle && current.spec?.insecureSkipTLSVerify !== true) return;
      const spec = { ...current.spec, caBundle, insecureSkipTLSVerify: false };
      await kube.putJSON(APISERVICE_PATH, { ...current, spec });
      log.info("Wrote the serving CA into the APIService caBundle", { apiservice: "v1beta1.metrics.k8s.io" });
      return;
    } catch (err) {
      log.error(err, "Failed to write the serving CA into the APIService; retrying", {
        retryIn: `${delayMs}ms`,
      });
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
}
