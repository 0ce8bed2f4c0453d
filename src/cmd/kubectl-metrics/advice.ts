// What to do, for each reason an explained 404 gives (docs/cli.md) and each way a node's scrape
// fails. The server says what happened; this says what a user can change. Pure functions.

import type { CauseReason } from "./reasons.ts";
import type { NodeScrapeStatusBody } from "./report.ts";

const LOGS = "kubectl logs -n kube-system -l k8s-app=metrics-server";

/** The node a cause's message names (`node "x"`), if any. */
export function nodeNamedIn(message: string): string | undefined {
  return /\bnode "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
}

/** The last RFC 3339 time a message gives (e.g. when the second point is due). */
function lastTimeIn(message: string): string | undefined {
  const all = message.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g);
  return all?.[all.length - 1];
}

/** A ScrapeErrorKind guessed from an error message, when the diagnostics group could not be read. */
export function errorKindFromMessage(message: string): string {
  if (/x509|certificate/i.test(message)) return "CertificateInvalid";
  if (/timeout|timed out|deadline/i.test(message)) return "Timeout";
  if (/connection refused|ECONNREFUSED/i.test(message)) return "ConnectionRefused";
  if (/\b401\b|Unauthorized/.test(message)) return "Unauthorized";
  if (/\b403\b|Forbidden/.test(message)) return "Forbidden";
  if (/no address|preferred address/i.test(message)) return "NoAddress";
  return "Other";
}

const rawResource = (node: string): string =>
  `kubectl get --raw /api/v1/nodes/${node}/proxy/metrics/resource`;

/** What to do about a node whose scrape failed, by the error's kind. */
export function scrapeErrorActions(node: string, error: NodeScrapeStatusBody["error"]): string[] {
  const kind = error?.kind ?? errorKindFromMessage(error?.message ?? "");
  switch (kind) {
    case "Timeout":
      return [
        `make sure metrics-server's pods can reach node ${node}'s kubelet port (10250 by default): check NetworkPolicies, security groups and host firewalls`,
        "if the kubelet is only slow, raise --kubelet-request-timeout (it must stay below --metric-resolution)",
        `test the kubelet through the API server: ${rawResource(node)}`,
      ];
    case "ConnectionRefused":
      return [
        `nothing listens at node ${node}'s kubelet address and port: check the kubelet is running (systemctl status kubelet on the node)`,
        "check the port metrics-server uses: --kubelet-use-node-status-port takes the Node's status.daemonEndpoints.kubeletEndpoint.Port, --kubelet-port otherwise",
      ];
    case "ConnectionFailed":
      return [
        `the network path to node ${node}'s kubelet fails: check routes, NetworkPolicies and firewalls to its port 10250`,
        "if the address is unreachable from pods, choose another with --kubelet-preferred-address-types (e.g. InternalIP first)",
      ];
    case "CertificateInvalid": {
      const actions: string[] = [];
      if (error?.certificateWanted !== undefined) {
        const has = error.certificateHas?.length ? ` (it names ${error.certificateHas.join(", ")})` : "";
        actions.push(
          `node ${node}'s kubelet serving certificate does not name ${JSON.stringify(error.certificateWanted)}${has}`,
          "either have the kubelets request certificates that name their addresses (serverTLSBootstrap: true in the kubelet configuration, then approve the CSRs: kubectl get csr)",
          "or set --kubelet-preferred-address-types so metrics-server asks for an address the certificate names (e.g. Hostname)",
        );
      } else {
        actions.push(
          `metrics-server does not trust node ${node}'s kubelet serving certificate (unknown authority or expired)`,
          "give metrics-server the CA that signs the kubelets' serving certificates with --kubelet-certificate-authority, or enable serverTLSBootstrap so the cluster CA signs them",
        );
      }
      actions.push("--kubelet-insecure-tls skips the check altogether: for test clusters only");
      return actions;
    }
    case "Unauthorized":
      return [
        `node ${node}'s kubelet does not accept metrics-server's credentials (401)`,
        "the kubelet must authenticate bearer tokens through the API server: authentication.webhook.enabled: true in its configuration (--authentication-token-webhook)",
      ];
    case "Forbidden":
      return [
        `node ${node}'s kubelet refused metrics-server's identity (403): grant its ServiceAccount get on nodes/metrics (and nodes/stats for the Summary API)`,
        "the manifests' ClusterRole system:metrics-server has these rules; check it is bound: kubectl get clusterrolebinding system:metrics-server -o yaml",
      ];
    case "NoAddress":
      return [
        `node ${node} has no address of the types in --kubelet-preferred-address-types: kubectl get node ${node} -o jsonpath='{.status.addresses}'`,
        "add a type the node has to the flag",
      ];
    case "HTTPStatus":
    case "BadBody":
      return [
        `node ${node}'s kubelet answered, but not with usable metrics: ${rawResource(node)} shows what it serves`,
        "check the kubelet's logs on the node",
      ];
    case "Credentials":
      return [
        "metrics-server could not read its own credentials: check its ServiceAccount token is mounted",
        LOGS,
      ];
    default:
      return [`see metrics-server's log for node ${node}: ${LOGS}`];
  }
}

