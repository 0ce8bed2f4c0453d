// Logging flags (component-base's logs options and klog's -v/--vmodule), validated as upstream does.
import { type FlagType, specs as flag, goQuote, parseGoInt, parseQuantity } from "../../../go/index.ts";
import { inSection, type OptionsOf } from "./group.ts";

/** One `--vmodule` entry: files matching `pattern` log at `level`. */
export interface VmoduleEntry {
  pattern: string;
  level: number;
}

// klog's Level: a base-10 int32.
const levelType: FlagType<number> = {
  varName: "Level",
  parse: (raw) => parseGoInt(raw, 10, 32),
  format: (v) => String(v),
  isZero: (f) => f === "0",
};

const VMODULE_SYNTAX = "syntax error: expect comma-separated list of filename=N";

// klog's vmodule: "pattern=N,pattern=N"; each occurrence replaces the previous list.
const vmoduleType: FlagType<VmoduleEntry[]> = {
  varName: "pattern=N,...",
  parse(raw) {
    const entries: VmoduleEntry[] = [];
    for (const item of raw.split(",")) {
      if (item === "") continue; // a trailing comma is harmless
      const parts = item.split("=");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") throw new Error(VMODULE_SYNTAX);
      let level: number;
      try {
        level = parseGoInt(parts[1], 10, 32);
      } catch {
        throw new Error(VMODULE_SYNTAX);
      }
      if (level < 0) throw new Error("negative value for vmodule level");
      entries.push({ pattern: parts[0], level });
    }
    return entries;
  },
  format: (v) => v.map((e) => `${e.pattern}=${e.level}`).join(","),
  isZero: (f) => f === "",
};

// apimachinery's resource.ParseQuantity first splits number and suffix with this pattern (its message
// quotes it), then reads the suffix.
const QUANTITY_SPLIT = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

// A Kubernetes resource.Quantity used as a byte count, rounded up as Quantity.Value does.
const quantityType: FlagType<number> = {
  varName: "quantity",
  parse(raw) {
    const m = QUANTITY_SPLIT.exec(raw);
    if (!m || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(m[1])) {
      throw new Error(`quantities must match the regular expression '${QUANTITY_SPLIT.source}'`);
    }
    try {
      // The number is well-formed by now (a leading "." gets its 0), so what fails is the suffix.
      return parseQuantity(raw.replace(/^([+-]?)\./, "$10."), 0, "ceil");
    } catch {
      throw new Error("unable to parse quantity's suffix");
    }
  },
  format: (v) => String(v),
  isZero: (f) => f === "0",
};

export const loggingFlags = inSection("Logging", {
  logFlushFrequencyMs: flag.duration("log-flush-frequency", 5_000, "Longest time between log flushes"),
  logJsonInfoBufferSizeBytes: flag.of(
    "log-json-info-buffer-size",
    quantityType,
    0,
    "[Alpha] With JSON output split into two streams, buffer info messages up to this size. Zero disables " +
      "buffering. Accepts plain bytes (512), decimal (1k) or binary (2Ki) multiples.",
  ),
  logJsonSplitStream: flag.bool(
    "log-json-split-stream",
    false,
    "[Alpha] In JSON format, send errors to stderr and info messages to stdout instead of one stream.",
  ),
  loggingFormat: flag.string<"text" | "json">("logging-format", "text", 'Log format: "text" or "json".'),
  verbosity: flag.of("v", levelType, 0, "log verbosity level", { shorthand: "v" }),
  vmodule: flag.of(
    "vmodule",
    vmoduleType,
    [],
    "comma-separated pattern=N settings for per-file log verbosity (text format only)",
  ),
});

export type LoggingOptions = OptionsOf<typeof loggingFlags>;

export function validateLogging(o: LoggingOptions): string[] {
  if (o.loggingFormat === "text" || o.loggingFormat === "json") return [];
  return [`format: Invalid value: ${goQuote(o.loggingFormat)}: Unsupported log format`];
}
