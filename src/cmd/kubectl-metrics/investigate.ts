// When the API server could not give the answer (exit 3): what stands in the way, found out as far
// as the user's permissions allow — the APIService's Available condition, the pods behind its Service —
// and what to do.

import type { Answer, Session } from "./connect.ts";
import type { Problem } from "./report.ts";

export const METRICS_APISERVICE = "v1beta1.metrics.k8s.io";
export const DIAGNOSTICS_APISERVICE = "v1alpha1.diagnostics.metrics-server.x-k8s.io";

interface ApiServiceBody {
  spec?: { service?: { namespace?: string; name?: string } | null };
  status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

interface PodBody {
  metadata?: { name?: string };
  status?: {
    phase?: string;
    conditions?: { type?: string; status?: string }[];
    containerStatuses?: {
      restartCount?: number;
      state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
    }[];
  };
}

/** The answer was not about the object: an error of the way there (403, 401, 503, no such API). */
export async function investigate(
  session: Session,
  answer: Exclude<Answer, { kind: "ok" }>,
  apiServiceName: string,
  what: string,
): Promise<Problem> {
  if (answer.kind === "unreachable") {
    // The API server may answer while the API behind it (through the aggregator) does not.
    if ((await session.get("/version")).kind === "ok") {
      const problem: Problem = {
        reason: "Unavailable",
        message: `${what}: ${answer.message}, though the API server itself answers: the API behind it does not`,
        actions: [],
      };
      await readApiService(session, apiServiceName, problem);
      return problem;
    }
    return {
      reason: "Unreachable",
      message: `could not reach the API server at ${session.server}: ${answer.message}`,
      actions: ["check the kubeconfig's server, the network to it, and --request-timeout"],
    };
  }
  if (answer.code === 401) {
    return {
      reason: "Unauthorized",
      message: `the API server does not accept your credentials: ${answer.message}`,
      actions: ["renew the kubeconfig's credentials (or pick another --context)"],
    };
  }
  if (answer.code === 403) {
    return {
      reason: "Forbidden",
      message: answer.message,
      actions: [forbiddenAction(apiServiceName, what)],
    };
  }
  const problem: Problem = {
    reason: answer.code === 404 ? "NotRegistered" : answer.code === 503 ? "Unavailable" : "Unexpected",
    message: `${what}: the API server answered ${answer.code}: ${answer.message}`,
    actions: [],
  };
  await readApiService(session, apiServiceName, problem);
  return problem;
}

function forbiddenAction(apiServiceName: string, what: string): string {
  if (apiServiceName === DIAGNOSTICS_APISERVICE)
    return `you may not ${what}: ask for the ClusterRole system:metrics-server-diagnostics-reader (aggregated to view, edit and admin)`;
  return `you may not ${what}: ask for the ClusterRole system:aggregated-metrics-reader (aggregated to view, edit and admin), e.g. kubectl create clusterrolebinding metrics-reader --clusterrole=system:aggregated-metrics-reader --user=YOU`;
}

async function readApiService(session: Session, name: string, problem: Problem): Promise<void> {
  const answer = await session.get(`/apis/apiregistration.k8s.io/v1/apiservices/${name}`);
  if (answer.kind !== "ok") {
    const notFound = answer.kind === "error" && answer.code === 404;
    problem.apiService = {
      name,
      available: notFound
        ? "NotFound"
        : answer.kind === "error" && answer.code === 403
          ? "Forbidden"
          : "Unknown",
    };
    if (notFound) {
      problem.reason = "NotRegistered";
      problem.actions.push(
        name === DIAGNOSTICS_APISERVICE
          ? `the APIService ${name} is not registered: apply it with metrics-server's manifests (deploy/ or the Helm chart, which register it beside ${METRICS_APISERVICE})`
          : `the APIService ${name} is not registered: deploy metrics-server (its manifests or Helm chart register it)`,
      );
    } else {
      problem.actions.push(
        `could not read the APIService ${name} (${answer.kind === "error" ? answer.code : answer.message}); someone who may can run: kubectl get apiservice ${name} -o yaml`,
      );
    }
    return;
  }
  const body = answer.body as ApiServiceBody;
  const available = body.status?.conditions?.find((c) => c.type === "Available");
  const svc = body.spec?.service;
  problem.apiService = { name, available: available?.status ?? "Unknown" };
  if (available?.reason) problem.apiService.reason = available.reason;
  if (available?.message) problem.apiService.message = available.message;
  if (svc?.name) problem.apiService.service = `${svc.namespace ?? "default"}/${svc.name}`;
  if (available?.status !== "False") {
    problem.actions.push(
      `the APIService ${name} is Available=${available?.status ?? "Unknown"}: retry, or see metrics-server's log`,
    );
  } else {
    problem.actions.push(...availableActions(available.reason ?? "", svc?.namespace, svc?.name));
  }
  if (svc?.name) await readPods(session, svc.namespace ?? "default", svc.name, problem);
}

/** The aggregator's reasons for Available=False (kube-aggregator's available controller). */
function availableActions(reason: string, namespace = "kube-system", service = "metrics-server"): string[] {
  switch (reason) {
    case "ServiceNotFound":
      return [`the Service ${namespace}/${service} does not exist: reapply metrics-server's manifests`];
    case "MissingEndpoints":
    case "EndpointsNotFound":
      return [
        `the Service ${namespace}/${service} has no ready endpoints: metrics-server's pods are not Ready (see below), or its selector matches none`,
      ];
    case "FailedDiscoveryCheck":
      return [
        `kube-apiserver cannot reach metrics-server through the Service ${namespace}/${service}: allow traffic from the control plane to the pods' port (NetworkPolicies, firewall rules; on some managed clusters metrics-server needs hostNetwork)`,
        "if the pods are not Ready, their logs say why: kubectl logs -n " +
          namespace +
          " -l k8s-app=metrics-server",
      ];
    default:
      return [`see: kubectl get apiservice ${METRICS_APISERVICE} -o yaml, and metrics-server's log`];
  }
}

async function readPods(
  session: Session,
  namespace: string,
  service: string,
  problem: Problem,
): Promise<void> {
  const svc = await session.get(`/api/v1/namespaces/${namespace}/services/${service}`);
  const selector =
    svc.kind === "ok"
      ? (svc.body as { spec?: { selector?: Record<string, string> } }).spec?.selector
      : undefined;
  const labelSelector = selector
    ? Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")
    : "k8s-app=metrics-server";
  const pods = await session.get(`/api/v1/namespaces/${namespace}/pods`, { labelSelector });
  if (pods.kind !== "ok") return;
  problem.pods = ((pods.body as { items?: PodBody[] }).items ?? []).map((p) => {
    const statuses = p.status?.containerStatuses ?? [];
    const waiting = statuses
      .map((c) => c.state?.waiting?.reason ?? c.state?.terminated?.reason)
      .find((r) => r !== undefined);
    return {
      name: p.metadata?.name ?? "",
      phase: p.status?.phase ?? "Unknown",
      ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
      restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
      ...(waiting === undefined ? {} : { waiting }),
    };
  });
  if (problem.pods.length === 0)
    problem.actions.push(
      `no pods match the Service ${namespace}/${service} (${labelSelector}): is metrics-server deployed?`,
    );
  else if (problem.pods.some((p) => !p.ready))
    problem.actions.push(
      `a metrics-server pod is not Ready: kubectl describe pod -n ${namespace} -l ${labelSelector}`,
    );
}
