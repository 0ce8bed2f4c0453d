// pflag's value types: how each kind of flag value is parsed (with Go's strconv, time.ParseDuration,
// encoding/csv and net.ParseIP messages) and printed in --help.
import { isIP } from "node:net";
import { formatGoDuration, parseGoDuration } from "./duration.ts";
import { goQuote } from "./quote.ts";
import { parseGoBool, parseGoInt } from "./strconv.ts";

/** How one kind of flag value is parsed and printed. `parse` throws Error with Go's message. */
export interface FlagType<T> {
  /** Shown after the flag name in usage (pflag's type name); "" for bools. */
  readonly varName: string;
  /**
   * Parses one occurrence. `current` is the value so far and `first` is true for the first explicit
   * occurrence, so list types can replace the default once and append afterwards (as pflag does).
   */
  parse(raw: string, current: T, first: boolean): T;
  /** pflag's DefValue text for the usage line. */
  format(value: T): string;
  /** True when `format(default)` is this type's zero value, which pflag leaves out of usage. */
  isZero(formatted: string): boolean;
  /** Value used when the flag is given without `=value` (pflag's NoOptDefVal); bools use "true". */
  readonly noOptValue?: string;
}

// pflag splits list flags with encoding/csv: commas separate, double quotes protect commas.
function parseCsvLine(raw: string): string[] {
  if (raw === "") return [];
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    const start = i;
    if (raw[i] === '"') {
      i++;
      for (;;) {
        if (i >= raw.length) {
          throw new Error(
            `parse error on line 1, column ${raw.length + 1}: extraneous or missing " in quoted-field`,
          );
        }
        if (raw[i] === '"') {
          if (raw[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += raw[i++];
      }
      if (i < raw.length && raw[i] !== ",") {
        throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
      }
    } else {
      while (i < raw.length && raw[i] !== ",") {
        if (raw[i] === '"') {
          throw new Error(`parse error on line 1, column ${i + 1}: bare " in non-quoted-field`);
        }
        i++;
      }
      field = raw.slice(start, i);
    }
    fields.push(field);
    if (i >= raw.length) return fields;
    i++; // the comma
    if (i === raw.length) {
      fields.push("");
      return fields;
    }
  }
}

export const boolType: FlagType<boolean> = {
  varName: "",
  noOptValue: "true",
  parse: (raw) => parseGoBool(raw),
  format: (v) => String(v),
  isZero: (f) => f === "false",
};

export const stringType: FlagType<string> = {
  varName: "string",
  parse: (raw) => raw,
  format: (v) => v,
  isZero: (f) => f === "",
};

export const intType: FlagType<number> = {
  varName: "int",
  parse: (raw) => parseGoInt(raw, 0, 64),
  format: (v) => String(v),
  isZero: (f) => f === "0",
};

/** Durations are held in milliseconds (fractions allowed). */
export const durationType: FlagType<number> = {
  varName: "duration",
  parse: (raw) => parseGoDuration(raw),
  format: (v) => formatGoDuration(v),
  isZero: (f) => f === "0s",
};

export const stringSliceType: FlagType<string[]> = {
  varName: "strings",
  parse: (raw, current, first) => {
    const items = parseCsvLine(raw);
    return first ? items : [...current, ...items];
  },
  format: (v) => "[" + v.join(",") + "]",
  isZero: (f) => f === "[]",
};

/** An IP address (pflag's `ip`): kept as the trimmed text; Go's net.ParseIP rejects zones. */
export const ipType: FlagType<string> = {
  varName: "ip",
  parse: (raw) => {
    const ip = raw.trim();
    if (isIP(ip) === 0 || ip.includes("%")) throw new Error(`failed to parse IP: ${goQuote(raw)}`);
    return ip;
  },
  format: (v) => (v === "" ? "<nil>" : v),
  isZero: (f) => f === "<nil>",
};
