// `npm run docs:flags`: writes docs/flags.md from the flag declarations (the options' flagReference),
// so the page cannot drift from --help. `--check` writes nothing and exits 1 when the file is stale;
// test/docs.test.ts runs the same comparison.
//
// Which flags upstream has is the one thing the declarations do not know: UPSTREAM_FLAGS below is the
// flag list of upstream's latest release (kubernetes-sigs/metrics-server v0.9.0,
// docs/command-line-flags.txt), names only, plus --help, which its command library adds.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type FlagReference, flagReference } from "../src/cmd/metrics-server/options/index.ts";
import { parseFlags, UsageError } from "./flags.ts";

export const FLAGS_DOC = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "docs", "flags.md");

export const UPSTREAM_RELEASE = "v0.9.0";

const AUDIT_FLAGS = [
  "audit-log-batch-buffer-size",
  "audit-log-batch-max-size",
  "audit-log-batch-max-wait",
  "audit-log-batch-throttle-burst",
  "audit-log-batch-throttle-enable",
  "audit-log-batch-throttle-qps",
  "audit-log-compress",
  "audit-log-format",
  "audit-log-maxage",
  "audit-log-maxbackup",
  "audit-log-maxsize",
  "audit-log-mode",
  "audit-log-path",
  "audit-log-truncate-enabled",
  "audit-log-truncate-max-batch-size",
  "audit-log-truncate-max-event-size",
  "audit-log-version",
  "audit-policy-file",
  "audit-webhook-batch-buffer-size",
  "audit-webhook-batch-max-size",
  "audit-webhook-batch-max-wait",
  "audit-webhook-batch-throttle-burst",
  "audit-webhook-batch-throttle-enable",
  "audit-webhook-batch-throttle-qps",
  "audit-webhook-config-file",
  "audit-webhook-initial-backoff",
  "audit-webhook-mode",
  "audit-webhook-truncate-enabled",
  "audit-webhook-truncate-max-batch-size",
  "audit-webhook-truncate-max-event-size",
  "audit-webhook-version",
];

/** Every flag name upstream's release accepts (see the top of this file). */
export const UPSTREAM_FLAGS: ReadonlySet<string> = new Set([
  ...AUDIT_FLAGS,
  "advertise-address",
  "authentication-kubeconfig",
  "authentication-skip-lookup",
  "authentication-token-webhook-cache-ttl",
  "authentication-tolerate-lookup-failure",
  "authorization-always-allow-paths",
  "authorization-kubeconfig",
  "authorization-webhook-cache-authorized-ttl",
  "authorization-webhook-cache-unauthorized-ttl",
  "bind-address",
  "cert-dir",
  "client-ca-file",
  "contention-profiling",
  "cors-allowed-origins",
  "debug-socket-path",
  "deprecated-kubelet-completely-insecure",
  "disable-http2-serving",
  "emulated-version",
  "emulation-forward-compatible",
  "enable-priority-and-fairness",
  "external-hostname",
  "feature-gates",
  "goaway-chance",
  "help",
  "http2-max-streams-per-connection",
  "kubeconfig",
  "kubelet-certificate-authority",
  "kubelet-client-certificate",
  "kubelet-client-key",
  "kubelet-insecure-tls",
  "kubelet-port",
  "kubelet-preferred-address-types",
  "kubelet-request-timeout",
  "kubelet-use-node-status-port",
  "livez-grace-period",
  "log-flush-frequency",
  "log-json-info-buffer-size",
  "log-json-split-stream",
  "log-text-info-buffer-size",
  "log-text-split-stream",
  "logging-format",
  "max-mutating-requests-inflight",
  "max-requests-inflight",
  "metric-resolution",
  "min-compatibility-version",
  "min-request-timeout",
  "node-selector",
  "permit-address-sharing",
  "permit-port-sharing",
  "profiling",
  "request-timeout",
  "requestheader-allowed-names",
  "requestheader-client-ca-file",
  "requestheader-extra-headers-prefix",
  "requestheader-group-headers",
  "requestheader-uid-headers",
  "requestheader-username-headers",
  "runtime-config",
  "runtime-config-emulation-forward-compatible",
  "secure-port",
  "shutdown-delay-duration",
  "shutdown-send-retry-after",
  "shutdown-watch-termination-grace-period",
  "storage-initialization-timeout",
  "strict-transport-security-directives",
  "tls-cert-file",
  "tls-cipher-suites",
  "tls-curve-preferences",
  "tls-min-version",
  "tls-private-key-file",
  "tls-sni-cert-key",
  "v",
  "version",
  "vmodule",
]);

