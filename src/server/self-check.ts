// The start-up self-check: the four things that most often keep metrics from users, each decided
// from what this server sees, logged once when it fails (at error, with what to do) and once when it
// recovers (at info), and readable by the diagnostics API. See docs/serving.md "Self-check".
import type { SelfCheckName, SelfCheckReader, SelfCheckResult } from "../diagnostics/index.ts";
import { formatTimestamp } from "../go/index.ts";
import { ApiError } from "../kube/index.ts";
import * as log from "../log/index.ts";
import type { NodeScrapeReport, ScrapeError, ScrapeErrorKind } from "../storage/index.ts";
import { METRICS_APISERVICE } from "./apiservice.ts";

const APISERVICE_PATH = `/apis/apiregistration.k8s.io/v1/apiservices/${METRICS_APISERVICE}`;

export interface SelfCheckOptions {
  /** Reads the APIService (the server's own kube client). */
  kube: { getJSON<T>(path: string): Promise<T> };
  /** How many request-header client CAs are in force; absent: not known here (the check is Skipped). */
  requestHeaderCAs?: () => number;
  resolutionMs: number;
  /** Kubelet serving certificates are not verified (--kubelet-insecure-tls, or plain HTTP). */
  kubeletTlsUnverified: boolean;
  now?: () => number;
  /** How often the APIService is read again until it is Available. Default 30 s. */
  apiServiceRecheckMs?: number;
  /**
   * An APIService that is not Available this long after the start is a failure; before, it is
   * Pending (kube-apiserver marks it unavailable until this pod is Ready). Default 60 s.
   */
  apiServiceGraceMs?: number;
}

/** Resolutions without any node scraped before first-scrape fails. */
export const FIRST_SCRAPE_RESOLUTIONS = 3;

const CHECKS: readonly SelfCheckName[] = [
  "front-proxy-ca",
  "apiservice-available",
  "kubelet-certificates",
  "first-scrape",
];

const KUBELET_CERT_ACTION =
  "Pass the CA that signed the kubelets' serving certificates with --kubelet-certificate-authority " +
  "(without it the CA of the kubeconfig is used), or have the kubelets get certificates from the " +
  "cluster CA (kubelet serverTLSBootstrap: true); --kubelet-insecure-tls skips verification, for testing only.";

function kubeletNameAction(wanted: string): string {
  return (
    `The kubelet's serving certificate does not hold ${wanted}, the address dialled. Dial an address ` +
    "it does hold with --kubelet-preferred-address-types (e.g. Hostname first for certificates with " +
    "names only), or have the kubelet serve a certificate with that address (kubelet serverTLSBootstrap: " +
    "true); --kubelet-insecure-tls skips verification, for testing only."
  );
}

/** What to do when no node could be scraped, by the commonest error. */
const FIRST_SCRAPE_ACTION: Record<ScrapeErrorKind | "NotReady", string> = {
  Timeout:
    "The kubelets did not answer in time: check that this pod can reach the kubelet port (10250 by " +
    "default) through network policies, firewalls and security groups, or raise --kubelet-request-timeout.",
  ConnectionRefused:
    "Nothing listens at the kubelet address and port: check --kubelet-port, --kubelet-use-node-status-port " +
    "and --kubelet-preferred-address-types.",
  ConnectionFailed:
    "The kubelets cannot be reached: check routes, name resolution of Hostname addresses, network " +
    "policies, and --kubelet-preferred-address-types (InternalIP first usually works).",
  CertificateInvalid: KUBELET_CERT_ACTION,
  Unauthorized:
    "The kubelets reject our credentials: they need webhook authentication (authentication.webhook.enabled) " +
    "and a client CA that trusts --kubelet-client-certificate, or a valid service account token.",
  Forbidden:
    "Our identity may not read the kubelet API: grant get on nodes/metrics and nodes/stats (ClusterRole " +
    "system:metrics-server).",
  HTTPStatus: "The kubelets answer with errors: see `kubectl get nodescrapes` and the kubelet logs.",
  BadBody:
    "The kubelets' answers cannot be decoded: check the kubelet version and what it serves at " +
    "/metrics/resource.",
  NoAddress:
    "The nodes have no address of the types in --kubelet-preferred-address-types: add the types they " +
    "have (kubectl get nodes -o wide).",
  Credentials: "Our credentials cannot be read: check the service account token mount or --kubeconfig.",
  Other: "See `kubectl get nodescrapes` and this server's log.",
  NotReady: "Every node is NotReady, and NotReady nodes are not scraped (as upstream): fix the nodes.",
};

