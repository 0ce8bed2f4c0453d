// metrics-server's command line: every flag upstream accepts (except the apiserver audit-log family),
// with upstream's names, defaults and validation messages, so upstream manifests run unchanged.
// Flags this server does not act on yet are still parsed and documented, never rejected. Each group of
// flags is declared once, in its own file; the Options type, the defaults and the parsed values all
// come from those declarations.
import { type Flag, FlagSet } from "../../../go/index.ts";
import { readVersion } from "../version.ts";
import { type AuthenticationOptions, authenticationFlags } from "./authentication.ts";
import { type AuthorizationOptions, authorizationFlags } from "./authorization.ts";
import { type FeatureOptions, featureFlags } from "./features.ts";
import { type GenericServerOptions, genericServerFlags, validateGenericServer } from "./generic-server.ts";
import { commandFlags } from "./global.ts";
import type { FlagGroup } from "./group.ts";
import { type KubeletClientOptions, kubeletClientFlags, validateKubeletClient } from "./kubelet-client.ts";
import { type LoggingOptions, loggingFlags, validateLogging } from "./logging.ts";
import {
  applyShortResolution,
  type MetricsServerOptions,
  metricsServerFlags,
  validateResolution,
  validateResolutionAgainstTimeout,
} from "./metrics-server.ts";
import { type SecureServingOptions, secureServingFlags, validateSecureServing } from "./secure-serving.ts";

/** A configuration error found after parsing; the message matches upstream's where it has one. */
export class OptionsError extends Error {
  override name = "OptionsError";
}

/** The parsed and validated command line. Durations are milliseconds (suffix `Ms`). */
export interface Options
  extends MetricsServerOptions,
    KubeletClientOptions,
    SecureServingOptions,
    AuthenticationOptions,
    AuthorizationOptions,
    FeatureOptions,
    LoggingOptions,
    GenericServerOptions {}

/** The groups in --help's order. */
const GROUPS: readonly FlagGroup[] = [
  metricsServerFlags,
  kubeletClientFlags,
  secureServingFlags,
  authenticationFlags,
  authorizationFlags,
  featureFlags,
  loggingFlags,
  genericServerFlags,
];
const SECTIONS = [...GROUPS.map((g) => Object.values(g)[0]!.section ?? ""), "Global"];

export type ParseResult =
  | { kind: "run"; options: Options; warnings: string[] }
  /** `text` ends with a newline and goes to stdout. */
  | { kind: "help"; text: string }
  /** `text` is the version tag ("v0.1.0") plus a newline, as upstream prints it. */
  | { kind: "version"; text: string };

/** Every flag declared on a new FlagSet; the options' flags by option name. */
function declare(fs: FlagSet): {
  options: Map<string, Flag<unknown>>;
  help: Flag<boolean>;
  version: Flag<boolean>;
} {
  const options = new Map<string, Flag<unknown>>();
  for (const group of GROUPS) {
    for (const [key, spec] of Object.entries(group)) {
      // A list default is copied, so a caller changing its Options cannot change the next parse's.
      const def = Array.isArray(spec.default) ? [...spec.default] : spec.default;
      options.set(key, fs.add({ ...spec, default: def }));
    }
  }
  return { options, help: fs.add(commandFlags.help), version: fs.add(commandFlags.version) };
}

/** The usage text printed for --help. */
export function helpText(): string {
  const fs = new FlagSet();
  declare(fs);
  return "Launch metrics-server\n\nUsage:\n  metrics-server [flags]\n" + fs.sectionUsages(SECTIONS);
}

/** One flag as --help documents it; docs/flags.md is generated from these (scripts/flags-doc.ts). */
export interface FlagReference {
  section: string;
  name: string;
  /** One letter, or "". */
  shorthand: string;
  /** pflag's value type name ("duration", "strings", ...); "bool" for a boolean flag. */
  type: string;
  /** The default as --help prints it, or "" where --help prints none (the type's zero value). */
  default: string;
  usage: string;
}

/** Every visible flag, in --help's sections and order. */
export function flagReference(): FlagReference[] {
  const fs = new FlagSet();
  declare(fs);
  const flags = fs.flags().filter((f) => !f.hidden);
  return SECTIONS.flatMap((section) =>
    flags
      .filter((f) => f.section === section)
      .map((f) => {
        const def = f.type.format(f.default);
        return {
          section,
          name: f.name,
          shorthand: f.shorthand,
          type: f.type.varName || "bool",
          default: f.type.isZero(def) ? "" : def,
          usage: f.usage,
        };
      }),
  );
}

/**
 * Every configuration error, in upstream's order (kubelet client, resolution, serving, logging);
 * parseOptions reports the first, as upstream's start-up does.
 */
export function validateOptions(o: Options): string[] {
  return [
    ...validateResolution(o),
    ...validateKubeletClient(o),
    ...validateResolutionAgainstTimeout(o),
    ...validateSecureServing(o),
    ...validateGenericServer(o),
    ...validateLogging(o),
  ];
}

/**
 * Parses metrics-server's command line (argv without the program name). Order as upstream: flag
 * syntax errors (FlagError), then --help, then --version, then validation (OptionsError, first error).
 */
export function parseOptions(argv: readonly string[]): ParseResult {
  const fs = new FlagSet();
  const flags = declare(fs);
  fs.parse(argv);
  if (flags.help.value) return { kind: "help", text: helpText() };
  if (flags.version.value) return { kind: "version", text: readVersion() + "\n" };

  const options = Object.fromEntries(
    [...flags.options].map(([key, f]) => [key, f.value]),
  ) as unknown as Options;
  const timeoutGiven = flags.options.get("kubeletRequestTimeoutMs")!.changed;
  const warnings = applyShortResolution(options, timeoutGiven);
  const errors = validateOptions(options);
  if (errors.length > 0) throw new OptionsError(errors[0]);
  return { kind: "run", options, warnings };
}