/** Usage text on one line (the cipher suite lists have line breaks). */
function oneLine(text: string): string {
  return text.replaceAll("\n", " ");
}

function code(text: string): string {
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** One flag: name, then type, default and whether upstream has it, then what it does. */
function entry(f: FlagReference): string {
  const name = (f.shorthand ? `${code(`-${f.shorthand}`)}, ` : "") + code(`--${f.name}`);
  const def =
    f.default === "" ? "" : `, default ${code(f.type === "string" ? JSON.stringify(f.default) : f.default)}`;
  const upstream = UPSTREAM_FLAGS.has(f.name) ? "" : "; **not in upstream**";
  return `- ${name} (${f.type}${def}${upstream}): ${oneLine(f.usage)}`;
}

/** The whole of docs/flags.md. */
export function renderFlagsDoc(flags: readonly FlagReference[] = flagReference()): string {
  const ours = new Set(flags.map((f) => f.name));
  const missing = [...UPSTREAM_FLAGS].filter((n) => !ours.has(n)).sort();
  const missingOther = missing.filter((n) => !n.startsWith("audit-"));
  const lines = [
    "# metrics-server flags",
    "",
    "<!-- Generated by scripts/flags-doc.ts from the flag declarations in src/cmd/metrics-server/options/.",
    "     Do not edit: run `npm run docs:flags`. -->",
    "",
    "Every flag `bin/metrics-server` accepts, in the sections of `--help`: its value type, its default",
    "as `--help` prints it (none shown: the type's zero value, such as `false` or empty), and what it",
    "does. A `strings` value is comma-separated. **Not in upstream** marks the flags that",
    `kubernetes-sigs/metrics-server ${UPSTREAM_RELEASE} does not have; see [migrating.md](migrating.md) for`,
    "what else differs.",
  ];
  let section = "";
  for (const f of flags) {
    if (f.section !== section) {
      section = f.section;
      lines.push("", `## ${section}`, "");
    }
    lines.push(entry(f));
  }
  lines.push(
    "",
    `## Upstream flags not accepted`,
    "",
    `Upstream ${UPSTREAM_RELEASE} accepts these and this server refuses them with \`unknown flag\`, so a`,
    "manifest passing one fails at start-up instead of silently meaning something else. Upstream's own",
    "manifests and chart pass none of them.",
    "",
    `- the audit log and audit webhook flags (${AUDIT_FLAGS.length} flags, \`--audit-*\`): no audit log is written`,
    ...missingOther.map((n) => `- ${code(`--${n}`)}`),
    "",
  );
  return lines.join("\n");
}

const USAGE = `Usage: npm run docs:flags [-- --check]

Writes docs/flags.md from the metrics-server flag declarations.

Options:
  --check      write nothing; exit 1 when docs/flags.md is out of date
  -h, --help   this help
`;

function main(): void {
  let f: { check?: boolean; help?: boolean };
  try {
    f = parseFlags(process.argv.slice(2), {
      check: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`flags-doc: ${err.message}\n\n${USAGE}`);
    process.exit(1);
  }
  if (f.help) {
    process.stdout.write(USAGE);
    return;
  }
  const text = renderFlagsDoc();
  if (f.check) {
    let current = "";
    try {
      current = readFileSync(FLAGS_DOC, "utf8");
    } catch {
      // missing counts as out of date
    }
    if (current !== text) {
      process.stderr.write("flags-doc: docs/flags.md is out of date: run `npm run docs:flags`\n");
      process.exit(1);
    }
    process.stdout.write("docs/flags.md is current\n");
    return;
  }
  writeFileSync(FLAGS_DOC, text);
  process.stdout.write(`wrote ${FLAGS_DOC}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
