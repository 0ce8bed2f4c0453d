// What a command found, as one document: printed as text by format.ts, or as JSON with -o json
// (the field names are documented in docs/cli.md and stay stable).

/** Exit codes scripts can key on. */
export const EXIT = {
  /** Metrics are served; every selected node was scraped. */
  ok: 0,
  usage: 1,
  /** Metrics are missing; some node is not scraped. */
  missing: 2,
  /** Could not find out: unreachable, forbidden, the API not registered or unavailable. */
  unknown: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** One metav1.StatusCause of an explained 404, with what to do about it. */
export interface ExplainedCause {
  reason: string;
  message: string;
  field?: string;
  /** What to do, one step a line; empty for a reason this client does not know. */
  actions: string[];
}

/** The diagnostics group's NodeScrape status, as served (absent fields omitted). */
export interface NodeScrapeStatusBody {
  state?: string;
  lastAttempt?: string;
  duration?: string;
  endpoint?: string;
  url?: string;
  bytes?: number;
  nodePoint?: boolean;
  pods?: number;
  containers?: number;
  consecutiveFailures?: number;
  failingSince?: string;
  lastSuccess?: string;
  error?: {
    kind?: string;
    message?: string;
    httpStatus?: number;
    certificateWanted?: string;
    certificateHas?: string[];
  };
  leftOut?: { namespace: string; pod: string; container?: string; cause: string }[];
  leftOutCount?: number;
  refused?: { namespace: string; pod: string; container?: string; cause: string }[];
  nodeRefused?: string;
}

export interface NodeScrape {
  metadata: { name: string };
  status?: NodeScrapeStatusBody;
}

export interface ServerStatus {
  metadata: { name: string; creationTimestamp?: string };
  status?: {
    version?: string;
    resolution?: string;
    lastTick?: { start?: string; duration?: string };
    nodes?: {
      total?: number;
      scraped?: number;
      failing?: number;
      notReady?: number;
      excluded?: number;
      pending?: number;
    };
    pods?: number;
    containers?: number;
    checks?: { name: string; status: string; message?: string; action?: string; since?: string }[];
  };
}

/**
 * Why the answer could not be found out (exit 3): what failed, what was seen on the way (the
 * APIService's Available condition, the metrics-server pods), and what to do.
 */
export interface Problem {
  /** Unreachable, Unauthorized, Forbidden, NotRegistered, Unavailable, or Unexpected. */
  reason: string;
  message: string;
  apiService?: {
    name: string;
    /** "NotFound", "Forbidden" (not permitted to read it), or the Available condition's status. */
    available: string;
    reason?: string;
    message?: string;
    service?: string;
  };
  pods?: { name: string; phase: string; ready: boolean; restarts: number; waiting?: string }[];
  actions: string[];
}

export interface Report {
  /** "explain pod", "explain node" or "status". */
  command: string;
  /** The pod's namespace (explain pod only) and the object's name (explain only). */
  namespace?: string;
  name?: string;
  /** Served, Missing (explain); Scraped, Incomplete (status); Unknown when the exit code is 3. */
  result: "Served" | "Missing" | "Scraped" | "Incomplete" | "Unknown";
  exitCode: ExitCode;
  /** explain: the PodMetrics or NodeMetrics object when served. */
  metrics?: unknown;
  /** explain: the 404's message as served (upstream's message, then the causes). */
  message?: string;
  causes?: ExplainedCause[];
  /** explain: the nodes the causes name, from the diagnostics group (when readable); status: all. */
  nodeScrapes?: NodeScrape[];
  serverStatuses?: ServerStatus[];
  /** status: what to do about each node that is not scraped, by node name. */
  nodeActions?: Record<string, string[]>;
  problem?: Problem;
}
