// The command line: `explain pod [-n NS] NAME` (or NS/NAME), `explain node NAME`, `status`, with
// kubectl's connection flags. A usage error throws UsageError (exit 1 with its message).

import { parseArgs } from "node:util";
import { parseGoDuration } from "../../go/index.ts";

export class UsageError extends Error {}

export interface Connection {
  kubeconfig?: string;
  context?: string;
  /** -n; undefined: the context's namespace, else "default". */
  namespace?: string;
  /** 0: none. */
  requestTimeoutMs: number;
}

export type Command =
  | { kind: "help" }
  | { kind: "explain-pod"; namespace?: string; name: string; output: Output; conn: Connection }
  | { kind: "explain-node"; name: string; output: Output; conn: Connection }
  | { kind: "status"; output: Output; conn: Connection };

export type Output = "text" | "json";

/** A default that keeps a diagnostic tool from hanging on a silent API server (kubectl's is none). */
export const DEFAULT_REQUEST_TIMEOUT = "30s";

export const USAGE = `Why metrics are missing, from metrics-server's own account of it.

Usage:
  kubectl metrics explain pod [-n NAMESPACE] NAME    (or NAMESPACE/NAME)
  kubectl metrics explain node NAME
  kubectl metrics status
(also: metrics-server explain ..., metrics-server status)

Flags:
  --kubeconfig PATH        kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  --context NAME           kubeconfig context (default: the current context)
  -n, --namespace NS       the pod's namespace (default: the context's, else "default")
  -o, --output text|json   output format (default text)
  --request-timeout D      per request, e.g. 10s, 1m; 0 for none (default ${DEFAULT_REQUEST_TIMEOUT})
  -h, --help               this help

Exit codes: 0 metrics served / every node scraped; 1 usage error; 2 metrics missing / a node not
scraped; 3 could not find out (API server unreachable, forbidden, API not registered or unavailable).
`;

/** kubectl's --request-timeout: a Go duration, or a bare number of seconds; 0 for none. */
function parseTimeout(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  try {
    const ms = parseGoDuration(text);
    if (ms >= 0) return ms;
  } catch {
    // reported below
  }
  throw new UsageError(
    `invalid --request-timeout ${JSON.stringify(text)}: want a duration such as 10s or 1m`,
  );
}

const POD_WORDS = new Set(["pod", "pods", "po"]);
const NODE_WORDS = new Set(["node", "nodes", "no"]);

export function parseCommand(argv: readonly string[]): Command {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  const output = values.output ?? "text";
  if (output !== "text" && output !== "json")
    throw new UsageError(`invalid --output ${JSON.stringify(output)}: want text or json`);
  const conn: Connection = {
    requestTimeoutMs: parseTimeout(values["request-timeout"] ?? DEFAULT_REQUEST_TIMEOUT),
  };
  if (values.kubeconfig) conn.kubeconfig = values.kubeconfig;
  if (values.context) conn.context = values.context;
  if (values.namespace) conn.namespace = values.namespace;

  const [verb, what, name, ...rest] = positionals;
  if (verb === undefined) throw new UsageError("no command given: explain pod, explain node or status");
  if (verb === "status") {
    if (positionals.length > 1)
      throw new UsageError(`status takes no arguments, got ${positionals.slice(1).join(" ")}`);
    return { kind: "status", output, conn };
  }
  if (verb !== "explain") throw new UsageError(`unknown command ${JSON.stringify(verb)}: explain or status`);
  if (what === undefined || name === undefined || name === "")
    throw new UsageError("explain needs what and a name: explain pod NAME, explain node NAME");
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(" ")}`);
  if (NODE_WORDS.has(what)) return { kind: "explain-node", name, output, conn };
  if (!POD_WORDS.has(what)) throw new UsageError(`cannot explain ${JSON.stringify(what)}: pod or node`);
  const slash = name.indexOf("/");
  if (slash < 0) return { kind: "explain-pod", name, output, conn };
  const namespace = name.slice(0, slash);
  const podName = name.slice(slash + 1);
  if (namespace === "" || podName === "" || podName.includes("/"))
    throw new UsageError(`invalid pod ${JSON.stringify(name)}: want NAME or NAMESPACE/NAME`);
  if (conn.namespace !== undefined && conn.namespace !== namespace)
    throw new UsageError(`pod ${name} names namespace ${namespace}, but -n says ${conn.namespace}`);
  return { kind: "explain-pod", namespace, name: podName, output, conn };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      kubeconfig: { type: "string" },
      context: { type: "string" },
      namespace: { type: "string", short: "n" },
      output: { type: "string", short: "o" },
      "request-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
