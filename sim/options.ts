// kube-sim's command line: its flags, their defaults and validation, and the --help text. A bad flag or
// value is a UsageError, reported before anything starts.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs as parseFlags } from "node:util";
import { API_FAULT_HELP, parseApiFaultSpec } from "./apiserver/index.ts";
import { parseDuration } from "./duration.ts";
import { FAULT_KIND_HELP, parseFaultSpec } from "./kubelet/index.ts";
import type { KubeletFault } from "./types.ts";
import { UsageError } from "./usage-error.ts";

export { parseDuration } from "./duration.ts";
export { FAULT_KIND_HELP, faultSpec, parseFaultSpec } from "./kubelet/index.ts";
export { UsageError } from "./usage-error.ts";

export interface SimOptions {
  nodes: number;
  podsPerNode: number;
  containersPerPod: number | undefined;
  seed: number;
  /** Generated containers get a seeded nonzero swap usage. */
  swap: boolean;
  scenarioFile: string | undefined;
  /** "127.R" */
  ipBase: string;
  port: number;
  dir: string;
  faults: Map<string, KubeletFault>;
  /** The API server's own injected faults from the start (a /sim/faults spec; "" = none). */
  apiserverFaults: string;
  bookmarkIntervalMs: number;
  /** The first N nodes (scenario order) get summary-only kubelets. */
  summaryOnlyNodes: number;
  /** The first N nodes (scenario order) get serving certs with only a DNS SAN (the node name). */
  dnsOnlySanNodes: number;
  /** Plain-HTTP read-only port on every kubelet; undefined = off. */
  readOnlyPort: number | undefined;
  /** false = the API server does not support PartialObjectMetadata. */
  partialMetadata: boolean;
  /** Start with kube-apiserver's bootstrap RBAC only: metrics-server's comes from applied manifests. */
  bare: boolean;
  /** Extra Running pods default/hpa-target-* labelled app=hpa-target (0 = none). */
  hpaReplicas: number;
  /** Images the container runtime can run: reference → OCI archive (--image, like `kind load`). */
  images: Map<string, string>;
  /** Image reference → host executable, run instead when images cannot be unpacked (--image-command). */
  imageCommands: Map<string, string>;
  help: boolean;
}