/** What to do about a node that is not scraped; none for Scraped and Excluded. */
export function nodeStateActions(node: string, status: NodeScrapeStatusBody | undefined): string[] {
  switch (status?.state) {
    case "Failing":
      return scrapeErrorActions(node, status.error);
    case "NotReady":
      return [`NotReady nodes are not scraped; find out why: kubectl describe node ${node}`];
    case "Pending":
      return ["not scraped yet: wait one --metric-resolution"];
    default:
      return [];
  }
}

export interface AdviceContext {
  /** The pod explained, for `kubectl describe pod`. */
  namespace?: string;
  pod?: string;
  /** The diagnostics group's status of the nodes the causes name, when readable. */
  nodeStatus(node: string): NodeScrapeStatusBody | undefined;
}

function describePod(ctx: AdviceContext): string {
  return ctx.pod === undefined
    ? "kubectl describe pod"
    : `kubectl describe pod -n ${ctx.namespace} ${ctx.pod}`;
}

/**
 * What to do about one cause. Every reason of the contract has an entry (the Record makes a new
 * reason a compile error here); a reason from a newer server gets none.
 */
export function causeActions(reason: string, message: string, ctx: AdviceContext): string[] {
  const advice = ADVICE[reason as CauseReason];
  if (advice === undefined) return [];
  const node = nodeNamedIn(message) ?? "NODE";
  return advice(node, message, ctx);
}

type Advice = (node: string, message: string, ctx: AdviceContext) => string[];

const ADVICE: Record<CauseReason, Advice> = {
  PodUnknown: (_n, _m, ctx) => [
    `check the name and the namespace: kubectl get pod -n ${ctx.namespace ?? "NAMESPACE"} ${ctx.pod ?? "NAME"}`,
  ],
  PodNotRunning: (_n, _m, ctx) => [
    "metrics are served for Running pods only; once it runs they follow within two scrapes",
    `why it is not running: ${describePod(ctx)}`,
  ],
  PodLookupFailed: () => [
    "metrics-server could not read the pod from the API server: check its RBAC (get pods) and the API server's health",
    LOGS,
  ],
  NodeUnknown: (node) => [
    `check the node exists: kubectl get node ${node}`,
    "a node that was just added is scraped once metrics-server's watch delivers it",
  ],
  NodeExcluded: (node) => [
    `metrics-server is run with --node-selector and node ${node}'s labels do not match it: change the flag or the node's labels if it should be scraped`,
  ],
  NodeNotReady: (node) => [
    `metrics-server does not scrape NotReady nodes (as upstream); find out why: kubectl describe node ${node}`,
  ],
  NodeScrapeFailed: (node, message, ctx) =>
    scrapeErrorActions(node, ctx.nodeStatus(node)?.error ?? { message }),
  NodeNotScrapedYet: () => [
    "wait for the next scrape (the message says how often); if it does not come, see kubectl metrics status",
  ],
  NodePointMissing: (node) => [
    `the kubelet reported no complete cpu and memory for the node itself: check the container runtime and the kubelet; ${rawResource(node)}`,
  ],
  ValuesMissing: (node, _m, ctx) => [
    "the container runtime reported no or zero usage for the container: usual causes are a runtime without CPU or memory accounting (cgroup controllers not enabled), a sandboxed or Windows runtime, or a container that has just started",
    `see what the kubelet reports: ${rawResource(node)}${ctx.pod === undefined ? "" : ` | grep ${ctx.pod}`}`,
  ],
  ValuesConflicting: (node) => [
    `node ${node}'s kubelet reported the same series twice with different values (duplicate containers after a restart are the known cause): restarting the kubelet clears it`,
  ],
  ValuesRefused: (node) => [
    `node ${node} reported values no node can produce (above its capacity, a counter that went back, a time in the future): check the node's clock (NTP) and its kubelet; it clears once sane values arrive`,
  ],
  NotInKubeletResponse: (node, _m, ctx) => [
    "a pod that has just started appears within a scrape or two; otherwise the runtime does not report it",
    `see what the kubelet reports: ${rawResource(node)}${ctx.pod === undefined ? "" : ` | grep ${ctx.pod}`}`,
  ],
  OnePointSoFar: (_n, message) => {
    const due = lastTimeIn(message);
    return [
      `wait${due === undefined ? " one scrape" : ` until ${due}`}: a rate needs two points, then retry`,
    ];
  },
  ContainerRestarted: (_n, _m, ctx) => [
    "a restarted container is served again once its new run has two points (one scrape)",
    `if it keeps restarting (CrashLoopBackOff, OOMKilled): ${describePod(ctx)}`,
  ],
  DuplicatePod: () => [
    "two kubelets reported the pod: a node that was recreated or renamed, or a stale kubelet; kubectl get pod -o wide shows where it runs",
  ],
};