/** What to do about an APIService that is not Available, by the condition's reason. */
function apiServiceAction(reason: string, service: string): string {
  switch (reason) {
    case "MissingEndpoints":
      return (
        `The Service ${service} has no ready endpoint on the APIService's port: check that this pod is ` +
        `Ready and that the Service's port (and its name) matches the container's (kubectl get endpoints).`
      );
    case "ServiceNotFound":
      return `Create the Service ${service} that the APIService names, or fix its spec.service.`;
    case "ServicePortError":
      return `spec.service.port of the APIService is not a port of the Service ${service}: fix one of them.`;
    case "FailedDiscoveryCheck":
      return (
        "kube-apiserver cannot reach this server through the Service: allow traffic from the control " +
        "plane to this pod's serving port (network policies, firewalls; some managed clusters need " +
        "hostNetwork), and make spec.caBundle match the serving certificate (or insecureSkipTLSVerify)."
      );
    default:
      return `See kubectl describe apiservice ${METRICS_APISERVICE}.`;
  }
}

interface APIServiceObject {
  spec?: { service?: { namespace?: string; name?: string } };
  status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

export class SelfCheck implements SelfCheckReader {
  readonly #opts: SelfCheckOptions;
  readonly #now: () => number;
  readonly #startMs: number;
  readonly #results = new Map<SelfCheckName, SelfCheckResult>();
  /** Nodes whose latest report is a certificate failure, with that error. */
  readonly #certFailures = new Map<string, ScrapeError>();
  /** Each node's latest failure kind while no node has been scraped. */
  readonly #failures = new Map<string, { kind: ScrapeErrorKind | "NotReady"; message: string }>();
  #certVerified = false;
  #firstSuccess: { node: string; atMs: number } | undefined;
  #scrapingSinceMs: number | undefined;
  #ticks = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: SelfCheckOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#startMs = this.#now();
    for (const name of CHECKS)
      this.#results.set(name, {
        name,
        status: "Pending",
        message: "not checked yet",
        sinceMs: this.#startMs,
      });
    if (!opts.requestHeaderCAs)
      this.#set("front-proxy-ca", "Skipped", "the request-header configuration is not known here");
    if (opts.kubeletTlsUnverified)
      this.#set(
        "kubelet-certificates",
        "Skipped",
        "kubelet serving certificates are not verified (--kubelet-insecure-tls)",
        "Use --kubelet-certificate-authority outside of tests.",
      );
  }

  results(): readonly SelfCheckResult[] {
    return CHECKS.map((name) => this.#results.get(name)!);
  }

  /** Starts reading the APIService (now, then every 30 s until it is Available). */
  start(): void {
    void this.#checkAPIService();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** The scrape loop starts (the caches have synced): first-scrape's clock starts. */
  scrapingStarted(): void {
    this.#scrapingSinceMs ??= this.#now();
  }

  /** One node's scrape outcome (every node, every tick). Cheap: the verdicts wait for afterTick. */
  observe(report: NodeScrapeReport): void {
    const node = report.node;
    if (report.outcome === "Succeeded") {
      this.#certFailures.delete(node);
      this.#certVerified = true;
      this.#firstSuccess ??= { node, atMs: report.startMs };
      return;
    }
    if (report.error?.kind === "CertificateInvalid") this.#certFailures.set(node, report.error);
    else this.#certFailures.delete(node);
    if (!this.#firstSuccess) {
      this.#failures.set(
        node,
        report.outcome === "NotReady"
          ? { kind: "NotReady", message: "the node is NotReady" }
          : { kind: report.error?.kind ?? "Other", message: report.error?.message ?? "failed" },
      );
    }
  }

  /** After each tick: decides the checks that depend on scrapes and on the authentication config. */
  afterTick(): void {
    this.#ticks++;
    this.#checkFrontProxyCA();
    this.#checkKubeletCertificates();
    this.#checkFirstScrape();
  }

  #checkFrontProxyCA(): void {
    const count = this.#opts.requestHeaderCAs?.();
    if (count === undefined) return;
    if (count > 0) {
      this.#set("front-proxy-ca", "Passed", `${count} request-header client CA(s) in force`);
      return;
    }
    this.#set(
      "front-proxy-ca",
      "Failed",
      "no request-header client CA: requests that kube-apiserver proxies to this server cannot be authenticated",
      "Start kube-apiserver with --requestheader-client-ca-file and --proxy-client-cert-file/--proxy-client-key-file " +
        "so that it publishes the CA in configmap kube-system/extension-apiserver-authentication, and let this " +
        "server read it (Role extension-apiserver-authentication-reader); or pass --requestheader-client-ca-file.",
    );
  }

  #checkKubeletCertificates(): void {
    if (this.#opts.kubeletTlsUnverified) return;
    const first = this.#certFailures.entries().next();
    if (!first.done) {
      const [node, err] = first.value;
      const others = this.#certFailures.size - 1;
      const detail =
        err.certificateWanted !== undefined
          ? `; it holds ${err.certificateHas?.length ? err.certificateHas.join(", ") : "no names"}, not ${err.certificateWanted}`
          : "";
      this.#set(
        "kubelet-certificates",
        "Failed",
        `the serving certificate of node "${node}" cannot be verified: ${err.message}${detail}` +
          (others > 0 ? ` (and ${others} other node${others === 1 ? "" : "s"})` : ""),
        err.certificateWanted !== undefined ? kubeletNameAction(err.certificateWanted) : KUBELET_CERT_ACTION,
        node,
      );
    } else if (this.#certVerified) {
      this.#set("kubelet-certificates", "Passed", "kubelet serving certificates verify");
    }
  }

  #checkFirstScrape(): void {
    const success = this.#firstSuccess;
    if (success) {
      this.#set(
        "first-scrape",
        "Passed",
        `node "${success.node}" scraped at ${formatTimestamp(success.atMs)}`,
      );
      this.#failures.clear();
      return;
    }
    const since = this.#scrapingSinceMs;
    const limitMs = FIRST_SCRAPE_RESOLUTIONS * this.#opts.resolutionMs;
    if (since === undefined || this.#now() - since < limitMs) {
      this.#set("first-scrape", "Pending", `no node scraped yet (${this.#ticks} tick(s))`);
      return;
    }
    const seconds = Math.round(limitMs / 1000);
    if (this.#failures.size === 0) {
      this.#set(
        "first-scrape",
        "Failed",
        `no node scraped in ${seconds}s: there is no node to scrape`,
        "Check that the nodes exist and that --node-selector, if given, matches some.",
      );
      return;
    }
    const byKind = new Map<string, { count: number; node: string; message: string }>();
    for (const [node, f] of this.#failures) {
      const k = byKind.get(f.kind);
      if (k) k.count++;
      else byKind.set(f.kind, { count: 1, node, message: f.message });
    }
    const [kind, top] = [...byKind].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))[0];
    this.#set(
      "first-scrape",
      "Failed",
      `no node scraped in ${seconds}s: ${top.count} of ${this.#failures.size} nodes failed with ${kind}, ` +
        `e.g. node "${top.node}": ${top.message}`,
      FIRST_SCRAPE_ACTION[kind as ScrapeErrorKind | "NotReady"],
      top.node,
    );
  }

  async #checkAPIService(): Promise<void> {
    if (this.#stopped) return;
    const early = this.#now() - this.#startMs < (this.#opts.apiServiceGraceMs ?? 60_000);
    const notYet = (message: string, action: string) =>
      early
        ? this.#set("apiservice-available", "Pending", `${message} (checking again)`)
        : this.#set("apiservice-available", "Failed", message, action);
    let done = false;
    try {
      const a = await this.#opts.kube.getJSON<APIServiceObject>(APISERVICE_PATH);
      const svc = a.spec?.service;
      const service = svc ? `${svc.namespace ?? ""}/${svc.name ?? ""}` : "(none: served locally)";
      const cond = a.status?.conditions?.find((c) => c.type === "Available");
      if (cond?.status === "True") {
        this.#set("apiservice-available", "Passed", `APIService ${METRICS_APISERVICE} is Available`);
        done = true;
      } else {
        const why = cond
          ? `${cond.reason ?? "Unknown"}: ${cond.message ?? ""}`
          : "no Available condition yet";
        notYet(
          `APIService ${METRICS_APISERVICE} (Service ${service}) is not Available: ${why}`,
          apiServiceAction(cond?.reason ?? "", service),
        );
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        this.#set(
          "apiservice-available",
          "Skipped",
          "not permitted to read APIServices",
          `Grant get on apiservices.apiregistration.k8s.io (resourceNames ${METRICS_APISERVICE}) to this ` +
            "server's identity to have it checked.",
        );
        done = true;
      } else if (err instanceof ApiError && err.status === 404) {
        notYet(
          `APIService ${METRICS_APISERVICE} is not registered`,
          "Apply the APIService (the manifests in deploy/ and the Helm chart create it): without it " +
            "kubectl top and autoscalers cannot reach this server.",
        );
      } else {
        const message = err instanceof Error ? err.message : String(err);
        this.#set("apiservice-available", "Pending", `could not read the APIService: ${message}`);
      }
    }
    if (done || this.#stopped) return;
    this.#timer = setTimeout(() => void this.#checkAPIService(), this.#opts.apiServiceRecheckMs ?? 30_000);
    this.#timer.unref();
  }

  // Records a check's verdict; a status change is logged: a failure once at error, its recovery at info.
  #set(
    name: SelfCheckName,
    status: SelfCheckResult["status"],
    message: string,
    action?: string,
    node?: string,
  ): void {
    const prev = this.#results.get(name)!;
    const changed = prev.status !== status;
    this.#results.set(name, {
      name,
      status,
      message,
      ...(action ? { action } : {}),
      sinceMs: changed ? this.#now() : prev.sinceMs,
    });
    if (!changed) return;
    // A check failing because of a node names it as a key, like the scraper's lines for that node.
    if (status === "Failed")
      log.error(undefined, "Self-check failed", {
        check: name,
        ...(node ? { node } : {}),
        problem: message,
        action,
      });
    else if (prev.status === "Failed")
      log.info("Self-check recovered", { check: name, status, result: message });
    else if (status === "Skipped") log.info("Self-check skipped", { check: name, reason: message });
    else if (status === "Passed") log.V(1).info("Self-check passed", { check: name, result: message });
  }
}