export const USAGE = `Usage: node sim/main.ts [flags]

A simulated Kubernetes cluster: kube-apiserver (with the aggregator) and one kubelet per node.

  --nodes N                 number of nodes to generate (default 3)
  --pods-per-node N         pods per node (default 5)
  --containers-per-pod N    containers per pod (default: 1-3, random)
  --seed N                  random seed of the generated scenario (default 1)
  --swap                    generated containers use some swap (seeded, 1-128 MiB each); without
                            it every swap usage is 0 (scenario files set swap per container)
  --scenario FILE           load the cluster from a YAML scenario instead of generating it
  --ip-base 127.R           loopback range to use, R in 1..254 (default: random)
  --port N                  API server port, 0 = any free port (default 6443)
  --dir DIR                 where to write kubeconfig and pki/ (default .demo)
  --fault NODE=SPEC         make NODE's kubelet misbehave, SPEC one of the fault kinds below
                            (repeatable)
  --apiserver-fault SPEC    make the API server misbehave on lists and watches of nodes and pods,
                            SPEC one of the API-server fault kinds below (repeatable)
  --apiserver-down-for DUR  the API server refuses connections for DUR after start, then comes up
                            (the ready line still prints; same as --apiserver-fault down:DUR)
  --bookmark-interval DUR   watch BOOKMARK period, e.g. 60s, 500ms, 1m (default 60s)
  --summary-only-nodes N    the first N nodes' kubelets answer 404 on /metrics/resource and serve
                            only /stats/summary (default 0)
  --dns-only-san-nodes N    the first N nodes' kubelets serve certs whose only SAN is DNS:<node name>
                            (no IP SAN), like scenario field servingCertSANs: dns-only (default 0)
  --read-only-port P        every kubelet also serves plain HTTP (no TLS, no auth) on
                            <InternalIP>:P, like the kubelet's read-only port 10255 (default off)
  --hpa-replicas N          add N Running pods default/hpa-target-<hash>-<suffix> labelled
                            app=hpa-target (1 container each, spread round-robin over the nodes),
                            a fixed-size target for HPA-like queries (default 0 = none)
  --image REF=ARCHIVE       load an OCI image archive under reference REF (like \`kind load\`): pods
                            created through the API with that image really run (needs root and
                            umoci) (repeatable)
  --image-command REF=PATH  run the executable PATH for image REF when umoci is missing or REF
                            was not loaded, e.g. bin/metrics-server (still in a private mount
                            namespace with the service-account files; needs root) (repeatable)
  --no-partial-metadata     act like an API server without PartialObjectMetadata: full objects when
                            the Accept header also allows application/json, 406 otherwise
  --bare                    start with kube-apiserver's bootstrap RBAC only (cluster-admin,
                            system:discovery, system:auth-delegator, admin/edit/view, ...): none
                            of metrics-server's RBAC, which kubectl apply of its manifests adds
  --help                    show this help

Written to DIR: kubeconfig with contexts admin (current; client cert, group system:masters),
viewer (client cert CN=viewer, bound to system:aggregated-metrics-reader) and nobody (client cert
CN=nobody, no permissions); metrics-server.kubeconfig (the token of service account
kube-system/metrics-server, bound as upstream's manifests bind it: least privilege); admin-token
(a bearer token for the admin user); pki/ca.crt, pki/front-proxy-ca.crt, pki/admin.{crt,key}.
Secrets are mode 0600.

Every API request is authenticated (client cert, bearer token, else system:anonymous) and
authorized by RBAC; kubelets accept client certs from pki/ca.crt or the tokens above and
authorize nodes/metrics and nodes/stats the same way (their read-only port stays open).
The API server serves TokenReview, SubjectAccessReview and ConfigMap
kube-system/extension-apiserver-authentication.

Kubelet fault kinds (SPEC = KIND or KIND:ARG). "Targets" are the node's own series and those of
its first running pod in namespace/name order; value faults change /metrics/resource and, where
JSON can carry them, /stats/summary:
${FAULT_KIND_HELP.map(([spec, what]) => `  ${spec.padEnd(24)}${what}`).join("\n")}

API-server fault kinds (SPEC = KIND[:ARG][@FRACTION], comma-separated; FRACTION of the requests,
default all; several may be active at once):
${Object.values(API_FAULT_HELP)
  .map((line) => `  ${line}`)
  .join("\n")}

Simulator endpoints: GET /sim/truth (any authenticated user), and (admin only) GET|POST
/sim/faults (POST {"node": "<name>", "fault": "<SPEC>" | null} sets a kubelet's fault, null
clears; POST {"apiserver": "<SPEC>" | null} sets the API server's faults at once; GET answers
{"nodes": {"<name>": "<SPEC>"}, "apiserver": {"spec", "downUntil", "requests", "openWatches",
"injected"}}), POST /sim/watches/drop (end every watch stream), POST /sim/compact (410 for older
watches), POST /sim/rotate-client-ca (trust one more client CA, publish it in the ConfigMap and
write a cert for user "rotated", bound like viewer, to DIR/pki/rotated.{crt,key}) and POST
/sim/restart ({"namespace", "pod", "container"}: the container restarts now).
`;

/** An integer flag's value in min..max, or `absent` when the flag is not given. */
function intFlag<D>(
  name: string,
  value: string | undefined,
  absent: D,
  min: number,
  max: number,
): number | D {
  if (value === undefined) return absent;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(
      `invalid value ${JSON.stringify(value)} for --${name}: want an integer in ${min}..${max}`,
    );
  }
  return Number(value);
}

const FLAGS = {
  nodes: { type: "string" },
  "pods-per-node": { type: "string" },
  "containers-per-pod": { type: "string" },
  seed: { type: "string" },
  swap: { type: "boolean" },
  scenario: { type: "string" },
  "ip-base": { type: "string" },
  port: { type: "string" },
  dir: { type: "string" },
  fault: { type: "string", multiple: true },
  "apiserver-fault": { type: "string", multiple: true },
  "apiserver-down-for": { type: "string" },
  image: { type: "string", multiple: true },
  "image-command": { type: "string", multiple: true },
  "bookmark-interval": { type: "string" },
  "summary-only-nodes": { type: "string" },
  "dns-only-san-nodes": { type: "string" },
  "read-only-port": { type: "string" },
  "hpa-replicas": { type: "string" },
  "no-partial-metadata": { type: "boolean" },
  bare: { type: "boolean" },
  help: { type: "boolean" },
} as const;

/** node:util's parse errors in this command's words. */
function usageError(err: unknown): UsageError {
  const { code, message } = err as { code?: string; message: string };
  const flag = /'(-[^' <]*)/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new UsageError(`unknown flag ${flag} (see --help)`);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (message.includes("does not take an argument")) return new UsageError(`flag ${flag} takes no value`);
    if (message.includes("ambiguous")) {
      return new UsageError(`flag ${flag} needs a value (for one that starts with "-", write ${flag}=VALUE)`);
    }
    return new UsageError(`flag ${flag} needs a value`);
  }
  return new UsageError(message);
}

function parseFlagsOrThrow(argv: readonly string[]) {
  try {
    return parseFlags({
      args: [...argv],
      options: FLAGS,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (err) {
    throw usageError(err);
  }
}

/**
 * Parses command-line flags (`--flag value` or `--flag=value`; a repeated flag's last value wins, except
 * --fault, --image and --image-command, which add up). Throws UsageError on anything wrong.
 */
export function parseArgs(
  argv: readonly string[],
  randomR: () => number = () => 1 + Math.floor(Math.random() * 254),
): SimOptions {
  const parsed = parseFlagsOrThrow(argv);
  if (parsed.tokens.some((t) => t.kind === "option-terminator"))
    throw new UsageError('unexpected argument "--"');
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  }
  const v = parsed.values;
  const o: SimOptions = {
    nodes: intFlag("nodes", v.nodes, 3, 0, 250 * 254),
    podsPerNode: intFlag("pods-per-node", v["pods-per-node"], 5, 0, 10_000),
    containersPerPod: intFlag("containers-per-pod", v["containers-per-pod"], undefined, 1, 100),
    seed: intFlag("seed", v.seed, 1, 0, 2 ** 32 - 1),
    swap: v.swap === true,
    scenarioFile: v.scenario,
    ipBase: "",
    port: intFlag("port", v.port, 6443, 0, 65535), // 0 = any free port (tests)
    dir: v.dir ?? ".demo",
    faults: new Map(),
    apiserverFaults: "",
    bookmarkIntervalMs: 60_000,
    summaryOnlyNodes: intFlag("summary-only-nodes", v["summary-only-nodes"], 0, 0, 250 * 254),
    dnsOnlySanNodes: intFlag("dns-only-san-nodes", v["dns-only-san-nodes"], 0, 0, 250 * 254),
    readOnlyPort: intFlag("read-only-port", v["read-only-port"], undefined, 1, 65535),
    partialMetadata: v["no-partial-metadata"] !== true,
    bare: v.bare === true,
    hpaReplicas: intFlag("hpa-replicas", v["hpa-replicas"], 0, 0, 100_000),
    images: new Map(),
    imageCommands: new Map(),
    help: v.help === true,
  };
  if (o.scenarioFile === "") throw new UsageError("--scenario needs a file name");
  if (o.dir === "") throw new UsageError("--dir needs a directory");
  if (v["ip-base"] !== undefined) {
    const m = /^127\.(\d{1,3})$/.exec(v["ip-base"]);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 254) {
      throw new UsageError(`invalid --ip-base ${JSON.stringify(v["ip-base"])}: want 127.R with R in 1..254`);
    }
    o.ipBase = `127.${Number(m[1])}`;
  }
  for (const value of v.fault ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(value);
    if (!m) throw new UsageError(`invalid --fault ${JSON.stringify(value)}: want NODE=SPEC (see --help)`);
    o.faults.set(m[1], parseFaultSpec(m[2]));
  }
  const apiserverFaults = [...(v["apiserver-fault"] ?? [])];
  if (v["apiserver-down-for"] !== undefined) {
    const ms = parseDuration(v["apiserver-down-for"]);
    if (ms <= 0) throw new UsageError("--apiserver-down-for must be positive");
    apiserverFaults.push(`down:${ms}ms`);
  }
  o.apiserverFaults = apiserverFaults.join(",");
  try {
    parseApiFaultSpec(o.apiserverFaults);
  } catch (err) {
    throw new UsageError(`invalid --apiserver-fault: ${(err as Error).message}`);
  }
  for (const value of v.image ?? []) {
    const m = /^([^=\s]+)=(.+)$/.exec(value);
    if (!m) throw new UsageError(`invalid --image ${JSON.stringify(value)}: want REF=ARCHIVE`);
    if (!existsSync(m[2])) throw new UsageError(`--image ${m[1]}: no such file ${JSON.stringify(m[2])}`);
    o.images.set(m[1], resolve(m[2]));
  }
  for (const value of v["image-command"] ?? []) {
    const m = /^([^=\s]+)=(.+)$/.exec(value);
    if (!m) throw new UsageError(`invalid --image-command ${JSON.stringify(value)}: want REF=PATH`);
    if (!existsSync(m[2]))
      throw new UsageError(`--image-command ${m[1]}: no such file ${JSON.stringify(m[2])}`);
    o.imageCommands.set(m[1], resolve(m[2]));
  }
  if (v["bookmark-interval"] !== undefined) {
    o.bookmarkIntervalMs = parseDuration(v["bookmark-interval"]);
    if (o.bookmarkIntervalMs <= 0) throw new UsageError("--bookmark-interval must be positive");
  }
  if (o.swap && o.scenarioFile !== undefined) {
    throw new UsageError("--swap applies to generated scenarios; a scenario file sets swap per container");
  }
  if (o.ipBase === "") o.ipBase = `127.${randomR()}`;
  return o;
}
